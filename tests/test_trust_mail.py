"""Issue 14 by real mail (SMTP → Dovecot → daemon → SMTP): attacks 3, 4 and 6 of "Trust"."""

# Fixtures are imported by name and requested as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import make_msgid

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


def _resubmission(sender: str, subject: str, video, *, reply_to: str | None = None) -> bytes:  # noqa: ANN001
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = INTAKE
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    if reply_to:
        msg["Reply-To"] = reply_to
    msg.set_content("您好，已按要求更换视频，请查收。")
    msg.add_attachment(video.read_bytes(), maintype="video", subtype="mp4", filename="项目视频（修改后）.mp4")
    return msg.as_bytes()


@pytest.mark.dovecot
def test_a_strangers_tag_changes_nothing_and_an_added_colleague_may_resubmit(
    daemon: DaemonHarness, mail_route: SmtpTestServer, files
) -> None:
    """Attack 3. GIVEN the clerk's dossier answered with a 补正通知 [T]
    WHEN an outsider mails a new video with T in the subject (and a Reply-To of their own)
    THEN the dossier keeps version 1, the outsider gets only a short note that T is not theirs
    (not the victim's company or files), the clerk is warned, the officers' digest lists it;
    WHEN an officer adds the clerk's colleague with ``intake correspondent add T ADDR``
    THEN the colleague's mail with T becomes version 2 and is answered with a 回执."""
    raw, _, _ = submission(files, sender=CLERK, short=True)
    _send(mail_route, raw, CLERK)
    (notice,) = wait_for(lambda: _to(mail_route, CLERK), "the 补正通知")
    tracking = notice["X-Intake-Tracking"]

    _send(mail_route, _resubmission(ATTACKER, f"回复：{notice['Subject']}", files.video,
                                    reply_to="drop@elsewhere.example.org"), ATTACKER)
    (note,) = wait_for(lambda: _to(mail_route, ATTACKER), "the note to the outsider")
    (warning,) = wait_for(lambda: _to(mail_route, CLERK)[1:], "the warning to the owner")
    body = note.get_body(("plain",)).get_content()
    assert tracking in body and "另一发件人" in body
    for secret in ("武汉示例智能制造有限公司", "项目视频.mp4", "申报书"):
        assert secret not in body
    assert ATTACKER in warning.get_body(("plain",)).get_content()
    assert not _to(mail_route, "drop@elsewhere.example.org")
    assert [tuple(r) for r in daemon.query("SELECT current_version, verdict FROM dossiers")] == [(1, "defective")]
    digest = daemon.run_cli("digest", "--out", str(daemon.root / "digest.html"))
    assert digest.returncode == 0, digest.stderr
    assert ATTACKER in (daemon.root / "digest.txt").read_text(encoding="utf-8")

    colleague = "li@example.com"
    added = daemon.run_cli("correspondent", "add", tracking, colleague)
    assert added.returncode == 0, added.stderr
    listed = daemon.run_cli("correspondent", "list", tracking)  # each address with why it may
    assert listed.returncode == 0, listed.stderr
    reasons = dict(line.split("  ", 1) for line in listed.stdout.splitlines())
    assert reasons[CLERK.lower()] == "发件人" and reasons[colleague].startswith("经办人 ")
    assert ATTACKER.lower() not in reasons
    _send(mail_route, _resubmission(colleague, f"回复：{notice['Subject']}", files.video), colleague)
    (receipt,) = wait_for(lambda: _to(mail_route, colleague), "the 回执 to the colleague")
    assert receipt["X-Intake-Verdict"] == "accepted" and receipt["X-Intake-Version"] == "2"


@pytest.mark.dovecot
def test_a_forged_from_gets_its_answer_sent_to_the_victim_not_the_forger(
    daemon: DaemonHarness, mail_route: SmtpTestServer, files
) -> None:
    """Attack 3, the variant without a tag: a forged From of the victim plus the victim's project
    name (and the forger's Reply-To) may still make a version (without DKIM nobody can tell), but
    its 补正通知 goes to the victim's address, so the forger learns nothing and the victim sees it."""
    raw, _, _ = submission(files, sender=CLERK, short=True)
    _send(mail_route, raw, CLERK)
    wait_for(lambda: _to(mail_route, CLERK), "the 补正通知")
    forged = message_from_bytes(submission(files, sender=CLERK, short=True)[0], policy=email_policy.default)
    forged["Reply-To"] = ATTACKER
    _send(mail_route, forged.as_bytes(), ATTACKER)
    wait_for(lambda: _to(mail_route, CLERK)[1:], "the answer to the forged mail")
    assert not _to(mail_route, ATTACKER)
