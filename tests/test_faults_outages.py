"""What the daemon depends on fails: SMTP down or refusing, SQLite locked, disk full, no ffprobe."""

# Fixtures are imported by name and requested as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.daemon_harness import (  # noqa: F401
    DaemonHarness,
    ImapTarget,
    files,
    folder_uids,
    submission,
    wait_for,
)
from tests.servers.dovecot import Dovecot, dovecot, imap_user  # noqa: F401
from tests.servers.smtp import SmtpTestServer, smtp_server  # noqa: F401


def _drop_mail(daemon: DaemonHarness, files, **kw) -> str:  # noqa: ANN001, ANN003
    """Put a submission mail into the drop folder (atomically); return its sender."""
    raw, sender, _ = submission(files, **kw)
    tmp = daemon.root / f".{sender}.eml"
    tmp.write_bytes(raw)
    tmp.rename(daemon.drop / f"{sender}.eml")
    return sender


def _to(server: SmtpTestServer, rcpt: str) -> list:
    return [m for m in list(server.messages) if rcpt in m.rcpts]


def _drained(daemon: DaemonHarness) -> bool:
    return (daemon.count("SELECT COUNT(*) FROM inputs") > 0
            and daemon.count("SELECT COUNT(*) FROM inputs WHERE state='received'") == 0
            and daemon.count("SELECT COUNT(*) FROM outgoing WHERE status='pending'") == 0)


def test_smtp_down_then_back_every_reply_delivered_once(tmp_path, smtp_server: SmtpTestServer, files):
    """GIVEN the daemon running while the SMTP server is down
    WHEN two submissions arrive and their replies fail to connect, then the server comes back
    THEN each reply is delivered exactly once, after at least one failed attempt."""
    smtp_server.stop()
    daemon = DaemonHarness(tmp_path, smtp_port=smtp_server.port).start()
    try:
        senders = [_drop_mail(daemon, files), _drop_mail(daemon, files)]
        wait_for(lambda: daemon.count("SELECT COUNT(*) FROM outgoing WHERE attempts>=2") == 2,
                 "two failed attempts for each reply")
        assert smtp_server.messages == []
        smtp_server.start()
        wait_for(lambda: all(_to(smtp_server, s) for s in senders), "both replies after the outage")
        wait_for(lambda: _drained(daemon), "the queue to drain")
    finally:
        stopped = daemon.terminate()
    assert stopped == 0, daemon.log_tail()
    assert sorted(len(_to(smtp_server, s)) for s in senders) == [1, 1]
    assert daemon.count("SELECT COUNT(*) FROM outgoing WHERE status='sent'") == 2


def test_smtp_4xx_is_retried_and_5xx_is_recorded_in_status(tmp_path, smtp_server: SmtpTestServer, files):
    """GIVEN the daemon running
    WHEN the SMTP server answers the first reply's DATA with 451 twice, then 250
    AND refuses the second reply's recipient with 550
    THEN the first is delivered once (3 attempts), the second is failed 'perm' with the 550 text,
    and ``intake status --json`` lists it under failed_replies."""
    daemon = DaemonHarness(tmp_path, smtp_port=smtp_server.port).start()
    try:
        smtp_server.fail_next("451 4.3.0 mailbox busy, try later", times=2, stage="data")
        first = _drop_mail(daemon, files)
        wait_for(lambda: _to(smtp_server, first), "the first reply after two 451 answers")
        smtp_server.fail_next("550 5.1.1 no such user here", stage="rcpt")
        second = _drop_mail(daemon, files)
        wait_for(lambda: daemon.count("SELECT COUNT(*) FROM outgoing WHERE status='failed'") == 1,
                 "the 550 to be recorded")
        status = daemon.run_cli("status", "--json")
    finally:
        stopped = daemon.terminate()
    assert stopped == 0, daemon.log_tail()
    assert len(_to(smtp_server, first)) == 1
    assert _to(smtp_server, second) == []
    (sent,) = daemon.query("SELECT attempts FROM outgoing WHERE status='sent'")
    assert sent["attempts"] == 3
    assert status.returncode == 0, status.stderr
    (failed,) = json.loads(status.stdout)["failed_replies"]
    assert failed["failure"] == "perm"
    assert "550" in failed["error"] and failed["tracking"]


