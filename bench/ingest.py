"""Measurement 1 (and 5): ingest throughput over IMAP against the bare fetch-and-probe loop.

The limit: one loop, in the same run, that fetches the same messages with imap-tools and runs one
bare ``ffprobe`` per video (what any intake must at least do). dossier-intake: from
``Intake(settings)`` + ``run_once()`` start (IMAP enabled, file outbox) to every reply queued and
written (further delivery passes drain what one pass leaves queued). Both read the same mailbox
on the same loopback Dovecot; each repeat of dossier-intake starts from an empty store (the
ledger is empty, so every message is taken again).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from imap_tools import MailBoxUnencrypted

from bench.inputs import fill_mailbox, submissions
from bench.instance import make_instance
from bench.stats import Summary


@dataclass
class IngestResult:
    """Seconds per repeat for ``n`` submissions: dossier-intake and the limit; replies written."""

    n: int
    intake_s: Summary
    limit_s: Summary
    replies: int

    @property
    def ratio(self) -> float:
        """dossier-intake throughput / the limit's throughput (1.0: as fast as the bare loop)."""
        return self.limit_s.median / self.intake_s.median

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "intake_s": self.intake_s.to_json(),
            "limit_s": self.limit_s.to_json(),
            "intake_per_s": self.n / self.intake_s.median,
            "limit_per_s": self.n / self.limit_s.median,
            "ratio": self.ratio,
            "replies": self.replies,
        }


def bare_loop(host: str, port: int, user: str, password: str, scratch: Path) -> int:
    """Fetch every INBOX message (no \\Seen) and ffprobe each video once; returns videos probed."""
    ffprobe = shutil.which("ffprobe") or "ffprobe"
    scratch.mkdir(parents=True, exist_ok=True)
    probed = 0
    with MailBoxUnencrypted(host, port, timeout=60).login(user, password, "INBOX") as mb:
        for msg in mb.fetch(mark_seen=False, bulk=False):
            for att in msg.attachments:
                if not att.content_type.startswith("video/"):
                    continue
                path = scratch / f"v{probed}.mp4"
                path.write_bytes(att.payload)
                subprocess.run(
                    [ffprobe, "-v", "error", "-show_format", "-show_streams", "-of", "json",
                     str(path)],
                    check=True, capture_output=True, stdin=subprocess.DEVNULL,
                )  # fmt: skip
                path.unlink()
                probed += 1
    return probed


def intake_once(root: Path, imap: tuple[str, int, str, str], *, profile: Path | None = None) -> tuple[float, int]:
    """One ``run_once`` over the mailbox from an empty store: (seconds, replies written)."""
    from bot.daemon import Intake

    inst = make_instance(root, imap=imap)
    settings = inst.settings()
    profiler = None
    if profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    t0 = time.perf_counter()
    intake = Intake(settings)
    try:
        report = intake.run_once()
        # run_once delivers at most one pass of the sender (100 replies, outbox/delivery/sender.py);
        # the rest is queued: drain it, so the time covers every reply written.
        while intake.deliver()[0]:
            pass
    finally:
        intake.close()
    seconds = time.perf_counter() - t0
    if profiler is not None:
        profiler.stop()
        profile.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    replies = len(list(inst.outbox.glob("*.eml")))
    if report.failed or any(o.error for o in report.outcomes):
        raise RuntimeError(f"ingest run failed: {report.failed or [o.error for o in report.outcomes]}")
    return seconds, replies


def measure(dovecot, n: int, repeats: int, tmp: Path, *, profile: Path | None = None) -> IngestResult:
    """Fill a fresh mailbox with ``n`` submissions; time the limit and dossier-intake ``repeats`` times."""
    user, password = dovecot.new_user()
    fill_mailbox(dovecot.host, dovecot.port, user, password, submissions(n, tmp / f"gen-{n}"))
    imap = (dovecot.host, dovecot.port, user, password)
    limit, ours, replies = [], [], 0
    if profile is not None:  # an extra run under the profiler, not counted (it slows Python down)
        root = Path(tempfile.mkdtemp(prefix=f"ingest-{n}-profile-", dir=tmp))
        intake_once(root, imap, profile=profile)
        shutil.rmtree(root, ignore_errors=True)
    for _ in range(repeats):
        t0 = time.perf_counter()
        probed = bare_loop(dovecot.host, dovecot.port, user, password, tmp / "bare")
        limit.append(time.perf_counter() - t0)
        if probed != n:
            raise RuntimeError(f"the bare loop probed {probed} videos, expected {n}")
        root = Path(tempfile.mkdtemp(prefix=f"ingest-{n}-", dir=tmp))
        seconds, replies = intake_once(root, imap)
        ours.append(seconds)
        if replies != n:
            raise RuntimeError(f"dossier-intake wrote {replies} replies, expected {n}")
        shutil.rmtree(root, ignore_errors=True)
    return IngestResult(n, Summary(ours), Summary(limit), replies)
