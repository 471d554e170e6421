"""Measurement 6 (issue 15): a hostile mix over IMAP, against the same run without it.

``n`` normal submissions (bench/inputs.py) are appended to a loopback Dovecot at a steady pace
while the daemon (``intake run``, IDLE, receipts through aiosmtpd) answers them; in the hostile
run the issue's five files are interleaved (tests/hostile_files.py, at the issue's sizes):

1. a scan PDF of 400 pages sharing one text-heavy content stream (pypdf: minutes);
2. a 申报书.docx of one 2,000 × 30 table (python-docx: quadratic, minutes);
3. 50 MB of 8-byte ADTS frames named 项目视频.mp4;
4. a zip of 100 distinct members of 4 MB, each ~146:1 (400 MB from ~3 MB);
5. a mail with a 40 MB Subject.

Reported: each normal dossier's latency (APPEND done → its receipt accepted by SMTP), p50/p95,
against the clean run (target p95 ≤ 2 × clean); the peak of the summed RSS of every process of
the daemon's session (daemon, fork server, parse workers, ffprobe, LibreOffice), as PSS so
pages the forked workers share count once, sampled every 0.1 s (target < 1 GB); and how long each hostile mail took to be answered.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from imap_tools import MailBoxUnencrypted

from bench.inputs import make_shared, submission
from bench.instance import make_instance
from bench.latency import _Receipts, intake_command
from bench.stats import percentile
from tests.factories import FormData, make_form_docx, make_scan_pdf, make_submission_eml, make_video
from tests.hostile_files import (
    amplifying_zip,
    fake_adts_video,
    heavy_pdf,
    huge_subject_mail,
    slow_docx,
)
from tests.servers.smtp import SmtpTestServer

MB = 1024 * 1024


@dataclass
class MixResult:
    hostile: bool
    n: int
    interval_s: float
    latencies: list[float] = field(default_factory=list)  # normal dossiers, seconds
    peak_rss: int = 0  # bytes, summed over the daemon's session
    hostile_s: dict[str, float | None] = field(default_factory=dict)  # name -> seconds to its reply
    took_s: float = 0.0

    def to_json(self) -> dict:
        return {
            "hostile": self.hostile, "n": self.n, "interval_s": self.interval_s,
            "p50_s": percentile(self.latencies, 50), "p95_s": percentile(self.latencies, 95),
            "max_s": max(self.latencies), "peak_rss": self.peak_rss, "hostile_s": self.hostile_s,
            "took_s": self.took_s,
        }  # fmt: skip


def hostile_mails(folder: Path, *, full: bool = True) -> list[tuple[str, str, bytes]]:
    """(label, Message-ID, raw) of the five hostile mails; ``full``: the issue's sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    scan = make_scan_pdf(folder / "scan" / "全套扫描件.pdf", 3)
    video = make_video(folder / "video" / "项目视频.mp4", 360.0)

    def form(i: int) -> Path:
        return make_form_docx(folder / f"form{i}" / "申报书.docx", FormData(
            project_name=f"恶意样本项目{i}", applicant=f"恶意样本{i}有限公司", email=f"hostile{i}@example.com"))

    def mail(i: int, files: list[Path]) -> tuple[str, bytes]:
        mid = f"<hostile-{i}@example.com>"
        return mid, make_submission_eml(files, sender=f"hostile{i}@example.com", message_id=mid,
                                        subject=f"申报材料-恶意样本{i}")

    out = []
    pdf = heavy_pdf(folder / "pdf" / "全套扫描件.pdf", pages=400 if full else 40)
    out.append((f"pdf: {400 if full else 40} pages, one heavy stream", *mail(1, [form(1), pdf, video])))
    docx = slow_docx(folder / "docx" / "申报书.docx", rows=2000 if full else 400, cols=30)
    out.append((f"docx: {2000 if full else 400} × 30 table", *mail(2, [docx, scan, video])))
    adts = fake_adts_video(folder / "adts" / "项目视频.mp4", frames=6_250_000 if full else 625_000)
    out.append((f"video: {50 if full else 5} MB of ADTS frames", *mail(3, [form(3), scan, adts])))
    zipped = amplifying_zip(folder / "zip" / "申报材料.zip", members=100 if full else 10, member_bytes=4 * MB)
    out.append((f"zip: {100 if full else 10} × 4 MB at ~146:1", *mail(4, [zipped])))
    huge = huge_subject_mail(folder / "subject.eml", subject_bytes=(40 if full else 4) * MB, attachment=form(5))
    out.append((f"subject: {40 if full else 4} MB", "<huge-subject@example.com>", huge.read_bytes()))
    return out


def session_rss(sid: int) -> int:
    """Summed proportional resident bytes (PSS: a page shared by k processes counts 1/k in each,
    so the forked workers' shared libraries are not counted once per worker) of every process
    in session ``sid``."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[3]) != sid:  # field 6 of stat: the session id
                continue
            with open(f"/proc/{entry}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError, IndexError):
            continue
    return total


def measure(dovecot, n: int, tmp: Path, *, hostile: bool, interval_s: float = 1.0, full: bool = True,
            wait_s: float = 900.0) -> MixResult:  # fmt: skip
    """One run: ``n`` normal mails every ``interval_s`` seconds (+ the five hostile ones)."""
    started = time.monotonic()
    result = MixResult(hostile, n, interval_s)
    receipts = _Receipts()
    smtp = SmtpTestServer(on_message=lambda c: receipts.on_message(c)).start()
    user, password = dovecot.new_user()
    root = tmp / ("hostile" if hostile else "clean")
    inst = make_instance(root, imap=(dovecot.host, dovecot.port, user, password), smtp=("127.0.0.1", smtp.port))
    gen = tmp / "gen-hostile"
    shared = make_shared(gen / "shared")
    normal = [(f"<bench-{70000 + i}@example.com>", submission(70000 + i, shared, gen)) for i in range(n + 1)]
    bad = hostile_mails(gen / "hostile", full=full) if hostile else []
    at = {k * (n // (len(bad) + 1)) for k in range(1, len(bad) + 1)} if bad else set()
    log = (root / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [*intake_command(), "--config", str(inst.config), "run"],
        cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            result.peak_rss = max(result.peak_rss, session_rss(daemon.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    appended: dict[str, float] = {}
    try:
        with MailBoxUnencrypted(dovecot.host, dovecot.port, timeout=120).login(user, password, "INBOX") as mb:
            warm_id, warm_raw = normal[0]
            mb.append(warm_raw, "INBOX")
            receipts.wait(warm_id, 120)  # the daemon is up and idling
            queue = list(normal[1:])
            hostile_left = list(bad)
            for i, (mid, raw) in enumerate(queue):
                if i in at and hostile_left:
                    _label, hmid, hraw = hostile_left.pop(0)
                    mb.append(hraw, "INBOX")
                    appended[hmid] = time.monotonic()
                mb.append(raw, "INBOX")
                appended[mid] = time.monotonic()
                time.sleep(interval_s)
        for mid, _raw in normal[1:]:
            result.latencies.append(receipts.wait(mid, wait_s) - appended[mid])
        for label, hmid, _raw in bad:
            try:
                result.hostile_s[label] = receipts.wait(hmid, 300) - appended[hmid]
            except TimeoutError:
                result.hostile_s[label] = None
    finally:
        done.set()
        sampler.join()
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        log.close()
        smtp.stop()
    result.took_s = time.monotonic() - started
    return result


