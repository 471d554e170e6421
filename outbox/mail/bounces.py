"""Reading a bounce: which of our mails it returns, to whom it did not go, and why.

Two shapes arrive:

- **DSN** (RFC 3464 inside an RFC 6522 ``multipart/report``), as Postfix, Exim, Exchange and most
  MTAs send: per-recipient ``Action``, ``Final-Recipient``/``Original-Recipient``, ``Status``
  (RFC 3463 enhanced code) and ``Diagnostic-Code``; the returned mail follows as
  ``text/rfc822-headers`` or ``message/rfc822``.
- **Free text**, as Chinese providers send when their SMTP relays for us and the far end refuses
  (163.com ``系统退信``, QQ ``退信``): a plain or HTML body naming the remote answer, e.g.
  ``550 Mail content denied`` (QQ's content filter), ``554 DT:SPM`` (163's spam verdict),
  ``550 User not found``, with the original headers quoted in the body or attached.

Our mails are found by the ``Message-ID`` and ``X-Intake-Tracking`` headers quoted back
(:func:`outbox.mail.loops.bounced_reply`). Only failures count: a DSN whose recipients are all
``delayed``, ``delivered``, ``relayed`` or ``expanded`` is no bounce (``final`` is False).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from typing import Literal

from outbox.mail.loops import bounced_reply, is_bounce
from parsers.facts import MailFacts

Form = Literal["dsn", "text"]
Cause = Literal["content_rejected", "no_such_user", "mailbox_full", "other"]

CAUSE_ZH: dict[str, str] = {
    "content_rejected": "对方邮件服务器按垃圾邮件或内容拦截拒收",
    "no_such_user": "收件邮箱地址不存在",
    "mailbox_full": "对方邮箱已满",
    "other": "对方邮件服务器拒收",
}

# A remote SMTP answer quoted in a free-text bounce: "550 Mail content denied", "554 DT:SPM 163 …",
# "550 5.1.1 <a@b>: Recipient address rejected".
_SMTP_LINE = re.compile(r"(?<![\d.])([45]\d\d)(?:[ -]+(\d\.\d{1,3}\.\d{1,3}))?[ -]+([^\r\n]{0,300})")
# Anchored at the start of a word and bounded (RFC 5321 §4.5.3.1: 64-octet local part, 255-octet
# domain): unanchored and unbounded, a long word without "@" took quadratic time.
_ADDRESS = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
_QUOTED_TO = re.compile(r"^To:\s*(.+(?:\r?\n[ \t].+)*)", re.I | re.M)
_FAILED = {"failed"}


@dataclass(frozen=True)
class Bounce:
    """One returned mail of ours, as far as the bounce tells.

    ``message_id``/``tracking``: of our mail (None when not quoted); ``rcpt``: the address it did
    not reach, lower-cased (None when not said); ``status``: the RFC 3463 code (``5.7.1``) or
    None; ``reason``: the remote server's words (``550 Mail content denied``), at most 300
    characters; ``form``: ``dsn`` or ``text``; ``final``: True for a failure (not a delay);
    ``cause``: a coarse class for the officers (:data:`CAUSE_ZH`).
    """

    message_id: str | None
    tracking: str | None
    rcpt: str | None
    status: str | None
    reason: str
    form: Form
    final: bool
    cause: Cause


def read_bounce(mail: MailFacts, raw: bytes) -> Bounce | None:
    """The bounce in ``mail`` (``raw``: its exact bytes), or None when it is no bounce
    (:func:`outbox.mail.loops.is_bounce`)."""
    if not is_bounce(mail):
        return None
    message_id, tracking = bounced_reply(mail, raw)
    parsed = message_from_bytes(raw, policy=compat32)
    fields = _delivery_status(parsed)
    if fields:
        return _from_dsn(fields, message_id, tracking)
    return _from_text(mail, message_id, tracking)


def _delivery_status(msg: Message) -> list[dict[str, str]]:
    """The per-recipient field groups of the first ``message/delivery-status`` part (RFC 3464 §2),
    lower-case names; [] when there is none."""
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        groups: list[dict[str, str]] = []
        if isinstance(payload, list):  # the email package parses the blocks as messages
            blocks = [{k.lower(): " ".join(str(v).split()) for k, v in b.items()} for b in payload]
        else:  # base64 or otherwise encoded: parse the text ourselves
            text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
            blocks = [_fields(block) for block in re.split(r"\r?\n\s*\r?\n", text)]
        groups = [b for b in blocks if "action" in b or "final-recipient" in b]
        return groups
    return []


def _fields(block: str) -> dict[str, str]:
    out: dict[str, str] = {}
    name = None
    for line in block.splitlines():
        if line[:1] in (" ", "\t") and name:
            out[name] += " " + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            name = name.strip().lower()
            out[name] = value.strip()
    return out


def _address_field(value: str | None) -> str | None:
    """``rfc822; a@b`` → ``a@b`` (RFC 3464 §2.3.2)."""
    if not value:
        return None
    addr = value.split(";", 1)[-1].strip().strip("<>").lower()
    return addr or None


def _from_dsn(fields: list[dict[str, str]], message_id: str | None, tracking: str | None) -> Bounce:
    failed = [f for f in fields if f.get("action", "").lower() in _FAILED]
    chosen = (failed or fields)[0]
    status = (chosen.get("status") or "").split()[0] if chosen.get("status") else None
    diagnostic = chosen.get("diagnostic-code", "")
    reason = diagnostic.split(";", 1)[-1].strip() if diagnostic else ""
    if not reason:
        reason = f"Status {status}" if status else "delivery failed"
    rcpt = _address_field(chosen.get("original-recipient")) or _address_field(
        chosen.get("final-recipient")
    )
    return Bounce(
        message_id=message_id,
        tracking=tracking,
        rcpt=rcpt,
        status=status,
        reason=reason[:300],
        form="dsn",
        final=bool(failed),
        cause=classify(status, reason),
    )


def _from_text(mail: MailFacts, message_id: str | None, tracking: str | None) -> Bounce:
    body = mail.body_text or ""
    texts = [body] + [
        a.data.decode("utf-8", "replace") for a in mail.attachments if a.size < 1_000_000
    ]
    reason, status = "", None
    for text in texts:
        if m := _SMTP_LINE.search(text):
            status = m.group(2)
            reason = " ".join(f"{m.group(1)} {m.group(2) or ''} {m.group(3)}".split())
            break
    if not reason:  # no SMTP answer quoted: the provider's first sentence after the greeting
        lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
        reason = next((ln for ln in lines if "退" in ln or "fail" in ln.lower()), lines[0] if lines else "")
    return Bounce(
        message_id=message_id,
        tracking=tracking,
        rcpt=_quoted_recipient(texts, mail),
        status=status,
        reason=reason[:300],
        form="text",
        final=True,  # providers send free text only for failures
        cause=classify(status, reason),
    )


def _quoted_recipient(texts: list[str], mail: MailFacts) -> str | None:
    """The ``To:`` of the returned headers when quoted, else the first address in the text that is
    neither the bounce's sender nor its recipient (that is, us)."""
    for text in texts:
        if m := _QUOTED_TO.search(text):
            if found := _ADDRESS.search(m.group(1)):
                return found.group(0).lower()
    ours = {a.lower() for a in [mail.from_addr, *mail.to, *mail.cc] if a}
    for text in texts:
        for found in _ADDRESS.finditer(text):
            addr = found.group(0).lower()
            if addr not in ours and addr.split("@")[0] not in ("postmaster", "mailer-daemon"):
                return addr
    return None


def classify(status: str | None, reason: str) -> Cause:
    """A coarse cause from the RFC 3463 code and the server's words (RFC 3463 §3.2–3.8; the
    providers' own codes: QQ ``Mail content denied``, 163 ``DT:SPM``/``DT:SUM``, ``MI:…``)."""
    text = reason.lower()
    if (status or "").startswith(("5.7.", "4.7.")) or any(
        k in text for k in ("content denied", "dt:spm", "dt:sum", "spam", "垃圾", "content rejected",
                            "blocked", "policy", "拦截")
    ):
        return "content_rejected"
    if status in ("5.1.1", "5.1.0", "5.1.10") or any(
        k in text for k in ("user not found", "user unknown", "no such user", "does not exist",
                            "mailbox not found", "不存在", "unknown user", "invalid recipient")
    ):
        return "no_such_user"
    if status in ("5.2.2", "4.2.2") or any(
        k in text for k in ("quota", "mailbox full", "mailbox is full", "空间不足", "已满")
    ):
        return "mailbox_full"
    return "other"
