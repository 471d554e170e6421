"""Bounces of our replies: read (RFC 3464 DSN and Chinese providers' free-text 退信), matched to the
reply they return, recorded on the dossier, shown by `intake status --json` / `intake show`, and
one alert per bounce to the officers of the dossier's category; a bounce is never answered."""

# Fixtures are imported by name and requested as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import html
import json
from email.mime.text import MIMEText
from email.utils import formataddr
from pathlib import Path

import pytest

from outbox.mail.bounces import classify, read_bounce
from outbox.mail.compose import compose_receipt
from outbox.mail.headers import to_bytes
from outbox.mail.loops import should_not_reply
from parsers.mime import parse_message
from tests.bounce_builders import postfix_dsn, provider_text_bounce, returned_headers
from tests.daemon_harness import (  # noqa: F401
    DaemonHarness,
    ImapTarget,
    files,
    submission,
    wait_for,
)
from tests.factories import FormData, make_form_docx, make_submission_eml, make_uscc
from tests.outbox_builders import TRACKING, make_ctx, make_dossier
from tests.servers.dovecot import Dovecot, dovecot, imap_user  # noqa: F401
from tests.servers.smtp import SmtpTestServer, smtp_server  # noqa: F401

RCPT = "wangxm@qq.com"
QQ_DENIED = "550 Mail content denied. http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000726"


@pytest.fixture(scope="module")
def sent() -> bytes:
    return to_bytes(compose_receipt(make_ctx(), make_dossier(), [], TRACKING, to=RCPT))


def test_postfix_dsn_names_our_receipt_recipient_status_and_reason(sent: bytes) -> None:
    raw = postfix_dsn(sent, RCPT)
    facts = parse_message(raw)
    assert should_not_reply(facts, own_addresses={"shenbao-intake@example.org"}, loop_header_value="x") == "bounce"
    b = read_bounce(facts, raw)
    assert b is not None and b.final and b.form == "dsn"
    assert b.tracking == TRACKING and b.message_id.startswith(f"<{TRACKING}.")
    assert (b.rcpt, b.status, b.cause) == (RCPT, "5.1.1", "no_such_user")
    assert b.reason.startswith("550 5.1.1 <wangxm@qq.com>: Recipient address rejected")


def test_delayed_dsn_is_no_failure(sent: bytes) -> None:
    raw = postfix_dsn(sent, RCPT, action="delayed", status="4.4.1", diagnostic="connect to mx: timed out")
    b = read_bounce(parse_message(raw), raw)
    assert b is not None and not b.final


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        (QQ_DENIED, "content_rejected"),
        ("554 DT:SPM 163 smtp10,DsCowAD3b0+zQ2Zl9w4iCQ--.49906S2 1701225139", "content_rejected"),
        ("550 User not found: wangxm@qq.com", "no_such_user"),
        ("552 Mailbox is full", "mailbox_full"),
    ],
)
def test_provider_free_text_bounce(sent: bytes, answer: str, cause: str) -> None:
    """QQ / 163 style 退信: no DSN part, GB18030 text; the answer and the quoted headers are found."""
    raw = provider_text_bounce(sent, RCPT, answer=answer)
    facts = parse_message(raw)
    assert should_not_reply(facts, own_addresses={"intake@example.org"}, loop_header_value="x") == "bounce"
    b = read_bounce(facts, raw)
    assert b is not None and b.form == "text" and b.final
    assert (b.tracking, b.rcpt, b.cause) == (TRACKING, RCPT, cause)
    assert b.reason == answer


def test_163_html_bounce_with_quoted_headers(sent: bytes) -> None:
    """163.com's 退信 is HTML only: a table with 收件人 and 退信原因, the headers in a <pre>."""
    table = (
        "<html><body><div>很抱歉您的邮件没有发送成功！</div><table>"
        f"<tr><td>收件人：</td><td>{RCPT}</td></tr>"
        "<tr><td>退信原因：</td><td>554 DT:SPM 163 smtp10,DsCowAD3b0 1701225139, please see "
        "http://mail.163.com/help/help_spam_16.htm?ip=1&amp;hostid=smtp10</td></tr></table>"
        f"<div>原邮件头：</div><pre>{html.escape(returned_headers(sent))}</pre></body></html>"
    )
    msg = MIMEText(table, "html", "utf-8")
    msg["From"] = formataddr(("网易邮件中心", "postmaster@163.com"), charset="utf-8")
    msg["To"] = "intake@163.com"
    msg["Subject"] = "系统退信"
    raw = msg.as_bytes()
    b = read_bounce(parse_message(raw), raw)
    assert b is not None and (b.tracking, b.rcpt, b.cause, b.form) == (TRACKING, RCPT, "content_rejected", "text")
    assert b.reason.startswith("554 DT:SPM 163 smtp10")


