"""Measurement 3: peak resident memory of ``intake run --once`` (``/usr/bin/time -v``).

Two jobs: one big mail over IMAP (a submission whose only attachment is a video of
``video_bytes``), and one big video dropped into the drop folder (streamed to the archive, hashed
while copying, probed from disk). Targets (issue 8): mail ≤ 2 × message size + 100 MB; drop
folder < 150 MB. The floor: the same command on an empty instance (interpreter + imports).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.inputs import fill_mailbox, make_big_video, make_sized_video, video_mail
from bench.instance import make_instance
from bench.latency import intake_command
from bench.stats import Summary

MB = 1024 * 1024
TIME = "/usr/bin/time"
_MAXRSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


@dataclass
class RunCost:
    """One ``intake run --once``: peak RSS in bytes and wall seconds."""

    peak_rss: int
    seconds: float


@dataclass
class MemoryResult:
    """Peak RSS (bytes) over repeats for one job on an input of ``input_bytes``."""

    job: str
    input_bytes: int
    peak: Summary
    seconds: Summary
    target_bytes: int
    floor_bytes: int
    limit_s: float | None = None  # the bare work on the same bytes (drop folder: hash + copy + probe)

    @property
    def ratio(self) -> float:
        """Peak RSS / target (≤ 1.0 meets the target)."""
        return self.peak.median / self.target_bytes

    def to_json(self) -> dict:
        return {
            "job": self.job, "input_bytes": self.input_bytes, "peak_rss": self.peak.to_json(),
            "seconds": self.seconds.to_json(), "target_bytes": self.target_bytes,
            "floor_bytes": self.floor_bytes, "ratio_to_target": self.ratio, "limit_s": self.limit_s,
        }  # fmt: skip


def run_once_measured(config: Path, cwd: Path) -> RunCost:
    """``/usr/bin/time -v intake --config CONFIG run --once``; raises when it fails.

    The peak is the larger of /usr/bin/time's maximum RSS (the largest single process) and the
    PSS summed over every process of the run's session (daemon, fork server, parse workers,
    ffprobe), sampled every 0.05 s: parsing happens in worker processes (issue 15)."""
    from bench.hostile import session_rss

    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [TIME, "-v", *intake_command(), "--config", str(config), "run", "--once"],
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    summed = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            summed[0] = max(summed[0], session_rss(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err_bytes = proc.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - t0
    err = err_bytes.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise RuntimeError(f"intake run --once failed ({proc.returncode}): {err[-2000:]}")
    m = _MAXRSS.search(err)
    if m is None:
        raise RuntimeError(f"/usr/bin/time printed no maximum RSS: {err[-500:]}")
    return RunCost(max(int(m.group(1)) * 1024, summed[0]), seconds)


def floor(tmp: Path) -> int:
    """Peak RSS (bytes) of ``intake run --once`` with nothing to do."""
    inst = make_instance(tmp / "floor")
    return run_once_measured(inst.config, inst.root).peak_rss


def _versions(root: Path) -> int:
    """Dossier versions the run committed (a dropped file has no sender to reply to)."""
    import sqlite3

    with sqlite3.connect(root / "store" / "intake.sqlite3") as conn:
        return conn.execute("SELECT count(*) FROM versions").fetchone()[0]


def big_mail(dovecot, video_bytes: int, repeats: int, tmp: Path, floor_bytes: int) -> MemoryResult:
    """One mail with one ``video_bytes`` video, fetched over IMAP and processed."""
    video = make_sized_video(tmp / f"mail-video-{video_bytes}.mp4", video_bytes)
    raw = video_mail(video)
    video.unlink()
    user, password = dovecot.new_user()
    fill_mailbox(dovecot.host, dovecot.port, user, password, [raw])
    peaks, secs = [], []
    for r in range(repeats):
        inst = make_instance(tmp / f"mail-{video_bytes}-{r}",
                             imap=(dovecot.host, dovecot.port, user, password))  # fmt: skip
        cost = run_once_measured(inst.config, inst.root)
        if _versions(inst.root) != 1:
            raise RuntimeError("the big mail made no dossier")
        peaks.append(cost.peak_rss)
        secs.append(cost.seconds)
        shutil.rmtree(inst.root, ignore_errors=True)
    return MemoryResult("IMAP mail", len(raw), Summary(peaks), Summary(secs),
                        2 * len(raw) + 100 * MB, floor_bytes)  # fmt: skip


def _bare_drop_work(video: Path, scratch: Path) -> float:
    """Seconds to hash the file while copying it once (1 MiB steps) and ffprobe it once."""
    t0 = time.perf_counter()
    digest = hashlib.sha256()
    scratch.parent.mkdir(parents=True, exist_ok=True)
    with video.open("rb") as src, scratch.open("wb") as dst:
        while chunk := src.read(MB):
            digest.update(chunk)
            dst.write(chunk)
    subprocess.run([shutil.which("ffprobe") or "ffprobe", "-v", "error", "-show_format",
                    "-show_streams", "-of", "json", str(video)], check=True, capture_output=True)  # fmt: skip
    seconds = time.perf_counter() - t0
    scratch.unlink()
    return seconds


def big_drop(video_bytes: int, repeats: int, tmp: Path, floor_bytes: int) -> MemoryResult:
    """One ``video_bytes`` video in the drop folder, taken and processed."""
    video = make_big_video(tmp / f"drop-{video_bytes}" / "项目视频.mp4", video_bytes)
    size = video.stat().st_size
    limit_s = _bare_drop_work(video, tmp / "bare-copy" / "v.mp4")
    peaks, secs = [], []
    for r in range(repeats):
        inst = make_instance(tmp / f"drop-{video_bytes}-{r}")
        dest = inst.dropbox / video.name
        shutil.copyfile(video, dest) if r + 1 < repeats else shutil.move(video, dest)
        cost = run_once_measured(inst.config, inst.root)
        if _versions(inst.root) != 1:
            raise RuntimeError("the dropped video made no dossier")
        peaks.append(cost.peak_rss)
        secs.append(cost.seconds)
        shutil.rmtree(inst.root, ignore_errors=True)
    return MemoryResult("drop-folder video", size, Summary(peaks), Summary(secs),
                        150 * MB, floor_bytes, limit_s)  # fmt: skip
