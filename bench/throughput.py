"""Throughput on mail of real size against a limit that uses the whole machine (issue 16).

Two mail sizes, each in its own fresh mailbox on a loopback Dovecot:

- realistic: the form, the scan and a 6-minute 720p 30 fps H.264 + AAC video (~48 MB), made by
  ffmpeg at bench time;
- small: the same with a tiny 6-minute video (~120 KB a mail).

Every mail's video has distinct bytes (a trailing MP4 ``free`` box with a counter,
``inputs.distinct_video``), so nothing probed can be reused across mails.

The limit, measured in the same run: raw ``UID FETCH n:m (BODY.PEEK[])`` in batches of 50 over
one imaplib connection, each message written to disk, its video part base64-decoded with
binascii and written, then one bare ``ffprobe -show_format -show_streams`` per video on a thread
pool of one worker per core. dossier-intake: ``intake --config C run --once`` as a whole process
(IMAP on, file outbox), from exec to exit, every reply written.
"""

from __future__ import annotations

import binascii
import imaplib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.inputs import fill_mailbox, make_real_video, make_shared, submission_with_video
from bench.instance import make_instance
from bench.stats import Summary

FETCH_BATCH = 50


@dataclass
class ThroughputResult:
    """Seconds per repeat for ``n`` mails of ``label`` size: dossier-intake and the limit."""

    label: str
    n: int
    mail_bytes: int
    intake_s: Summary
    limit_s: Summary

    @property
    def ratio(self) -> float:
        """dossier-intake throughput / the limit's (1.0: as fast as the limit), from the medians."""
        return self.limit_s.median / self.intake_s.median

    @property
    def pair_ratios(self) -> Summary:
        """The ratio of each repeat (the limit and dossier-intake run back to back): their median
        is less moved by the machine's drift between repeats than the ratio of the two medians."""
        return Summary([lim / ours for lim, ours in zip(self.limit_s.values, self.intake_s.values,
                                                         strict=True)])

    def to_json(self) -> dict:
        return {"label": self.label, "n": self.n, "mail_bytes": self.mail_bytes,
                "intake_s": self.intake_s.to_json(), "limit_s": self.limit_s.to_json(),
                "ratio": self.ratio, "pair_ratios": self.pair_ratios.to_json()}


def _video_part(raw: bytes) -> bytes:
    """The base64 text of the first ``video/*`` part of a MIME message (no parser: a byte search)."""
    at = raw.find(b"Content-Type: video/")
    if at < 0:
        raise ValueError("no video part")
    head_end = raw.find(b"\r\n\r\n", at)
    start = head_end + 4 if head_end >= 0 else raw.find(b"\n\n", at) + 2
    end = raw.find(b"\n--", start)
    return raw[start : end if end >= 0 else len(raw)]


def limit_loop(host: str, port: int, user: str, password: str, scratch: Path) -> int:
    """The limit (module docstring); returns how many videos were probed."""
    ffprobe = shutil.which("ffprobe") or "ffprobe"
    scratch.mkdir(parents=True, exist_ok=True)

    def probe(path: Path) -> None:
        subprocess.run([ffprobe, "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
                       check=True, capture_output=True, stdin=subprocess.DEVNULL)

    client = imaplib.IMAP4(host, port)
    client.login(user, password)
    client.select("INBOX", readonly=True)
    _, data = client.uid("SEARCH", None, "ALL")
    uids = (data[0] or b"").split()
    n = 0
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        futures = []
        for i in range(0, len(uids), FETCH_BATCH):
            _, data = client.uid("FETCH", b",".join(uids[i : i + FETCH_BATCH]).decode(), "(BODY.PEEK[])")
            for item in data:
                if not isinstance(item, tuple):
                    continue
                raw = item[1]
                (scratch / f"m{n}.eml").write_bytes(raw)
                video = scratch / f"v{n}.mp4"
                video.write_bytes(binascii.a2b_base64(_video_part(raw)))
                futures.append(pool.submit(probe, video))
                n += 1
        for f in futures:
            f.result()
    client.logout()
    shutil.rmtree(scratch, ignore_errors=True)
    return n


def intake_process(root: Path, imap: tuple[str, int, str, str]) -> float:
    """``intake --config C run --once`` as a whole process from an empty store; seconds."""
    inst = make_instance(root, imap=imap)
    intake = Path(sys.executable).with_name("intake")
    t0 = time.perf_counter()
    subprocess.run([str(intake), "--config", str(inst.config), "run", "--once"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    return seconds


def measure(dovecot, label: str, n: int, repeats: int, tmp: Path, *, video: Path) -> ThroughputResult:  # noqa: ANN001
    """Fill a fresh mailbox with ``n`` mails attaching (distinct copies of) ``video``; time both."""
    user, password = dovecot.new_user()
    shared = make_shared(tmp / f"shared-{label}")
    raws = [submission_with_video(i, shared, video, tmp / f"gen-{label}") for i in range(n)]
    fill_mailbox(dovecot.host, dovecot.port, user, password, raws)
    imap = (dovecot.host, dovecot.port, user, password)
    limit, ours = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        probed = limit_loop(*imap, tmp / "limit")
        limit.append(time.perf_counter() - t0)
        if probed != n:
            raise RuntimeError(f"the limit probed {probed} videos, expected {n}")
        root = Path(tempfile.mkdtemp(prefix=f"tp-{label}-", dir=tmp))
        ours.append(intake_process(root, imap))
        replies = len(list((root / "outbox").glob("*.eml")))
        if replies != n:
            raise RuntimeError(f"dossier-intake wrote {replies} replies, expected {n}")
        shutil.rmtree(root, ignore_errors=True)
    return ThroughputResult(label, n, sum(map(len, raws)) // max(1, n), Summary(ours), Summary(limit))


def run(dovecot, tmp: Path, *, big_n: int = 10, small_n: int = 300, repeats: int = 2) -> list[ThroughputResult]:  # noqa: ANN001
    """Both sizes: ``big_n`` realistic mails, ``small_n`` small ones (a size with 0 is skipped)."""
    out = []
    if big_n:
        big = make_real_video(tmp / "real" / "项目视频.mp4", 360.0)
        out.append(measure(dovecot, "realistic", big_n, repeats, tmp, video=big))
    if small_n:
        tiny = make_shared(tmp / "tiny").video
        out.append(measure(dovecot, "small", small_n, repeats, tmp, video=tiny))
    return out


def main() -> None:
    import argparse

    from tests.servers.dovecot import start_dovecot

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=10)
    parser.add_argument("--small", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tp-") as tmp:
        server = start_dovecot()
        try:
            results = run(server, Path(tmp), big_n=args.big, small_n=args.small, repeats=args.repeats)
        finally:
            server.stop()
    print("| mails | size each | limit s (min–max) | dossier-intake s (min–max) | ratio | ratio per pair (min–max) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        pr = r.pair_ratios
        print(f"| {r.n} × {r.label} | {r.mail_bytes / 1e6:.2f} MB | {r.limit_s.median:.1f} "
              f"({r.limit_s.low:.1f}–{r.limit_s.high:.1f}) | {r.intake_s.median:.1f} "
              f"({r.intake_s.low:.1f}–{r.intake_s.high:.1f}) | **{r.ratio:.2f}** | "
              f"{pr.median:.2f} ({pr.low:.2f}–{pr.high:.2f}) |")


if __name__ == "__main__":  # python -m bench.throughput [--big N --small N --repeats N]
    main()
