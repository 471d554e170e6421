"""Measurement 2: latency with IDLE, message appended → receipt handed to the SMTP server.

The daemon runs as a subprocess (``intake --config … run``) watching a loopback Dovecot by IDLE
and replying through a loopback aiosmtpd server (``tests/servers/smtp.py``). Messages are
appended one by one; each waits for its receipt (matched by In-Reply-To) before the next.
A first, uncounted message proves the daemon is up and idling.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from imap_tools import MailBoxUnencrypted

from bench.inputs import submissions
from bench.instance import make_instance
from bench.stats import Summary, percentile
from tests.servers.smtp import Captured, SmtpTestServer

_IN_REPLY_TO = re.compile(rb"^In-Reply-To:\s*(<[^>]+>)", re.I | re.M)


@dataclass
class LatencyResult:
    """Seconds from APPEND done to the receipt accepted by the SMTP server, per message."""

    seconds: list[float]

    @property
    def p50(self) -> float:
        return percentile(self.seconds, 50)

    @property
    def p95(self) -> float:
        return percentile(self.seconds, 95)

    def to_json(self) -> dict:
        return {"n": len(self.seconds), "p50_s": self.p50, "p95_s": self.p95,
                "all": Summary(self.seconds).to_json()}  # fmt: skip


class _Receipts:
    """Arrival times (monotonic seconds) of replies by the Message-ID they answer."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.cond = threading.Condition()

    def on_message(self, captured: Captured) -> None:
        head = captured.data.split(b"\r\n\r\n", 1)[0]
        m = _IN_REPLY_TO.search(head)
        with self.cond:
            if m:
                self.at[m.group(1).decode("ascii", "replace")] = time.monotonic()
            self.cond.notify_all()

    def wait(self, message_id: str, timeout_s: float) -> float:
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while message_id not in self.at:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no receipt for {message_id} within {timeout_s:g} s")
                self.cond.wait(left)
            return self.at[message_id]


def intake_command() -> list[str]:
    """``intake`` from this interpreter's environment (the venv's console script)."""
    script = Path(sys.executable).with_name("intake")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from bot.cli.main import main; main()"]


def measure(dovecot, n: int, tmp: Path, *, wait_s: float = 120.0) -> LatencyResult:
    """``n`` messages, one by one, through a daemon subprocess; returns each message's latency."""
    receipts = _Receipts()
    smtp = SmtpTestServer(on_message=lambda c: receipts.on_message(c)).start()
    user, password = dovecot.new_user()
    root = tmp / "latency"
    inst = make_instance(root, imap=(dovecot.host, dovecot.port, user, password),
                         smtp=("127.0.0.1", smtp.port))  # fmt: skip
    raws = submissions(n + 1, tmp / "gen-latency", start=50000)
    log = (root / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [*intake_command(), "--config", str(inst.config), "run"],
        cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    latencies: list[float] = []
    try:
        with MailBoxUnencrypted(dovecot.host, dovecot.port, timeout=60).login(
            user, password, "INBOX"
        ) as mb:
            for i, raw in enumerate(raws):
                mb.append(raw, "INBOX")
                appended = time.monotonic()
                got = receipts.wait(f"<bench-{50000 + i}@example.com>", wait_s)
                if i > 0:  # the first one only proves the daemon is up
                    latencies.append(got - appended)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        log.close()
        smtp.stop()
    return LatencyResult(latencies)
