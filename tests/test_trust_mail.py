"""Issue 14 by real mail (SMTP → Dovecot → daemon → SMTP): attacks 3, 4 and 6 of "Trust"."""

# Fixtures are imported by name and requested as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage

import pytest

from tests.daemon_harness import DaemonHarness, ImapTarget, files, submission, wait_for  # noqa: F401
from tests.servers.dovecot import Dovecot, dovecot, imap_user  # noqa: F401
from tests.servers.smtp import Captured, SmtpTestServer

INTAKE = "intake@example.org"
CLERK = "clerk@example.com"
ATTACKER = "mallory@evil.example.net"


@pytest.fixture
def mail_route(dovecot: Dovecot, imap_user) -> Iterator[SmtpTestServer]:
    """Delivers mail for the intake address into Dovecot; keeps everything else for the test."""
    user, _ = imap_user

    def route(captured: Captured) -> str | None:
        if INTAKE in captured.rcpts:
            dovecot.deliver(user, captured.data, sender=captured.mail_from)
        return None

    server = SmtpTestServer(on_message=route).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def daemon(tmp_path, dovecot: Dovecot, imap_user, mail_route: SmtpTestServer) -> Iterator[DaemonHarness]:
    user, password = imap_user
    harness = DaemonHarness(
        tmp_path, imap=ImapTarget(dovecot.host, dovecot.port, user, password), smtp_port=mail_route.port
    ).start()
    try:
        yield harness
    finally:
        assert harness.terminate() == 0, harness.log_tail()


def _send(server: SmtpTestServer, raw: bytes, sender: str) -> None:
    wire = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as s:
        s.sendmail(sender, [INTAKE], wire)


def _to(server: SmtpTestServer, rcpt: str) -> list[EmailMessage]:
    return [m.message for m in list(server.messages) if rcpt in m.rcpts]


@pytest.mark.dovecot
def test_a_different_mail_reusing_a_message_id_is_archived_judged_and_answered(
    daemon: DaemonHarness, mail_route: SmtpTestServer, files
) -> None:
    """Attack 6. GIVEN a dossier mailed and answered WHEN the clerk's client "resends" different
    content under the same Message-ID THEN it is archived, judged and answered too (on main it was
    marked \\Seen and never looked at)."""
    raw, _, message_id = submission(files, sender=CLERK, short=True)
    _send(mail_route, raw, CLERK)
    wait_for(lambda: _to(mail_route, CLERK), "the first answer")
    again, _, _ = submission(files, sender=CLERK)  # a 6-minute video this time
    resent = message_from_bytes(again, policy=email_policy.default)
    resent.replace_header("Message-ID", message_id)
    _send(mail_route, resent.as_bytes(), CLERK)
    answers = wait_for(lambda: _to(mail_route, CLERK)[1:], "an answer to the second mail")
    assert answers[0]["X-Intake-Verdict"] == "accepted"
    assert daemon.count("SELECT COUNT(*) FROM inputs WHERE message_id=?", message_id) == 2
    assert daemon.count("SELECT COUNT(*) FROM inputs WHERE state='processed'") == 2
