"""Loop defence: which incoming mails must never be answered, and which are bounces of our replies.

Sources: RFC 3834 §2 and §3.1 (Auto-Submitted, null senders, ``-request``/``owner-`` addresses),
RFC 3464 (delivery status notifications as ``multipart/report``), RFC 8058/2369 (``List-*``), and
what ticket systems (OTRS/Znuny ``PostMaster::PreFilterModule``, Zammad's ``auto_response``
detection, Request Tracker) learned: ``Precedence``, ``X-Autoreply``, ``X-Autorespond``,
Exchange's ``X-Auto-Response-Suppress``, out-of-office subjects, and a loop header of our own.
"""

from __future__ import annotations

import re

from parsers.facts import MailFacts

# Local parts that never read replies (RFC 3834 §3.1, RFC 2142, common no-reply names).
_ROBOT_LOCALS = re.compile(
    r"^(mailer-daemon|postmaster|listserv|majordomo|mdaemon|mail-daemon|"
    r"no-?reply|do-?not-?reply|bounces?|owner-.*|.*-request|.*-bounces?)$",
    re.I,
)
_AUTO_SUBJECT = re.compile(
    r"^\s*(自动回复|自动答复|系统退信|退信|Automatic reply|Auto(matic)?[- ]?reply|Auto:|"
    r"Out of (the )?office|Undeliverable|Undelivered Mail|Delivery Status Notification|"
    r"Mail delivery failed|Returned mail|Delivery Failure)",
    re.I,
)
# Out-of-office words anywhere in a subject (after 【】, "Re:" …): Chinese clients write
# "【自动回复】…", "回复：休假中" or "Re: Out of Office: …" as often as they start with them.
_AUTO_ANYWHERE = re.compile(
    r"(自动回复|自动答复|自動回覆|休假|Auto:|Automatic reply|Auto(matic)?[- ]?reply|Out of (the )?office)",
    re.I,
)
_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_REPORT_TYPES = (
    "message/delivery-status",
    "message/disposition-notification",
    "message/feedback-report",
)


def _h(mail: MailFacts, name: str) -> str | None:
    value = mail.headers.get(name)
    return None if value is None else value.strip()


def _local_part(addr: str) -> str:
    return addr.strip().strip("<>").rsplit("@", 1)[0]


def is_bounce(mail: MailFacts) -> bool:
    """True for a delivery status notification (a bounce) or a read/feedback report.

    Signs: ``Content-Type: multipart/report`` (RFC 6522/3464), a ``message/delivery-status`` part,
    ``X-Failed-Recipients`` (Exim), or a null/mailer-daemon sender with a bounce subject.
    """
    ctype = (_h(mail, "content-type") or "").lower()
    if ctype.startswith("multipart/report"):
        return True
    if any(a.content_type.lower() in _REPORT_TYPES for a in mail.attachments):
        return True
    if _h(mail, "x-failed-recipients"):
        return True
    sender = _local_part(mail.from_addr or "").lower()
    null = not mail.from_addr or _h(mail, "return-path") in ("<>", "")
    robot = sender in ("mailer-daemon", "postmaster", "mail-daemon")
    return (null or robot) and bool(_AUTO_SUBJECT.match(mail.subject or ""))


