"""The store's medium fails (disk full, a lock held too long) or the desk stalls: the daemon keeps
running, loses and counts nothing, tells the officers once, and ``status --json`` says so."""

# Fixtures are imported by name and requested as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store.database import Store
from bot.store.faults import is_store_fault
from tests.daemon_harness import DaemonHarness, ImapTarget, files, submission, wait_for  # noqa: F401
from tests.servers.smtp import SmtpTestServer, free_port, smtp_server  # noqa: F401

OFFICER = "lead@bureau.example.org"
OFFICERS_ENV = {"INTAKE_OFFICE__OFFICERS": json.dumps([{"name": "王科长", "email": OFFICER, "lead": True}])}


def _to(server: SmtpTestServer, rcpt: str) -> list:
    return [m for m in list(server.messages) if rcpt in m.rcpts]


def _subjects(server: SmtpTestServer, rcpt: str) -> list[str]:
    return [str(m.message["Subject"]) for m in _to(server, rcpt)]


def _fill(filler: Path, mount: Path, leave: int) -> None:
    """Fill the file system at ``mount`` until fewer than ``leave`` bytes are free."""
    with filler.open("wb") as f:
        try:
            while os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize > leave:
                f.write(b"\0" * 4096)
                f.flush()
        except OSError:
            pass


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_disk_full_under_the_store_while_processing_keeps_the_daemon_running(
    tmp_path, smtp_server: SmtpTestServer, files
):
    """GIVEN a submission archived and recorded, and then the store's disk full to the last 64 KB
    WHEN the daemon processes it
    THEN the failed work is rolled back, nothing is counted against the input, the daemon keeps
    running and retries with backoff, the lead officer gets ONE mail about it;
    WHEN space returns THEN the input is processed and answered exactly once."""
    daemon = DaemonHarness(tmp_path, smtp_port=smtp_server.port,
                           overrides={"health": {"fault_retry_max_s": 1.0}})
    daemon.data_dir.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(daemon.data_dir)],
                   check=True)
    try:
        raw, sender, _ = submission(files)
        mail = tmp_path / "submission.eml"
        mail.write_bytes(raw)
        store = Store.open(daemon.data_dir / "intake.sqlite3", daemon.data_dir / "archive")
        input_id = store.accept_path(mail, taken_at=datetime.now(UTC))
        store.close()
        filler = daemon.data_dir / "filler"
        _fill(filler, daemon.data_dir, 64 * 1024)
        assert len(raw) > 64 * 1024
        daemon.start(env=OFFICERS_ENV)
        wait_for(lambda: daemon.log_text().count("the store cannot be") >= 3, "three retries")
        assert daemon.alive(), daemon.log_tail()
        wait_for(lambda: _to(smtp_server, OFFICER), "the officers' alert")
        assert _to(smtp_server, sender) == []
        filler.unlink()
        wait_for(lambda: _to(smtp_server, sender), "the reply once space is back")
        row = daemon.query("SELECT state, attempts FROM inputs WHERE id=?", int(input_id))[0]
        assert (row["state"], row["attempts"]) == ("processed", 0)
        assert daemon.terminate() == 0, daemon.log_tail()
    finally:
        daemon.kill9()
        subprocess.run(["umount", str(daemon.data_dir)], check=False)
    assert len(_to(smtp_server, sender)) == 1
    (alert,) = _subjects(smtp_server, OFFICER)
    assert "存储故障" in alert


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_commit_that_fails_on_a_full_disk_is_rolled_back_and_the_store_goes_on(tmp_path):
    """GIVEN a store on a tmpfs with little room left
    WHEN a transaction's COMMIT fails with "database or disk is full"
    THEN the transaction is rolled back (nothing of it is visible), and once space returns the
    next transaction on the same connection commits (no "transaction within a transaction")."""
    data = tmp_path / "store"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(data)], check=True)
    try:
        store = Store.open(data / "intake.sqlite3", data / "archive")
        filler = data / "filler"
        _fill(filler, data, 256 * 1024)
        with pytest.raises(Exception) as failed:
            with store.transaction():
                store.set_meta("big", "x" * (1024 * 1024))
        assert is_store_fault(failed.value)
        assert not store.conn.in_transaction
        assert store.rollbacks == 1  # what callers keep by row id is stale now
        assert store.get_meta("big") is None
        filler.unlink()
        with store.transaction():
            store.set_meta("after", "ok")
        assert store.get_meta("after") == "ok"
        store.close()
    finally:
        subprocess.run(["umount", str(data)], check=False)


