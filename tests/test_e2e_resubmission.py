"""Issue 6's full loop by real mail: SMTP → Dovecot → daemon → 补正通知 → the clerk's reply → 回执 v2."""

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


@pytest.fixture
def mail_route(dovecot: Dovecot, imap_user) -> Iterator[SmtpTestServer]:
    """An SMTP server that delivers mail for the intake address into its Dovecot mailbox (LDA)
    and keeps everything else (our replies) for the test to read."""
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


def _send(server: SmtpTestServer, raw: bytes, sender: str = CLERK) -> None:
    wire = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # smtplib sends bytes as they are
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as s:
        s.sendmail(sender, [INTAKE], wire)


def _answers(server: SmtpTestServer) -> list[EmailMessage]:
    return [m.message for m in list(server.messages) if CLERK in m.rcpts]


def test_defect_notice_reply_with_new_video_gets_receipt_v2_and_out_of_office_gets_nothing(
    tmp_path, dovecot: Dovecot, imap_user, mail_route: SmtpTestServer, files
):
    """GIVEN the daemon watching the intake mailbox, replies going out by SMTP
    WHEN the clerk mails a dossier with a 4-minute video (SMTP → Dovecot)
    THEN a 补正通知 arrives naming the video's duration;
    WHEN the clerk replies to it with only a new 6-minute video
    THEN a 回执 for version 2 of the same dossier arrives, threaded to the reply;
    WHEN the clerk's out-of-office answers our 回执
    THEN no new dossier, no new version and no answer."""
    user, password = imap_user
    daemon = DaemonHarness(
        tmp_path, imap=ImapTarget(dovecot.host, dovecot.port, user, password), smtp_port=mail_route.port
    ).start()
    try:
        raw, _, first_id = submission(files, sender=CLERK, short=True)
        _send(mail_route, raw)
        (notice,) = wait_for(lambda: _answers(mail_route), "the 补正通知")
        assert notice["X-Intake-Verdict"] == "defective"
        assert "【补正通知】" in str(notice["Subject"])
        assert notice["In-Reply-To"] == first_id
        assert "4分" in notice.get_body(("plain",)).get_content()
        tracking = notice["X-Intake-Tracking"]

        reply = EmailMessage()
        reply["From"] = f"申报企业 <{CLERK}>"
        reply["To"] = INTAKE
        reply["Subject"] = f"回复：{notice['Subject']}"
        reply["Message-ID"] = make_msgid(domain="mail.example.com")
        reply["In-Reply-To"] = notice["Message-ID"]
        reply["References"] = f"{first_id} {notice['Message-ID']}"
        reply.set_content("您好，已按要求更换视频，请查收。")
        reply.add_attachment(files.video.read_bytes(), maintype="video", subtype="mp4",
                             filename="项目视频（修改后）.mp4")
        _send(mail_route, reply.as_bytes())
        receipt = wait_for(lambda: _answers(mail_route)[1:], "the 回执 for version 2")[0]
        assert receipt["X-Intake-Verdict"] == "accepted"
        assert receipt["X-Intake-Tracking"] == tracking
        assert receipt["X-Intake-Version"] == "2"
        assert receipt["In-Reply-To"] == reply["Message-ID"]

        ooo = EmailMessage()
        ooo["From"] = f"王小明 <{CLERK}>"
        ooo["To"] = INTAKE
        ooo["Subject"] = f"自动回复：{receipt['Subject']}"
        ooo["Message-ID"] = make_msgid(domain="mail.example.com")
        ooo["In-Reply-To"] = receipt["Message-ID"]
        ooo["Auto-Submitted"] = "auto-replied"
        ooo["X-Autoreply"] = "yes"
        ooo.set_content("您好，我正在休假，12月4日回来后回复您。")
        _send(mail_route, ooo.as_bytes())
        wait_for(lambda: daemon.count("SELECT COUNT(*) FROM inputs WHERE state='ignored'") == 1,
                 "the out-of-office to be ignored")
        wait_for(lambda: daemon.count("SELECT COUNT(*) FROM outgoing WHERE status!='sent'") == 0,
                 "the queue to drain")
    finally:
        stopped = daemon.terminate()
    assert stopped == 0, daemon.log_tail()
    assert len(_answers(mail_route)) == 2
    dossiers = daemon.query("SELECT tracking, current_version, verdict FROM dossiers")
    assert [tuple(d) for d in dossiers] == [(tracking, 2, "accepted")]
    assert daemon.count("SELECT COUNT(*) FROM versions") == 2
    # What the clerk's client sees: the receipt decodes as a recipient would parse it.
    parsed = message_from_bytes(
        next(m.data for m in mail_route.messages if CLERK in m.rcpts and b"accepted" in m.data),
        policy=email_policy.default,
    )
    assert tracking in str(parsed["Subject"])
