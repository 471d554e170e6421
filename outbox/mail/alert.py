"""A short plain-text alert to officers (the desk is stuck, the store is full): one mail per episode."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from outbox.mail.headers import address_header, set_header, text_header


def compose_alert(
    *,
    from_name: str,
    from_addr: str,
    domain: str,
    to: Sequence[tuple[str, str]],
    subject: str,
    text: str,
    now: datetime,
    loop_value: str,
) -> EmailMessage:
    """An alert from the desk to ``to`` (``(name, address)`` pairs): 7-bit headers, UTF-8 body.

    Marked ``Auto-Submitted: auto-generated`` (RFC 3834 §5) and with our loop header, so no
    auto-responder answers it and we never take it as a submission.
    """
    msg = EmailMessage()
    set_header(msg, "From", address_header("From", [(from_name, from_addr)]))
    set_header(msg, "To", address_header("To", list(to)))
    set_header(msg, "Subject", text_header("Subject", subject))
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<alert.{secrets.token_hex(8)}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Intake-Loop"] = loop_value
    msg.set_content(text, charset="utf-8", cte="base64")
    return msg