def test_sqlite_locked_by_another_process_loses_nothing(tmp_path, smtp_server: SmtpTestServer, files):
    """GIVEN the daemon running
    WHEN another process holds an exclusive lock on the SQLite store for 4 seconds while two
    submissions arrive
    THEN both are taken, processed at the first attempt and answered once after the lock ends."""
    daemon = DaemonHarness(tmp_path, smtp_port=smtp_server.port).start()
    try:
        wait_for(lambda: (daemon.data_dir / "intake.sqlite3").exists()
                 and daemon.count("SELECT COUNT(*) FROM meta") >= 1, "the store")
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
        senders = [_drop_mail(daemon, files), _drop_mail(daemon, files)]
        assert locker.wait() == 0
        wait_for(lambda: all(_to(smtp_server, s) for s in senders), "both replies after the lock")
        wait_for(lambda: _drained(daemon), "the queue to drain")
    finally:
        stopped = daemon.terminate()
    assert stopped == 0, daemon.log_tail()
    assert sorted(len(_to(smtp_server, s)) for s in senders) == [1, 1]
    rows = daemon.query("SELECT state, attempts FROM inputs")
    assert [(r["state"], r["attempts"]) for r in rows] == [("processed", 0), ("processed", 0)]


def test_ffprobe_missing_quarantines_with_the_fix_and_reprocess_answers(
    tmp_path, smtp_server: SmtpTestServer, files
):
    """GIVEN the daemon running on a machine without ffprobe (PATH without it)
    WHEN a submission with a video arrives
    THEN it is quarantined at once with a reason naming ffprobe, nobody is answered, the daemon
    keeps running and ``intake status`` lists it; once ffprobe is back (restart with PATH) and
    ``intake reprocess ID`` is run, it is processed and answered once."""
    empty = tmp_path / "bin"
    empty.mkdir()
    daemon = DaemonHarness(tmp_path / "d", smtp_port=smtp_server.port)
    daemon.start(env={"PATH": str(empty)})
    try:
        sender = _drop_mail(daemon, files)
        wait_for(lambda: daemon.count("SELECT COUNT(*) FROM inputs WHERE state='quarantined'") == 1,
                 "the input to be quarantined")
        time.sleep(0.5)
        assert daemon.alive()
        status = daemon.run_cli("status", "--json")
    finally:
        stopped = daemon.terminate()
    assert stopped == 0, daemon.log_tail()
    (q,) = json.loads(status.stdout)["quarantined"]
    assert "ffprobe" in " ".join(q["error"])
    assert smtp_server.messages == []
    assert daemon.count("SELECT COUNT(*) FROM dossiers") == 0

    daemon.start()
    try:
        requeued = daemon.run_cli("reprocess", str(q["id"]))
        assert requeued.returncode == 0, requeued.stderr
        wait_for(lambda: _to(smtp_server, sender), "the reply after reprocess")
        wait_for(lambda: _drained(daemon), "the queue to drain")
    finally:
        stopped = daemon.terminate()
    assert stopped == 0, daemon.log_tail()
    assert len(_to(smtp_server, sender)) == 1
    assert daemon.count("SELECT COUNT(*) FROM inputs WHERE state='processed'") == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_disk_full_while_archiving_leaves_the_mail_unacknowledged(
    tmp_path, dovecot: Dovecot, imap_user, smtp_server: SmtpTestServer, files
):
    """GIVEN the daemon's archive on a small tmpfs filled up to the last few KB
    WHEN a submission arrives by IMAP
    THEN it is not archived, not recorded and NOT flagged \\Seen on the server; the daemon keeps
    running, and once space returns it is taken, flagged and answered exactly once."""
    user, password = imap_user
    daemon = DaemonHarness(
        tmp_path, imap=ImapTarget(dovecot.host, dovecot.port, user, password), smtp_port=smtp_server.port
    )
    archive = daemon.data_dir / "archive"
    archive.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(archive)], check=True)
    try:
        filler = archive / "filler"
        _fill(filler, archive)
        daemon.start()
        raw, sender, _ = submission(files)
        assert len(raw) > 64 * 1024
        dovecot.append(user, password, raw)
        wait_for(lambda: "No space left on device" in daemon.log_text(), "the archive to hit ENOSPC")
        wait_for(lambda: daemon.log_text().count("No space left on device") >= 2, "a retry")
        assert daemon.alive()
        assert daemon.count("SELECT COUNT(*) FROM inputs") == 0
        (flags,) = folder_uids(dovecot.host, dovecot.port, user, password, "INBOX").values()
        assert "\\Seen" not in flags
        filler.unlink()
        wait_for(lambda: _to(smtp_server, sender), "the reply once space is back")
        wait_for(lambda: _drained(daemon), "the queue to drain")
        assert daemon.terminate() == 0, daemon.log_tail()
    finally:
        daemon.kill9()
        subprocess.run(["umount", str(archive)], check=False)
    assert len(_to(smtp_server, sender)) == 1
    assert daemon.count("SELECT COUNT(*) FROM inputs") == 1
    (flags,) = folder_uids(dovecot.host, dovecot.port, user, password, "INBOX").values()
    assert "\\Seen" in flags


def _fill(filler: Path, mount: Path) -> None:
    """Fill the file system at ``mount`` until fewer than 16 KB are free."""
    with filler.open("wb") as f:
        try:
            while os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize > 16 * 1024:
                f.write(b"\0" * 4096)
                f.flush()
        except OSError:
            pass