def test_lock_held_longer_than_the_busy_timeout_keeps_the_daemon_running(
    tmp_path, smtp_server: SmtpTestServer, files
):
    """GIVEN the daemon with [store] busy_timeout_s = 0.5
    WHEN another process holds an exclusive lock for 4 s while two submissions arrive
    THEN the daemon does not exit: it backs off, tells the officers once, and once the lock ends
    both are processed (no attempt counted) and answered once."""
    daemon = DaemonHarness(tmp_path, smtp_port=smtp_server.port,
                           overrides={"store": {"busy_timeout_s": 0.5}, "health": {"fault_retry_max_s": 1.0}})
    daemon.start(env=OFFICERS_ENV)
    try:
        wait_for(lambda: (daemon.data_dir / "intake.sqlite3").exists()
                 and daemon.count("SELECT COUNT(*) FROM meta") >= 1, "the store")
        senders = []
        for _ in range(2):
            raw, sender, _ = submission(files)
            tmp = daemon.root / f".{sender}.eml"
            tmp.write_bytes(raw)
            tmp.rename(daemon.drop / f"{sender}.eml")
            senders.append(sender)
        wait_for(lambda: daemon.count("SELECT COUNT(*) FROM inputs") == 2, "both taken")
        locker = subprocess.Popen(
            [sys.executable, "-c",
             "import sqlite3, sys, time\n"
             "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
             "c.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\ntime.sleep(4)\n"
             "c.execute('COMMIT')\n",
             str(daemon.data_dir / "intake.sqlite3")],
            stdout=subprocess.PIPE, text=True,
        )
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        assert locker.wait() == 0
        assert daemon.alive(), daemon.log_tail()
        wait_for(lambda: all(_to(smtp_server, s) for s in senders), "both replies after the lock")
        assert daemon.terminate() == 0, daemon.log_tail()
    finally:
        daemon.kill9()
    assert sorted(len(_to(smtp_server, s)) for s in senders) == [1, 1]
    rows = daemon.query("SELECT state, attempts FROM inputs")
    assert [(r["state"], r["attempts"]) for r in rows] == [("processed", 0), ("processed", 0)]


def test_dead_mailbox_alerts_officers_once_and_status_health_says_so(
    tmp_path, smtp_server: SmtpTestServer
):
    """GIVEN the daemon with a mailbox that cannot be reached and [health] alert_after_s = 2
    WHEN no sync succeeds for longer than that
    THEN the lead officer gets exactly one mail (邮箱同步中断) and ``intake status --json`` has
    ``health.ok == false`` with the mailbox named among the problems."""
    dead = ImapTarget("127.0.0.1", free_port(), "nobody", "secret")
    daemon = DaemonHarness(tmp_path, imap=dead, smtp_port=smtp_server.port,
                           overrides={"health": {"alert_after_s": 2.0}})
    daemon.start(env=OFFICERS_ENV)
    try:
        wait_for(lambda: _to(smtp_server, OFFICER), "the stall alert")
        status = daemon.run_cli("status", "--json")
        assert status.returncode == 0, status.stderr
        wait_for(lambda: daemon.log_text().count("reconnecting") >= 4, "more failed syncs")
        assert daemon.alive()
    finally:
        assert daemon.terminate() == 0, daemon.log_tail()
    (alert,) = _subjects(smtp_server, OFFICER)
    assert "邮箱同步中断" in alert
    health = json.loads(status.stdout)["health"]
    assert health["ok"] is False and health["last_sync_at"] is None
    assert any("mailbox" in p for p in health["problems"])
    assert {"ok", "last_sync_at", "queue_oldest_s", "quarantined"} <= set(health)


def test_the_daemon_speaks_systemds_notify_protocol(tmp_path):
    """GIVEN the daemon started by systemd with Type=notify and WatchdogSec (NOTIFY_SOCKET,
    WATCHDOG_USEC) WHEN it runs THEN it sends READY=1 and then WATCHDOG=1 keep-alives."""
    import socket

    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(30)
    daemon = DaemonHarness(tmp_path / "d")
    daemon.start(env={"NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "400000"})
    try:
        got = [sock.recv(256).decode() for _ in range(3)]
    finally:
        assert daemon.terminate() == 0, daemon.log_tail()
        sock.close()
    assert got[0] == "READY=1"
    assert got[1:] == ["WATCHDOG=1", "WATCHDOG=1"]


def test_a_rolled_back_transaction_is_counted_and_its_row_ids_come_again(tmp_path):
    """GIVEN a transaction that inserts a row and then fails WHEN it is rolled back THEN
    ``rollbacks`` counts it and the next insert takes the same row id: why the pipeline drops
    the facts it keeps by version id when the count moves."""
    store = Store.open(tmp_path / "intake.sqlite3", tmp_path / "archive")
    store.conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    with pytest.raises(RuntimeError):
        with store.transaction():
            first = store.conn.execute("INSERT INTO t(v) VALUES('rolled back')").lastrowid
            raise RuntimeError("the reply could not be queued")
    assert store.rollbacks == 1
    with store.transaction():
        again = store.conn.execute("INSERT INTO t(v) VALUES('committed')").lastrowid
    assert again == first and store.rollbacks == 1
    store.close()
