"""kill -9 at every named step (``bot/crashpoints.py``), restart: archived once, processed once, answered once."""

# Fixtures are imported by name and requested as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import shutil
from collections import Counter

from bot.crashpoints import CRASH_POINTS
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

DROP_REPLY_TO = "clerk@example.com"  # the form's email: a drop-folder dossier is answered there
SEND_POINTS = ("before_send", "after_send")


def test_kill_at_every_step_then_restart_answers_each_input_exactly_once(
    tmp_path, dovecot: Dovecot, imap_user, smtp_server: SmtpTestServer, files
):
    """GIVEN the daemon (IMAP IDLE, a drop folder, SMTP)
    WHEN for each named crash point a new input arrives (a mail, or for ``after_take`` a dossier
    folder) and the daemon dies there with status 137 (as under kill -9), then is started again;
    the SMTP server is down except for the two send points
    THEN after a last clean run every input is archived once, processed once into one dossier
    version, its reply is queued once and reaches the SMTP server under one Message-ID, handed over
    once except the one caught by the after_send crash (twice); the
    server shows every mail flagged \\Seen; the clean run stops on SIGTERM with status 0."""
    user, password = imap_user
    daemon = DaemonHarness(
        tmp_path,
        imap=ImapTarget(dovecot.host, dovecot.port, user, password),
        smtp_port=smtp_server.port,
    )
    recipients = []
    for point in CRASH_POINTS:
        # A kill lands wherever the other threads are. While a run is meant to die elsewhere the
        # SMTP server is down (replies wait and are retried), so no hand-over of a reply can be
        # caught between the server's 250 and our record of it; the send points get the server.
        if point in SEND_POINTS:
            smtp_server.start()
        else:
            smtp_server.stop()
        if point == "after_take":
            dossier = tmp_path / "incoming" / "武汉示例智能制造有限公司"
            dossier.mkdir(parents=True)
            for f in (files.form, files.scan, files.video):
                shutil.copy(f, dossier / f.name)
            dossier.rename(daemon.drop / dossier.name)  # appears complete, as a move-in does
            recipients.append(DROP_REPLY_TO)
        else:
            raw, sender, _ = submission(files)
            dovecot.append(user, password, raw)
            recipients.append(sender)
        daemon.start(crash_at=point)
        status = daemon.wait_exit()
        assert status == 137, f"{point}: exit {status}\n{daemon.log_tail()}"

    smtp_server.start()
    daemon.start()
    try:
        wait_for(lambda: all(_to(smtp_server, r) for r in recipients), "a reply to every input")
        wait_for(lambda: daemon.count("SELECT COUNT(*) FROM outgoing WHERE status!='sent'") == 0
                 and daemon.count("SELECT COUNT(*) FROM inputs WHERE state!='processed'") == 0,
                 "the queue to drain")
        wait_for(lambda: all("\\Seen" in f for f in _flags(dovecot, user, password).values()),
                 "every mail flagged \\Seen")
    finally:
        status = daemon.terminate()
    assert status == 0, daemon.log_tail()

    n = len(CRASH_POINTS)
    inputs = daemon.query("SELECT source, state, sha256 FROM inputs")
    assert len(inputs) == n, [tuple(r) for r in inputs]
    assert sorted(Counter(r["source"] for r in inputs).items()) == [("folder", 1), ("imap", n - 1)]
    assert {r["state"] for r in inputs} == {"processed"}
    assert len({r["sha256"] for r in inputs}) == n
    assert daemon.count("SELECT COUNT(*) FROM versions") == n
    assert daemon.count("SELECT COUNT(*) FROM dossiers WHERE current_version=1") == n
    assert daemon.count("SELECT COUNT(*) FROM outgoing WHERE status='sent'") == n
    # At the SMTP server: each input answered under exactly one Message-ID.
    for rcpt in recipients:
        ids = {m.message["Message-ID"] for m in _to(smtp_server, rcpt)}
        assert len(ids) == 1, (rcpt, ids)
    # The after_send crash (the server said 250, we died before recording it) makes the transport
    # hand over that one message a second time: SMTP has no two-phase commit (RFC 1047). Nothing
    # else is handed over twice.
    copies = Counter(m.message["Message-ID"] for m in smtp_server.messages)
    assert len(copies) == n
    print(f"\n{n} inputs, {n} replies, {sum(copies.values())} hand-overs at the SMTP server")
    assert sorted(copies.values()) == [1] * (n - 1) + [2], copies
    assert len(_flags(dovecot, user, password)) == n - 1


def _to(server: SmtpTestServer, rcpt: str) -> list:
    return [m for m in list(server.messages) if rcpt in m.rcpts]


def _flags(dovecot: Dovecot, user: str, password: str) -> dict[str, list[str]]:
    return folder_uids(dovecot.host, dovecot.port, user, password, "INBOX")
