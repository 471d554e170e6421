"""The one way an outgoing mail is finished: its headers in a fixed order, then the wire form.

Every mail we send (receipts, defect notices, decision notices, the oversize note, digests,
packet parts, packet receipts and refusals) goes through :func:`finish`: From, To, Subject,
Date, Message-ID, the thread (In-Reply-To, References; RFC 5322 §3.6.4, at most 20 kept),
Auto-Submitted (RFC 3834 §5) and ``X-Auto-Response-Suppress`` (asks Exchange/Outlook for no
out-of-office answer), the caller's own headers, our loop header, ``Content-Language``. Only the
top level keeps ``MIME-Version`` (RFC 2045 §4). Every header we encoded is then left as a parser
leaves a header (its folded 7-bit text), so the message reads like any parsed message (values
decoded by the header registry) and :func:`~outbox.mail.headers.to_bytes` writes our folding
verbatim. It used to be serialised and parsed again for that: ~8 ms of each reply (issue 16),
and the whole file again for a packet part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage, Message
from email.utils import format_datetime

from outbox.mail.headers import FoldedHeader, address_header, is_msg_id, set_header, text_header

MAX_REFERENCES = 20  # RFC 5322 §3.6.4 allows trimming the middle of a long References list


def finish(
    msg: EmailMessage,
    *,
    sender: tuple[str, str],
    to: Sequence[tuple[str, str]],
    subject: str,
    now: datetime,
    message_id: str,
    auto: str | None,
    loop_value: str | None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    suppress_auto_replies: bool = True,
) -> EmailMessage:
    """Set the headers of ``msg`` (its body and attachments made) and return it, read as parsed.

    ``sender`` and ``to`` are (display name, address) pairs; ``now`` naive means local time;
    ``auto`` the Auto-Submitted value (None: not automatic, e.g. a packet part); ``references``
    defaults to ``in_reply_to`` alone; ``loop_value`` our X-Intake-Loop value (None: none).
    """
    set_header(msg, "From", address_header("From", [sender]))
    set_header(msg, "To", address_header("To", list(to)))
    set_header(msg, "Subject", text_header("Subject", subject))
    set_header(msg, "Date", format_datetime(now if now.tzinfo is not None else now.astimezone()))
    set_header(msg, "Message-ID", message_id)
    if in_reply_to and is_msg_id(in_reply_to):
        refs = [r for r in references if is_msg_id(r)]
        set_header(msg, "In-Reply-To", in_reply_to)
        set_header(msg, "References", " ".join(refs[-MAX_REFERENCES:] or [in_reply_to]))
    if auto:
        set_header(msg, "Auto-Submitted", auto)  # RFC 3834 §5
        if suppress_auto_replies:
            set_header(msg, "X-Auto-Response-Suppress", "All")
    for name, value in (headers or {}).items():
        set_header(msg, name, value)
    if loop_value:
        set_header(msg, "X-Intake-Loop", loop_value)
    set_header(msg, "Content-Language", "zh-CN")
    for part in msg.walk():
        if part is not msg:
            del part["MIME-Version"]  # only the top level carries it (RFC 2045 §4)
        _as_parsed(part)
    return msg


def _as_parsed(part: Message) -> None:
    """Our encoded headers of ``part`` stored as the parser stores a header it reads: our folded
    lines through the policy's own ``header_source_parse``, in the same order. Read back, the
    header registry decodes them; written out, lines within 78 octets stay as they are
    (``refold_source="long"``)."""
    items = list(part.raw_items())
    if not any(isinstance(value, FoldedHeader) for _, value in items):
        return
    for name in dict.fromkeys(name.lower() for name, _ in items):
        del part[name]
    for name, value in items:
        if isinstance(value, FoldedHeader):
            name, value = part.policy.header_source_parse(value.fold(policy=part.policy).splitlines(keepends=True))
        part.set_raw(name, value)
