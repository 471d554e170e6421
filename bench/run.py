"""Run the benchmarks: ``bench/run.py --quick`` (< 2 minutes) or ``--full`` (writes BENCHMARKS.md).

Inputs are generated under a temp folder and removed afterwards (``--keep`` keeps them). Each
measurement is one module: ``ingest`` (1), ``latency`` (2), ``memory`` (3), ``scale`` (4);
cost growth (5) compares ``ingest`` and the drop-folder ``memory`` job at two sizes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import hostile, ingest, latency, machine, memory, report, scale, throughput  # noqa: E402

MB = 1024 * 1024


@dataclass
class Sizes:
    """What one mode measures (counts, bytes, repeats)."""

    mode: str
    ingest_n: list[int] = field(default_factory=lambda: [125, 500])
    ingest_repeats: int = 3
    latency_n: int = 50
    mail_video_bytes: int = 45 * MB
    drop_bytes: list[int] = field(default_factory=lambda: [512 * MB, 2048 * MB])
    memory_repeats: int = 3
    scale_n: int = 3000
    scale_repeats: int = 3
    packet: bool = True
    hostile_n: int = 100  # normal dossiers of the hostile mix (issue 15); 0 skips it
    hostile_full: bool = True  # the hostile files at the sizes
    hostile_interval_s: float = 3.0  # seconds between two appended mails (above the time one takes)
    throughput_big: int = 10  # realistic mails (~65 MB: a 6-minute 720p video) of issue 16
    throughput_small: int = 300  # small mails (~0.4 MB) of issue 16
    # paired runs (the limit, then dossier-intake) whose medians give the ratio: this machine's
    # wall times move ±10 % from minute to minute, and a median of 2 is their mean
    throughput_repeats: int = 5


# The N = 500 and a quarter of it (growth N → 4N); per-input judging is linear in the
# store since evaluate(targets=) (notes.md), so 500 takes about 1.5 minutes a repeat.
FULL = Sizes("full", ingest_n=[125, 500], ingest_repeats=2, memory_repeats=2, scale_repeats=2)
QUICK = Sizes("quick", ingest_n=[6, 24], ingest_repeats=2, latency_n=8, mail_video_bytes=45 * MB,
              drop_bytes=[50 * MB, 200 * MB], memory_repeats=1, scale_n=300, scale_repeats=2,
              hostile_n=12, hostile_full=False, throughput_big=2, throughput_small=40,
              throughput_repeats=1)  # fmt: skip
SMOKE = Sizes("smoke", ingest_n=[1, 2], ingest_repeats=1, latency_n=1, mail_video_bytes=1 * MB,
              drop_bytes=[2 * MB, 4 * MB], memory_repeats=1, scale_n=4, scale_repeats=1,
              hostile_n=0, throughput_big=0, throughput_small=2, throughput_repeats=1)  # fmt: skip

STEPS = ("throughput", "ingest", "latency", "memory", "scale", "hostile")


def run_suite(sizes: Sizes, tmp: Path, *, only: tuple[str, ...] = STEPS, profile: Path | None = None,
              log=print) -> dict:  # fmt: skip
    """Run the chosen measurements; returns the results dict ``report.render`` takes.

    ``profile``: write a pyinstrument profile of the largest ingest run there.
    Needs Dovecot for ``ingest``, ``latency`` and the mail job of ``memory``.
    """
    from tests.servers.dovecot import start_dovecot

    started = time.perf_counter()
    results: dict = {"mode": sizes.mode, "started": datetime.now(UTC).isoformat(timespec="seconds"),
                     "machine": machine.describe(), "growth": []}  # fmt: skip
    needs_imap = bool({"throughput", "ingest", "latency", "memory", "hostile"} & set(only))
    server = start_dovecot() if needs_imap else None
    try:
        if "throughput" in only and (sizes.throughput_big or sizes.throughput_small):
            log(f"throughput: {sizes.throughput_big} realistic, {sizes.throughput_small} small mails")
            tp = throughput.run(server, tmp / "throughput", big_n=sizes.throughput_big,
                                small_n=sizes.throughput_small, repeats=sizes.throughput_repeats)  # fmt: skip
            for r in tp:
                log(f"  {r.label}: ratio {r.ratio:.2f} ({r.intake_s.median:.1f} s vs {r.limit_s.median:.1f} s)")
            results["throughput"] = [r.to_json() for r in tp]
        if "ingest" in only:
            results["ingest"] = []
            for n in sizes.ingest_n:
                log(f"ingest: {n} submissions × {sizes.ingest_repeats}")
                prof = profile if profile is not None and n == max(sizes.ingest_n) else None
                r = ingest.measure(server, n, sizes.ingest_repeats, tmp / "ingest", profile=prof)
                log(f"  ratio {r.ratio:.2f} ({r.intake_s.median:.2f} s vs {r.limit_s.median:.2f} s)")
                results["ingest"].append(r.to_json())
            a, b = results["ingest"][0], results["ingest"][-1]
            if b["n"] > a["n"]:
                results["growth"].append(report.growth_row(
                    "1. ingest, dossier-intake", a["n"], a["intake_s"]["median"], b["n"],
                    b["intake_s"]["median"], "mails"))  # fmt: skip
                results["growth"].append(report.growth_row(
                    "1. ingest, the limit", a["n"], a["limit_s"]["median"], b["n"],
                    b["limit_s"]["median"], "mails"))  # fmt: skip
        if "latency" in only:
            log(f"latency: {sizes.latency_n} messages")
            lat = latency.measure(server, sizes.latency_n, tmp / "latency")
            log(f"  p50 {lat.p50:.2f} s, p95 {lat.p95:.2f} s")
            results["latency"] = lat.to_json()
        if "memory" in only:
            floor = memory.floor(tmp / "memory")
            results["memory"] = []
            log(f"memory: mail with a {sizes.mail_video_bytes // MB} MB video")
            m = memory.big_mail(server, sizes.mail_video_bytes, sizes.memory_repeats,
                                tmp / "memory", floor)  # fmt: skip
            log(f"  peak {m.peak.median / MB:.0f} MB (target {m.target_bytes / MB:.0f} MB)")
            results["memory"].append(m.to_json())
            drops = []
            for size in sizes.drop_bytes:
                log(f"memory: drop-folder video of {size // MB} MB")
                d = memory.big_drop(size, sizes.memory_repeats, tmp / "memory", floor)
                log(f"  peak {d.peak.median / MB:.0f} MB in {d.seconds.median:.1f} s")
                results["memory"].append(d.to_json())
                drops.append(d)
            if len(drops) > 1:
                a, b = drops[0], drops[-1]
                results["growth"].append(report.growth_row(
                    "3. drop-folder video, wall time", a.input_bytes / MB, a.seconds.median,
                    b.input_bytes / MB, b.seconds.median, "MB"))  # fmt: skip
                row = report.growth_row("3. drop-folder video, peak RSS", a.input_bytes / MB,
                                        a.peak.median / MB, b.input_bytes / MB, b.peak.median / MB,
                                        "MB")  # fmt: skip
                row["small"] = f"{a.input_bytes / MB:.0f} MB: {a.peak.median / MB:.0f} MB RSS"
                row["large"] = f"{b.input_bytes / MB:.0f} MB: {b.peak.median / MB:.0f} MB RSS"
                results["growth"].append(row)
        if "scale" in only:
            log(f"scale: {sizes.scale_n} dossiers")
            s = scale.measure(sizes.scale_n, sizes.scale_repeats, tmp / "scale", packet=sizes.packet)
            log("  " + ", ".join(f"{k} {v.median:.2f} s" for k, v in s.steps.items()))
            results["scale"] = [s.to_json()]
        if "hostile" in only and sizes.hostile_n:
            results["hostile"] = []
            for bad in (False, True):
                log(f"hostile mix: {sizes.hostile_n} dossiers, hostile files: {bad}")
                r = hostile.measure(server, sizes.hostile_n, tmp / "hostile", hostile=bad,
                                    interval_s=sizes.hostile_interval_s, full=sizes.hostile_full)  # fmt: skip
                j = r.to_json()
                log(f"  p50 {j['p50_s']:.2f} s, p95 {j['p95_s']:.2f} s, peak RSS {j['peak_rss'] / MB:.0f} MB")
                results["hostile"].append(j)
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(server.dir, ignore_errors=True)
    results["took_s"] = time.perf_counter() - started
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--render", type=Path, metavar="JSON",
                      help="only re-render the Markdown from a --json file (and bench/notes.md)")
    mode.add_argument("--quick", action="store_true", help="reduced sizes, < 2 minutes")
    mode.add_argument("--full", action="store_true", help="the issue's sizes; writes BENCHMARKS.md")
    parser.add_argument("--only", default=",".join(STEPS), help="comma-separated: " + ",".join(STEPS))
    parser.add_argument("--out", type=Path, help="Markdown to write (--full: BENCHMARKS.md)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--profile", type=Path, help="pyinstrument profile of the largest ingest")
    parser.add_argument("--keep", action="store_true", help="keep the generated inputs")
    args = parser.parse_args(argv)
    notes_file = Path(__file__).with_name("notes.md")
    notes = notes_file.read_text(encoding="utf-8") if notes_file.exists() else ""
    if args.render:
        results = json.loads(args.render.read_text(encoding="utf-8"))
        out = args.out or ROOT / "BENCHMARKS.md"
        out.write_text(report.render(results, notes), encoding="utf-8")
        print(f"wrote {out}")
        return 0
    sizes = FULL if args.full else QUICK
    only = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = set(only) - set(STEPS)
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    tmp = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    try:
        results = run_suite(sizes, tmp, only=only, profile=args.profile)
    finally:
        if args.keep:
            print(f"inputs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    page = report.render(results, notes)
    out = args.out or (ROOT / "BENCHMARKS.md" if args.full else None)
    if out is not None:
        out.write_text(page, encoding="utf-8")
        print(f"wrote {out}")
    else:
        print(page)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