def test_ordinary_mail_is_no_bounce() -> None:
    raw = make_submission_eml([], sender="a@example.com")
    assert read_bounce(parse_message(raw), raw) is None
    assert classify(None, "250 OK") == "other"


# -- end to end: the daemon, real Dovecot and a real SMTP server ----------------------------------

OFFICERS = """
[[office.officers]]
name = "张科长"
email = "zhang@bureau.example.org"
categories = ["工厂类"]

[[office.officers]]
name = "李科长"
email = "li@bureau.example.org"
categories = ["平台类"]
"""


def _to(server: SmtpTestServer, rcpt: str) -> list:
    return [m for m in list(server.messages) if rcpt in m.rcpts]


def test_dsn_and_qq_bounce_each_end_bounced_on_the_right_dossier_with_one_officer_alert(
    tmp_path: Path, dovecot: Dovecot, imap_user, smtp_server: SmtpTestServer, files
) -> None:
    """GIVEN two dossiers answered by SMTP (receipts captured by the server)
    WHEN a Postfix DSN returns the first reply and a QQ-style "550 Mail content denied" 退信 the
    second (both appended to the real mailbox), and the DSN arrives a second time
    THEN each ends `bounced` on its own dossier in `status --json` and `intake show`, the officer of
    the dossiers' category (not the other officer) gets exactly one alert per bounce naming the
    applicant, the form's phone and the reason, and nobody writes back to the bouncers."""
    user, password = imap_user
    daemon = DaemonHarness(
        tmp_path, imap=ImapTarget(dovecot.host, dovecot.port, user, password),
        smtp_port=smtp_server.port,
    )  # fmt: skip
    daemon.config.write_text(daemon.config.read_text("utf-8") + OFFICERS, encoding="utf-8")
    second_form = make_form_docx(
        tmp_path / "b" / "申报书.docx",
        FormData(applicant="湖北示例云科技有限公司", uscc=make_uscc("91420100MA4K00002"),
                 project_name="面向汽车零部件的工业互联网平台项目", contact_name="李四",
                 mobile="13900139000", email="lisi@qq.com"),
    )  # fmt: skip
    raw_a, sender_a, _ = submission(files, sender="clerk.a@example.com")
    raw_b = make_submission_eml([second_form, files.scan, files.video], sender="lisi@qq.com",
                                message_id="<b.e2e@mail.example.com>")  # fmt: skip
    daemon.start()
    try:
        dovecot.append(user, password, raw_a)
        dovecot.append(user, password, raw_b)
        (reply_a,) = wait_for(lambda: _to(smtp_server, sender_a), "the reply to A")
        (reply_b,) = wait_for(lambda: _to(smtp_server, "lisi@qq.com"), "the reply to B")
        tracking_a = reply_a.message["X-Intake-Tracking"]
        tracking_b = reply_b.message["X-Intake-Tracking"]
        assert tracking_a != tracking_b
        dsn = postfix_dsn(reply_a.data, sender_a)
        dovecot.append(user, password, dsn)
        dovecot.append(user, password, provider_text_bounce(reply_b.data, "lisi@qq.com", answer=QQ_DENIED))
        alerts = wait_for(
            lambda: (a := _to(smtp_server, "zhang@bureau.example.org")) and len(a) >= 2 and a,
            "two bounce alerts",
        )
        # The DSN again (a second copy, its own Message-ID): recorded once, no second alert.
        dovecot.append(user, password, postfix_dsn(reply_a.data, sender_a))
        wait_for(lambda: daemon.count("SELECT COUNT(*) FROM inputs WHERE state != 'received'") == 5,
                 "the repeated DSN to be taken")  # fmt: skip
        status = daemon.run_cli("status", "--json")
        show_a = daemon.run_cli("show", tracking_a)
        digest = daemon.run_cli("digest", "--out", str(tmp_path / "digest.html"))
    finally:
        assert daemon.terminate() == 0, daemon.log_tail()
    alerts = _to(smtp_server, "zhang@bureau.example.org")
    assert len(alerts) == 2
    assert not _to(smtp_server, "li@bureau.example.org")
    by_tracking = {a.message["X-Intake-Bounce-Alert"]: a for a in alerts}
    text_a = by_tracking[tracking_a].message.get_body(("plain",)).get_content()
    text_b = by_tracking[tracking_b].message.get_body(("plain",)).get_content()
    assert "武汉示例智能制造有限公司" in text_a and "13800138000" in text_a
    assert "User unknown" in text_a and sender_a in text_a
    assert "湖北示例云科技有限公司" in text_b and "13900139000" in text_b and "李四" in text_b
    assert "550 Mail content denied" in text_b
    assert "武汉示例" not in text_b and "13900139000" not in text_a
    assert "退信提醒" in str(by_tracking[tracking_b].message["Subject"])
    # A bounce is never answered: nothing went to the bouncers.
    everyone = {r for m in smtp_server.messages for r in m.rcpts}
    assert everyone == {sender_a, "lisi@qq.com", "zhang@bureau.example.org"}
    assert status.returncode == 0, status.stderr
    bounced = json.loads(status.stdout)["bounced"]
    assert len(bounced) == 2
    got = {b["tracking"]: b for b in bounced}
    kind = {"accepted": "receipt", "defective": "defect_notice"}
    assert got[tracking_a]["to"] == sender_a
    assert got[tracking_a]["kind"] == kind[reply_a.message["X-Intake-Verdict"]]
    assert got[tracking_a]["reason"].startswith("550 5.1.1")
    assert got[tracking_b]["to"] == "lisi@qq.com" and got[tracking_b]["reason"] == QQ_DENIED
    assert got[tracking_b]["kind"] == kind[reply_b.message["X-Intake-Verdict"]]
    assert all(set(b) >= {"tracking", "to", "kind", "reason", "at"} for b in bounced)
    assert got[tracking_a]["at"].endswith("+08:00")
    assert show_a.returncode == 0 and "退信" in show_a.stdout and "User unknown" in show_a.stdout
    assert digest.returncode == 0, digest.stderr
    digest_text = (tmp_path / "digest.txt").read_text("utf-8")
    assert tracking_b in digest_text and "550 Mail content denied" in digest_text


