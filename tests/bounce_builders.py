"""Bounces as they reach the bureau's mailbox, built with the standard library from our real mail.

``postfix_dsn``: the RFC 3464 report Postfix's bounce daemon sends (multipart/report with a
human part, message/delivery-status, and the returned headers as text/rfc822-headers).
``provider_text_bounce``: the free-text 退信 of a Chinese provider relaying for us (163.com, QQ):
a Chinese plain-text body naming the far end's answer, with the original headers quoted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid


def returned_headers(sent: bytes) -> str:
    """The header block of a mail we sent, as an MTA returns it."""
    head = sent.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return head.replace("\r\n", "\n") + "\n"


def postfix_dsn(
    sent: bytes,
    rcpt: str,
    *,
    to: str = "intake@example.org",
    status: str = "5.1.1",
    diagnostic: str = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table",
    action: str = "failed",
) -> bytes:
    """A Postfix-shaped DSN for ``sent`` (our mail's bytes) refused for ``rcpt``."""
    diagnostic = diagnostic.format(rcpt=rcpt)
    report = MIMEMultipart("report", report_type="delivery-status")
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["From"] = "MAILER-DAEMON@mail.example.org (Mail Delivery System)"
    report["To"] = to
    report["Auto-Submitted"] = "auto-replied"
    report["Date"] = format_datetime(datetime(2023, 11, 29, 2, 5, tzinfo=UTC))
    report["Message-ID"] = make_msgid(domain="mail.example.org")
    human = MIMEText(
        "This is the mail system at host mail.example.org.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients. It's attached below.\n\n"
        f"<{rcpt}>: host mx.example.com[192.0.2.25] said: {diagnostic} (in reply to RCPT TO command)\n",
        "plain", "us-ascii",
    )  # fmt: skip
    human["Content-Description"] = "Notification"
    per_message = Message()
    per_message["Reporting-MTA"] = "dns; mail.example.org"
    per_message["X-Postfix-Queue-ID"] = "4SgXkT0qJHz9sWm"
    per_message["X-Postfix-Sender"] = "rfc822; intake@example.org"
    per_message["Arrival-Date"] = "Wed, 29 Nov 2023 10:04:58 +0800 (CST)"
    per_rcpt = Message()
    per_rcpt["Final-Recipient"] = f"rfc822; {rcpt}"
    per_rcpt["Original-Recipient"] = f"rfc822;{rcpt}"
    per_rcpt["Action"] = action
    per_rcpt["Status"] = status
    per_rcpt["Remote-MTA"] = "dns; mx.example.com"
    per_rcpt["Diagnostic-Code"] = f"smtp; {diagnostic}"
    delivery = Message()
    delivery["Content-Description"] = "Delivery report"
    delivery["Content-Type"] = "message/delivery-status"
    delivery.set_payload([per_message, per_rcpt])
    headers = MIMEText(returned_headers(sent), "rfc822-headers", "us-ascii")
    headers["Content-Description"] = "Undelivered Message Headers"
    for part in (human, delivery, headers):
        report.attach(part)
    return report.as_bytes()


def provider_text_bounce(
    sent: bytes,
    rcpt: str,
    *,
    answer: str = "550 Mail content denied. http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000726",
    sender: str = "postmaster@example.org",
    to: str = "intake@example.org",
    charset: str = "gb18030",
) -> bytes:
    """A Chinese provider's free-text 退信 for ``sent``: no DSN part, the answer in words."""
    body = (
        "您好！\n\n很抱歉，您发送的邮件被退回，以下是该邮件的有关信息：\n\n"
        f"    收件人：{rcpt}\n"
        "    时间：2023年11月29日 10:05\n\n"
        f"退信原因：对方服务器拒收，服务器返回：{answer}\n\n"
        "建议解决方案：请检查邮件内容后重试，或联系收件人的邮件管理员。\n\n"
        "----- 原邮件信息 -----\n" + returned_headers(sent)
    )
    msg = MIMEText(body, "plain", charset)
    msg["Subject"] = "系统退信"
    msg["From"] = formataddr(("系统管理员", sender), charset="utf-8")
    msg["To"] = to
    msg["Date"] = format_datetime(datetime(2023, 11, 29, 2, 6, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(domain="example.org")
    return msg.as_bytes()
