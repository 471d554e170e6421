"""Mail above ``[imap] max_message_bytes``: archived all the same, answered with where to send instead.

Issue 5: such a message is kept (its exact bytes are in the archive like any other) but not
judged; the sender gets one reply (templates ``outbox/mail/templates/oversize.{txt,html}``) telling
them to use the drop folder or a disc. The input is left in state ``oversize`` (listed by
``intake status``); ``intake reprocess ID`` judges it anyway (the note is never sent twice).
Loop defence (RFC 3834) and the per-sender daily cap apply as for every reply.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime
from email.message import EmailMessage
from string import Template

from bot.processing.replies import ReplyBuilder
from bot.store.database import InputRow, Store
from outbox.delivery import held
from outbox.delivery import queue as outgoing
from outbox.mail.compose import answering, format_size, new_message_id
from outbox.mail.finish import finish
from outbox.mail.recipients import reply_address
from outbox.mail.subject_echo import echo_subject
from parsers.mime import parse_message

log = logging.getLogger("intake.oversize")

from outbox.mail.template_files import TEMPLATES, subject  # noqa: E402
from rules.wording import date_text  # noqa: E402

HEAD_BYTES = 256 * 1024  # the header block is read from at most this many first bytes


def dedupe_key(input_id: int) -> str:
    return f"oversize:{input_id}"


def is_oversize(store: Store, row: InputRow, limit_bytes: int) -> bool:
    """True for a mail above ``limit_bytes`` that has not been answered with the note yet."""
    if row.kind != "mail" or row.source != "imap" or row.size <= limit_bytes:
        return False
    key = dedupe_key(row.id)
    return not (outgoing.has_key(store.conn, key) or held.is_held(store.conn, key))


def answer_oversize(
    store: Store, replies: ReplyBuilder, row: InputRow, *, limit_bytes: int, now: datetime
) -> str:
    """Queue the note for ``row`` (unless loop defence or the cap forbids) and set its state
    ``oversize``, in one transaction. Returns what was done, for the log and the outcome."""
    with store.archive.path_for(row.sha256).open("rb") as f:
        head = f.read(HEAD_BYTES)
    end = head.find(b"\r\n\r\n")
    end = end if end >= 0 else head.find(b"\n\n")
    mail = parse_message(head[: end + 4] if end >= 0 else head)
    why_not = replies.no_reply_reason(mail)
    to = reply_address(mail)
    with store.transaction():
        if why_not is None and to:
            msg = compose_oversize(replies, mail, to=to, size=row.size, limit_bytes=limit_bytes, now=now)
            held_why = replies.queue_or_hold(store.conn, msg, to=to, kind="oversize", tracking=None,
                                             dedupe_key=dedupe_key(row.id), now=now)[1]
            why_not = f"held: {held_why}" if held_why else None
        why_not = why_not or (None if to else "no sender address")
        done = f"{row.size} bytes, above the {limit_bytes}-byte limit: " + (
            f"not answered ({why_not})" if why_not else "answered with where to send large files"
        )
        store.close_input(row.id, "oversize", done)
    log.warning("input %s (%s): %s", row.id, mail.message_id, done)
    return done


def compose_oversize(
    replies: ReplyBuilder, mail, *, to: str, size: int, limit_bytes: int, now: datetime  # noqa: ANN001
) -> EmailMessage:
    """The note as a 7-bit, threaded EmailMessage (same headers as the 回执: RFC 3834, loop)."""
    ctx = replies.context(now)
    values = {
        "salutation": mail.from_name or "申报单位",
        "subject": echo_subject(mail.subject) or "（无主题）",
        "size": format_size(size),
        "limit": format_size(limit_bytes),
        "unit": ctx.unit,
        "officer_contact": ctx.officer_contact,
        "date": date_text(now, replies.campaign.timezone),
    }
    text = Template((TEMPLATES / "oversize.txt").read_text(encoding="utf-8")).substitute(values)
    escaped = {k: html.escape(v) for k, v in values.items()}
    content = Template((TEMPLATES / "oversize.html").read_text(encoding="utf-8")).substitute(escaped)
    page = Template((TEMPLATES / "page.html").read_text(encoding="utf-8")).substitute(
        title="邮件过大", content=content, unit=escaped["unit"], date=escaped["date"]
    )
    msg = EmailMessage()
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(page, subtype="html", charset="utf-8")
    return finish(
        msg,
        sender=(ctx.from_name, ctx.from_addr),
        to=[("", to)],
        subject=subject("oversize", prefix=ctx.reply_prefix, subject=echo_subject(mail.subject)).strip(),
        now=now,
        message_id=new_message_id("oversize", ctx.domain),
        auto="auto-replied",
        loop_value=ctx.loop_header_value,
        **answering(mail),
    )
