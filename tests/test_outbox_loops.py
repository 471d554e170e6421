"""Loop defence: each kind of automatic mail is recognised from real message bytes (RFC 3834)."""

from __future__ import annotations

import pytest

from outbox.mail.loops import is_bounce, should_not_reply
from parsers.mime import parse_message

OWN = {"shenbao-intake@example.org"}
LOOP = "wuhan-city-a1b2"


def mail(
    *headers: str, sender: str = "liuyang.apply@example.com", subject: str = "申报材料"
) -> bytes:
    head = [
        f"From: <{sender}>" if sender else "From: <>",
        "To: <shenbao-intake@example.org>",
        f"Subject: {subject}",
        "Message-ID: <m1@example.com>",
        *headers,
    ]
    return (
        "\r\n".join(head) + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n您好\r\n"
    ).encode("utf-8")


def reason(raw: bytes) -> str | None:
    return should_not_reply(parse_message(raw), own_addresses=OWN, loop_header_value=LOOP)


@pytest.mark.parametrize(
    ("headers", "sender", "subject", "expected"),
    [
        ((), "liuyang.apply@example.com", "申报材料", None),
        (("Auto-Submitted: no",), "a@example.com", "申报材料", None),
        (("Auto-Submitted: auto-replied",), "a@example.com", "Re: x", "auto_submitted"),
        (
            ("Auto-Submitted: auto-generated; owner-email=x@y",),
            "a@example.com",
            "x",
            "auto_submitted",
        ),
        (("Precedence: bulk",), "a@example.com", "x", "precedence"),
        (("Precedence: junk",), "a@example.com", "x", "precedence"),
        (("Precedence: list",), "a@example.com", "x", "precedence"),
        (("Precedence: auto_reply",), "a@example.com", "x", "precedence"),
        (("X-Autoreply: yes",), "a@example.com", "x", "x_autoreply"),
        (("X-Autorespond: 1",), "a@example.com", "x", "x_autorespond"),
        (("X-Auto-Response-Suppress: All",), "a@example.com", "x", "auto_response_suppress"),
        (
            ("X-Auto-Response-Suppress: DR, AutoReply",),
            "a@example.com",
            "x",
            "auto_response_suppress",
        ),
        (("X-Auto-Response-Suppress: OOF",), "a@example.com", "x", None),
        (("List-Id: <news.example.com>",), "a@example.com", "x", "mailing_list"),
        (("List-Unsubscribe: <mailto:u@example.com>",), "a@example.com", "x", "mailing_list"),
        ((), "MAILER-DAEMON@example.com", "x", "robot_sender"),
        ((), "noreply@example.com", "x", "robot_sender"),
        ((), "news-request@example.com", "x", "robot_sender"),
        ((), "", "x", "null_sender"),
        (("Return-Path: <>",), "a@example.com", "x", "null_sender"),
        ((), "Shenbao-Intake@example.org", "x", "own_address"),
        ((f"X-Intake-Loop: {LOOP}",), "a@example.com", "x", "own_loop_header"),
        (
            ("X-Intake-Loop: hubei-province-9", "X-Intake-Verdict: accepted"),
            "a@example.com",
            "x",
            "intake_reply",
        ),
        ((), "a@example.com", "自动回复：申报材料", "auto_reply_subject"),
        ((), "a@example.com", "Automatic reply: 申报材料", "auto_reply_subject"),
    ],
)
def test_each_kind_of_automatic_mail(
    headers: tuple[str, ...], sender: str, subject: str, expected: str | None
) -> None:
    assert reason(mail(*headers, sender=sender, subject=subject)) == expected


DSN = b"""From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r
To: <shenbao-intake@example.org>\r
Subject: Undelivered Mail Returned to Sender\r
Message-ID: <dsn1@mx.example.com>\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r
\r
--B\r
Content-Type: text/plain\r
\r
I'm sorry to have to inform you that your message could not be delivered.\r
--B\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns; mx.example.com\r
\r
Final-Recipient: rfc822; nobody@example.com\r
Action: failed\r
Status: 5.1.1\r
--B\r
Content-Type: text/rfc822-headers\r
\r
From: <shenbao-intake@example.org>\r
Message-ID: <IIP2023-420100-0017-8.3f9a1c2b7d4e@intake.example.org>\r
X-Intake-Tracking: IIP2023-420100-0017-8\r
--B--\r
"""


def test_delivery_status_notification_is_a_bounce() -> None:
    """GIVEN a DSN for one of our receipts WHEN it arrives THEN no reply."""
    facts = parse_message(DSN)
    assert is_bounce(facts)
    assert should_not_reply(facts, own_addresses=OWN, loop_header_value=LOOP) == "bounce"


def test_plain_submission_is_not_a_bounce() -> None:
    assert not is_bounce(parse_message(mail()))