# -- in process: a local Maildir source and the file outbox ---------------------------------------


def _deliver(maildir: Path, raw: bytes, name: str) -> None:
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    (maildir / "new" / name).write_bytes(raw)


def test_bounce_of_the_alert_and_a_delay_notice_raise_nothing(tmp_path: Path, files) -> None:
    """GIVEN the file outbox and a Maildir source
    WHEN a receipt's DSN arrives, then a DSN for the officer alert itself, a delay notice, and two
    forged bounces (the tracking number with a Message-ID we never used; our Message-ID with an
    address we never wrote to)
    THEN the first is recorded with one alert (an .eml to the category's officer, with the phone);
    the others raise nothing and are kept as ignored with the reason; no mail goes to a bouncer."""
    from bot.config.model import Settings
    from bot.daemon import Intake
    from bot.store.bounces import bounces

    maildir, outbox = tmp_path / "Maildir", tmp_path / "outbox"
    (tmp_path / "drop").mkdir()  # a configured drop folder must exist (never created for us)
    settings = Settings(
        store={"data_dir": tmp_path / "store"}, drop={"folders": [tmp_path / "drop"]},
        maildir={"folders": [maildir]}, campaign={"now": "2023-11-29T10:00:00+08:00"},
        outbox={"folder": outbox, "from_addr": "intake@example.org", "domain": "example.org"},
        office={"officers": [{"name": "张科长", "email": "zhang@bureau.example.org",
                              "categories": ["工厂类"]}]},
    )  # fmt: skip
    raw, sender, _ = submission(files, sender="clerk.m@example.com")
    _deliver(maildir, raw, "1.sub")
    intake = Intake(settings)
    try:
        intake.run_once()
        (reply,) = list(outbox.glob("*.eml"))
        sent = reply.read_bytes()
        _deliver(maildir, postfix_dsn(sent, sender), "2.dsn")
        intake.run_once()
        alerts = [p for p in outbox.glob("*.eml") if p != reply]
        assert len(alerts) == 1
        alert = alerts[0].read_bytes()
        assert b"zhang@bureau.example.org" in alert and b"X-Intake-Bounce-Alert" in alert
        assert "13800138000" in parse_message(alert).body_text
        _deliver(maildir, postfix_dsn(alert, "zhang@bureau.example.org"), "3.alert-dsn")
        tracking = parse_message(sent).headers["x-intake-tracking"]
        forged = sent.replace(b"Message-ID: <" + tracking.encode(), b"Message-ID: <" + tracking.encode() + b"x")
        _deliver(maildir, postfix_dsn(forged, sender), "5.forged-id")  # tracking only, unknown id
        _deliver(maildir, postfix_dsn(sent, "other@example.net"), "6.forged-rcpt")  # not our rcpt
        _deliver(maildir, postfix_dsn(sent, sender, action="delayed", status="4.4.1",
                                      diagnostic="connect to mx.example.com: timed out"), "4.delay")  # fmt: skip
        intake.run_once()
        assert len(list(outbox.glob("*.eml"))) == 2
        (recorded,) = bounces(intake.store)
        assert recorded.rcpt == sender and recorded.status == "5.1.1"
        states = [(r.state, r.error or "") for r in intake.store.inputs()]
    finally:
        intake.close()
    assert ("ignored", "bounce of a bounce_alert (to officers)") in states
    assert ("ignored", "bounce: delay notice (not a failure)") in states
    assert ("ignored", "bounce: quotes no mail of ours") in states
    assert any(s == "ignored" and e.endswith(f"to {sender} (recorded already)") for s, e in states)
    assert sum(1 for s, _ in states if s == "processed") == 2  # the submission and the DSN
