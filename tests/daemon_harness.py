"""Run ``intake run`` as a real subprocess against the test servers: config, start, wait, kill -9.

``DaemonHarness(root, imap=..., smtp_port=...)`` writes a TOML config under ``root`` (store, one
drop folder, an IMAP account on loopback, SMTP on loopback, short retry and reconnect delays, the
campaign clock pinned inside the window) and starts ``python -m bot.cli --config … run`` with JSON
logs. Crash points (``bot/crashpoints.py``) are armed with ``start(crash_at="after_fetch")``.
``ledger()`` opens the daemon's SQLite store read-only for assertions.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from imap_tools import MailBoxUnencrypted

from tests.factories import FormData, make_form_docx, make_scan_pdf, make_submission_eml, make_video

ROOT = Path(__file__).resolve().parent.parent
PINNED_NOW = "2023-11-29T10:00:00+08:00"  # inside the city level's window (deadline 2023-12-01)
_serial = itertools.count(1)
WAIT_S = 90.0  # the longest any condition is waited for before the test fails with a message


def wait_for(cond: Callable[[], Any], what: str, *, timeout_s: float = WAIT_S, every_s: float = 0.05) -> Any:
    """Poll ``cond`` until it returns something truthy; return it. AssertionError naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(every_s)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def write_config(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    """Write ``sections`` (``{"imap": {"port": 143}}``) as a TOML file."""
    lines = []
    for name, keys in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml(v)}" for k, v in keys.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@dataclass
class ImapTarget:
    """Where the daemon's mailbox is: host, port, user, password (plain IMAP on loopback)."""

    host: str
    port: int
    user: str
    password: str


@dataclass
class DaemonHarness:
    """One daemon instance living under ``root``; start and stop it as often as a test needs."""

    root: Path
    imap: ImapTarget | None = None
    smtp_port: int | None = None
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    runs: int = 0

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.root / "store"
        self.drop = self.root / "dropbox"
        self.drop.mkdir(exist_ok=True)
        sections: dict[str, dict[str, Any]] = {
            "store": {"data_dir": self.data_dir},
            "campaign": {"now": PINNED_NOW},
            "drop": {"folders": [self.drop], "processed_dir": self.root / "processed",
                     "settle_s": 0.3, "rescan_s": 5.0},
            "outbox": {"transport": "file", "folder": self.root / "outbox", "from_addr": "intake@example.org",
                       "retry_first_s": 0.5, "retry_max_s": 2.0, "retry_for_s": 600.0},
            "digest": {"enabled": False},
        }
        if self.imap is not None:
            sections["imap"] = {
                "enabled": True, "host": self.imap.host, "port": self.imap.port, "security": "plain",
                "username": self.imap.user, "password": self.imap.password,
                "idle_s": 60.0, "resync_s": 3.0, "timeout_s": 3.0,
                "backoff_min_s": 0.2, "backoff_max_s": 1.0,
            }
        if self.smtp_port is not None:
            sections["outbox"]["transport"] = "smtp"
            sections["smtp"] = {"host": "127.0.0.1", "port": self.smtp_port, "security": "plain",
                                "timeout_s": 5.0}
        for name, keys in self.overrides.items():
            sections.setdefault(name, {}).update(keys)
        self.config = write_config(self.root / "config.toml", sections)

    # -- the process ---------------------------------------------------------------------------

    def start(self, *, crash_at: str | None = None, env: dict[str, str] | None = None) -> DaemonHarness:
        """Start ``intake run`` (JSON logs appended to ``root/daemon.log``)."""
        assert self.proc is None or self.proc.poll() is not None, "the daemon is already running"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
        if crash_at:
            full_env["INTAKE_CRASH_AT"] = crash_at
        full_env.update(env or {})
        self.runs += 1
        log = (self.root / "daemon.log").open("ab")
        log.write(f"--- run {self.runs} crash_at={crash_at}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--config", str(self.config), "--log-format", "json", "run"],
            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        return self

    def wait_exit(self, *, timeout_s: float = WAIT_S) -> int:
        """Wait for the process to end by itself (a crash point); return its exit status."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the daemon did not exit within {timeout_s:.0f} s\n{self.log_tail()}") from None

    def terminate(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` (SIGTERM: a clean stop) and return the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait_exit()

    def kill9(self) -> None:
        """``kill -9`` the daemon (and anything it started)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        path = self.root / "daemon.log"
        return path.read_text("utf-8", "replace") if path.exists() else ""

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    def log_records(self) -> list[dict[str, Any]]:
        """Every JSON log line (lines that are not JSON, e.g. the run markers, are skipped)."""
        out = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    # -- the store -----------------------------------------------------------------------------

    def ledger(self) -> sqlite3.Connection:
        """The daemon's SQLite store, read-only (WAL readers never block the daemon)."""
        db = self.data_dir / "intake.sqlite3"
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        conn.row_factory = sqlite3.Row
        return conn

    def query(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        if not (self.data_dir / "intake.sqlite3").exists():
            return []
        conn = self.ledger()
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # the schema is not created yet
            return []
        finally:
            conn.close()

    def count(self, sql: str, *args: Any) -> int:
        rows = self.query(sql, *args)
        return int(rows[0][0]) if rows else 0

    def run_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run another ``intake`` command against the same config (e.g. ``status --json``)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "--config", str(self.config), *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )


# -- real submissions -------------------------------------------------------------------------


@dataclass
class Files:
    """A form, a scanned copy, a 6-minute and a 4-minute video (real files)."""

    form: Path
    scan: Path
    video: Path
    short_video: Path


@pytest.fixture(scope="session")
def files(tmp_path_factory) -> Files:
    d = tmp_path_factory.mktemp("e2e-files")
    return Files(
        form=make_form_docx(d / "申报书.docx", FormData(email="clerk@example.com")),
        scan=make_scan_pdf(d / "全套扫描件.pdf"),
        video=make_video(d / "项目视频.mp4", 372),
        short_video=make_video(d / "short" / "项目视频.mp4", 240),
    )


def submission(files: Files, *, sender: str | None = None, short: bool = False) -> tuple[bytes, str, str]:
    """A submission mail with all three materials; returns (raw bytes, sender, Message-ID)."""
    n = next(_serial)
    sender = sender or f"clerk{n}@example.com"
    message_id = f"<sub{n}.e2e@mail.example.com>"
    raw = make_submission_eml(
        [files.form, files.scan, files.short_video if short else files.video],
        sender=sender,
        message_id=message_id,
    )
    return raw, sender, message_id


def folder_uids(host: str, port: int, user: str, password: str, folder: str) -> dict[str, list[str]]:
    """Flags by UID of every message in ``folder`` (empty when the folder does not exist)."""
    with MailBoxUnencrypted(host, port, timeout=10).login(user, password, None) as mb:
        if not mb.folder.exists(folder):
            return {}
        mb.folder.set(folder)
        return {m.uid: list(m.flags) for m in mb.fetch(mark_seen=False, headers_only=True)}
