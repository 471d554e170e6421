"""Sources of the daemon besides IDLE: a local Maildir, and mail above the size limit."""

# Fixtures are imported by name and requested as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import email
import email.policy

import pytest

from bot.daemon import Intake
from bot.health.report import LAST_SYNC
from bot.sources.imap.connect import ImapLoginRefused
from outbox.delivery import queue as outgoing
from tests.conftest import make_settings
from tests.daemon_harness import files, folder_uids, submission  # noqa: F401
from tests.servers.dovecot import Dovecot, dovecot, imap_user  # noqa: F401


def _replies(settings) -> list[email.message.EmailMessage]:  # noqa: ANN001
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(settings.outbox.folder.glob("*.eml"))
    ]


def test_maildir_messages_are_taken_once_and_marked_seen(tmp_path, files):
    """GIVEN a local Maildir with two delivered submissions (one already read by a person)
    WHEN the daemon takes what is there, twice
    THEN both are archived and answered once and moved to cur/ with the S flag; tmp/ is untouched."""
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    raw1, sender1, _ = submission(files)
    raw2, sender2, _ = submission(files)
    (maildir / "new" / "1700000000.M1P1.host").write_bytes(raw1)
    (maildir / "new" / "1700000001.M2P1.host:2,F").write_bytes(raw2)
    (maildir / "tmp" / "1700000002.M3P1.host").write_bytes(b"half a delivery")
    settings = make_settings(tmp_path, maildir={"folders": [maildir]})
    intake = Intake(settings)
    try:
        intake.run_once()
        intake.run_once()
        states = [r.state for r in intake.store.inputs()]
    finally:
        intake.close()
    assert states == ["processed", "processed"]
    assert sorted(p.name for p in (maildir / "cur").iterdir()) == [
        "1700000000.M1P1.host:2,S", "1700000001.M2P1.host:2,FS"]
    assert list((maildir / "new").iterdir()) == []
    assert [p.name for p in (maildir / "tmp").iterdir()] == ["1700000002.M3P1.host"]
    assert sorted(m["To"].addresses[0].addr_spec for m in _replies(settings)) == sorted([sender1, sender2])


def test_oversize_mail_is_archived_answered_with_where_to_send_and_reprocess_judges_it(
    tmp_path, dovecot: Dovecot, imap_user, files
):
    """GIVEN [imap] max_message_bytes below the size of a submission
    WHEN the daemon takes it
    THEN its size is read first (RFC822.SIZE), only its header block is fetched and archived (the
    body stays on the server), it is flagged \\Seen, not judged (no dossier), and the sender
    gets one note (邮件过大) telling them to use a disc or the drop folder, threaded to the mail;
    WHEN an officer runs reprocess
    THEN it is judged and answered with a 回执 or 补正通知, and the note is not sent again."""
    user, password = imap_user
    raw, sender, message_id = submission(files)
    dovecot.append(user, password, raw)
    settings = make_settings(tmp_path, imap={
        "enabled": True, "host": dovecot.host, "port": dovecot.port, "security": "plain",
        "username": user, "password": password, "max_message_bytes": 100_000})
    intake = Intake(settings)
    try:
        intake.run_once()
        (row,) = intake.store.inputs()
        wire = raw.replace(b"\n", b"\r\n")  # as IMAP stores and serves it
        assert row.state == "oversize" and row.size == len(wire)
        assert intake.store.archive.path_for(row.sha256).read_bytes() == wire[: wire.find(b"\r\n\r\n") + 4]
        assert intake.store.dossiers() == []
        (note,) = _replies(settings)
        assert "邮件过大" in str(note["Subject"])
        assert note["In-Reply-To"] == message_id
        assert note["Auto-Submitted"] == "auto-replied"
        body = note.get_body(("plain",)).get_content()
        assert "光盘" in body and "共享文件夹" in body and "97.7 KB" in body
        assert intake.store.requeue(row.id)
        intake.run_once()
        assert intake.store.get_input(row.id).state == "processed"
        assert len(intake.store.dossiers()) == 1
    finally:
        intake.close()
    kinds = sorted(str(m.get("X-Intake-Verdict", "note")) for m in _replies(settings))
    assert len(kinds) == 2 and "note" in kinds
    assert all(m["To"].addresses[0].addr_spec == sender for m in _replies(settings))
    (flags,) = folder_uids(dovecot.host, dovecot.port, user, password, "INBOX").values()
    assert "\\Seen" in flags