def should_not_reply(
    mail: MailFacts, *, own_addresses: set[str], loop_header_value: str
) -> str | None:
    """The reason not to answer ``mail``, or ``None`` when a reply is allowed.

    Reasons (stable slugs, checked in this order): ``bounce``, ``null_sender``, ``robot_sender``,
    ``own_address``, ``own_loop_header``, ``intake_reply`` (another intake instance's 回执/补正通知),
    ``auto_submitted``, ``precedence``, ``x_autoreply``, ``x_autorespond``,
    ``auto_response_suppress``, ``mailing_list``, ``auto_reply_subject``.
    ``own_addresses`` are compared lower-cased.
    """
    if is_bounce(mail):
        return "bounce"
    sender = (mail.from_addr or "").strip().strip("<>").lower()
    if not sender or _h(mail, "return-path") in ("<>", ""):
        return "null_sender"  # RFC 3834 §3.1: never answer an empty envelope sender
    if _ROBOT_LOCALS.match(_local_part(sender)):
        return "robot_sender"
    own = {a.strip().lower() for a in own_addresses}
    if sender in own:
        return "own_address"
    loop = _h(mail, "x-intake-loop")
    if loop is not None and loop_header_value in {v.strip() for v in loop.split(",")}:
        return "own_loop_header"
    x_loop = (_h(mail, "x-loop") or "").lower()
    if x_loop and any(a in x_loop for a in own):
        return "own_loop_header"
    if _h(mail, "x-intake-verdict") is not None:
        return "intake_reply"
    auto = _h(mail, "auto-submitted")
    if auto is not None and auto.split(";", 1)[0].strip().lower() != "no":
        return "auto_submitted"  # RFC 3834 §5: any value but "no"
    precedence = (_h(mail, "precedence") or "").lower()
    if precedence in _PRECEDENCE:
        return "precedence"
    if _is_set(_h(mail, "x-autoreply")):
        return "x_autoreply"
    if _is_set(_h(mail, "x-autorespond")):
        return "x_autorespond"
    suppress = {t.strip().lower() for t in (_h(mail, "x-auto-response-suppress") or "").split(",")}
    if suppress & {"all", "autoreply"}:
        return "auto_response_suppress"
    if any(name.startswith("list-") for name in mail.headers):
        return "mailing_list"
    if _AUTO_SUBJECT.match(mail.subject or "") or _AUTO_ANYWHERE.search(mail.subject or ""):
        return "auto_reply_subject"
    return None


def _is_set(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in ("no", "false", "0")


_TRACKING_HEADER = re.compile(r"^X-Intake-Tracking:\s*(\S+)", re.I | re.M)
_MESSAGE_ID = re.compile(r"^Message-ID:\s*(<[^>\s]+>)", re.I | re.M)


def bounced_reply(mail: MailFacts, raw: bytes | None = None) -> tuple[str | None, str | None]:
    """``(message_id, tracking)`` of our reply that a bounce returns, as far as it quotes it.

    Looks for our ``Message-ID`` and ``X-Intake-Tracking`` headers in the body and attachments of
    ``mail`` and, when the raw bytes are given, in every returned-headers part
    (``text/rfc822-headers``, ``message/rfc822``, RFC 3462), which ``MailFacts`` does not keep.
    Our Message-IDs begin with the tracking number (``outbox.mail.compose.new_message_id``).
    ``(None, None)`` when nothing is quoted.
    """
    from outbox.mail.tracking import parse_tracking

    texts = [mail.body_text or ""]
    texts += [a.data.decode("utf-8", "replace") for a in mail.attachments if a.size < 1_000_000]
    if raw is not None:
        texts.extend(_returned_headers(raw))
    msg_id = tracking = None
    for text in texts:
        if msg_id is None and (m := _MESSAGE_ID.search(text)):
            msg_id = m.group(1)
        if tracking is None and (t := _TRACKING_HEADER.search(text)):
            tracking = parse_tracking(t.group(1))
    if tracking is None and msg_id is not None:
        tracking = parse_tracking(msg_id)
    return msg_id, tracking


def _returned_headers(raw: bytes) -> list[str]:
    from email import message_from_bytes

    out: list[str] = []
    for part in message_from_bytes(raw).walk():
        ctype = part.get_content_type()
        if ctype in ("text/rfc822-headers", "message/rfc822-headers"):
            payload = part.get_payload(decode=True) or b""
            out.append(payload.decode("utf-8", "replace"))
        elif ctype == "message/rfc822" and isinstance(part.get_payload(), list):
            inner = part.get_payload()[0]
            out.append("".join(f"{k}: {v}\n" for k, v in inner.items()))
    return out
