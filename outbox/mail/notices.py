"""Short notices that are neither a 回执 nor a 补正通知 (issue 14): plain text, RFC 3834 headers.

- ``foreign_tag``: to a sender who quoted another applicant's tracking number (nothing changed);
- ``owner_warning``: to a dossier's owner, that somebody else tried to change it;
- ``no_materials``: to a sender whose mail held no 申报书, 扫描件 or 视频 and continues no dossier;
- ``officer_alert``: to the officers, e.g. the hourly reply limit was reached.

Each is a few lines a phone shows whole. Nothing an outsider wrote is repeated but the subject as
:func:`outbox.mail.subject_echo.echo_subject` leaves it (no URLs, ≤ 60 characters).
"""

from __future__ import annotations

from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime

from outbox.mail.compose import new_message_id
from outbox.mail.context import ReplyContext
from outbox.mail.headers import (
    COMPOSE_POLICY,
    address_header,
    is_msg_id,
    set_header,
    text_header,
    to_bytes,
)
from outbox.mail.subject_echo import echo_subject
from parsers.facts import MailFacts

TITLES = {
    "foreign_tag": "【未受理：受理编号不属于本邮箱】",
    "owner_warning": "【安全提示】有人试图修改您的申报",
    "no_materials": "【未受理：未发现申报材料】",
    "officer_alert": "【申报受理系统提示】",
}

BODIES = {
    "foreign_tag": (
        "您好：\n\n"
        "您的邮件引用了受理编号 {tracking}，该编号属于另一发件人报送的申报材料。本邮件未作为该申报的"
        "补充或修改材料处理，该申报没有任何改变。\n\n"
        "如您是该申报单位的经办人员，请用原报送邮箱回复，或致电 {contact}，由经办人员登记您的邮箱后再发送。\n"
    ),
    "owner_warning": (
        "您好：\n\n"
        "{when}，本系统收到来自 {sender} 的邮件，引用了您的申报（受理编号 {tracking}）并试图报送修改材料。"
        "该邮件未被采用，您的申报材料没有任何改变，经办人员已收到提示。\n\n"
        "如该邮件是您单位同事所发，请致电 {contact}，由经办人员登记其邮箱；否则无需处理。\n"
    ),
    "no_materials": (
        "您好：\n\n"
        "您的邮件中未发现申报材料（申报书、全套扫描件或项目视频），因此未予受理，也未生成受理编号。\n\n"
        "如需申报，请将申报材料作为附件发送至本邮箱；如有疑问，请致电 {contact}。"
        "今天内再次发送无材料的邮件将不再答复。\n"
    ),
    "officer_alert": "{text}\n",
}


def compose_notice(
    kind: str,
    ctx: ReplyContext,
    *,
    to: str,
    original: MailFacts | None = None,
    values: dict[str, str] | None = None,
    tracking: str | None = None,
) -> EmailMessage:
    """The notice ``kind`` (see the module docstring) to ``to``, threaded to ``original`` when
    given. ``values`` fill the body (``tracking``, ``sender``, ``when``, ``text``); ``contact`` is
    the office's. Returns a 7-bit EmailMessage."""
    fill = {"contact": ctx.officer_contact or ctx.unit, "tracking": tracking or "", **(values or {})}
    body = BODIES[kind].format_map(fill) + f"\n本邮件由申报受理系统自动发送。\n\n{ctx.unit}\n"
    msg = EmailMessage(policy=COMPOSE_POLICY)
    msg.set_content(body, subtype="plain", charset="utf-8")
    title = TITLES[kind] + (f" [{tracking}]" if tracking and kind == "owner_warning" else "")
    echo = echo_subject(original.subject) if original is not None else ""
    subject = f"{ctx.reply_prefix}{title}{echo}" if original is not None and kind != "owner_warning" else title
    set_header(msg, "From", address_header("From", [(ctx.from_name, ctx.from_addr)]))
    set_header(msg, "To", address_header("To", [("", to)]))
    set_header(msg, "Subject", text_header("Subject", subject))
    set_header(msg, "Date", format_datetime(ctx.now if ctx.now.tzinfo else ctx.now.astimezone()))
    set_header(msg, "Message-ID", new_message_id(kind, ctx.domain))
    if original is not None and is_msg_id(original.message_id) and kind != "owner_warning":
        set_header(msg, "In-Reply-To", original.message_id)
        set_header(msg, "References", original.message_id)
    set_header(msg, "Auto-Submitted", "auto-replied" if original is not None else "auto-generated")
    set_header(msg, "X-Auto-Response-Suppress", "All")
    set_header(msg, "X-Intake-Loop", ctx.loop_header_value)
    set_header(msg, "Content-Language", "zh-CN")
    return message_from_bytes(to_bytes(msg), policy=email_policy.default)  # type: ignore[return-value]