def test_run_once_reads_each_mail_while_the_next_is_fetched_and_only_once(
    tmp_path, dovecot: Dovecot, imap_user, files, caplog
):
    """GIVEN three submissions in the mailbox WHEN `run --once` takes them
    THEN reading the first starts before the last is fetched (issue 16: fetch and parse overlap),
    each input is read in a worker exactly once, and each sender gets one reply."""
    user, password = imap_user
    for _ in range(3):
        dovecot.append(user, password, submission(files)[0])
    settings = make_settings(tmp_path, imap={
        "enabled": True, "host": dovecot.host, "port": dovecot.port, "security": "plain",
        "username": user, "password": password})
    caplog.set_level("DEBUG", logger="intake")
    intake = Intake(settings)
    try:
        report = intake.run_once()
    finally:
        intake.close()
    assert sorted(len(o.trackings) for o in report.outcomes) == [1, 1, 1]
    lines = [r.getMessage() for r in caplog.records]
    reads = [m for m in lines if "reading in worker" in m]
    assert sorted(m.split(":")[0] for m in reads) == [f"input intake/INBOX/{i}" for i in (1, 2, 3)]
    took = [i for i, m in enumerate(lines) if "took INBOX UID" in m]
    early = [i for i, m in enumerate(lines) if "reading starts while later mail is fetched" in m]
    assert len(early) == 3 and early[0] < took[1] and early[1] < took[2]
    assert len(_replies(settings)) == 3


def test_run_once_with_a_refused_login_answers_the_drop_folder_then_raises(
    tmp_path, dovecot: Dovecot, imap_user, files
):
    """GIVEN a submission in the drop folder and a mailbox whose password is wrong
    WHEN `run --once` runs (its fetch, processing and hand-over overlap: issue 16)
    THEN it raises the refused login, as before, but only after the drop-folder input was judged
    and its reply handed over: the fetch's failure holds up neither."""
    user, _ = imap_user
    raw, sender, _ = submission(files)
    settings = make_settings(tmp_path, imap={
        "enabled": True, "host": dovecot.host, "port": dovecot.port, "security": "plain",
        "username": user, "password": "not-the-password"})
    (settings.drop.folders[0] / "投递.eml").write_bytes(raw)
    intake = Intake(settings)
    try:
        with pytest.raises(ImapLoginRefused):
            intake.run_once()
        (row,) = intake.store.inputs()
        assert row.state == "processed" and len(intake.store.dossiers()) == 1
        assert intake.store.get_meta(LAST_SYNC) is None
    finally:
        intake.close()
    (reply,) = _replies(settings)
    assert reply["To"].addresses[0].addr_spec == sender


def test_run_once_hands_each_reply_over_once_and_reports_every_one(tmp_path, dovecot: Dovecot, imap_user, files):
    """GIVEN five submissions in the mailbox
    WHEN `run --once` takes them (replies handed over while later inputs are processed)
    THEN its report lists five replies delivered, the outbox holds five, one per sender, nothing
    is left pending, and a second run takes and sends nothing."""
    user, password = imap_user
    senders = []
    for _ in range(5):
        raw, sender, _ = submission(files)
        dovecot.append(user, password, raw)
        senders.append(sender)
    settings = make_settings(tmp_path, imap={
        "enabled": True, "host": dovecot.host, "port": dovecot.port, "security": "plain",
        "username": user, "password": password})
    intake = Intake(settings)
    try:
        first = intake.run_once()
        second = intake.run_once()
        pending = outgoing.counts_by_status(intake.store.conn).get("pending", 0)
        last_sync = intake.store.get_meta(LAST_SYNC)
    finally:
        intake.close()
    assert len(first.outcomes) == 5 and len(first.delivered) == 5 and first.failed == []
    assert (second.outcomes, second.delivered) == ([], [])
    assert pending == 0 and last_sync is not None
    assert sorted(m["To"].addresses[0].addr_spec for m in _replies(settings)) == sorted(senders)
