"""A short plain-text alert to officers (the desk is stuck, the store is full): one mail per episode."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage

from outbox.mail.finish import finish
from outbox.mail.headers import COMPOSE_POLICY


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
    msg = EmailMessage(policy=COMPOSE_POLICY)
    msg.set_content(text, charset="utf-8", cte="base64")
    return finish(msg, sender=(from_name, from_addr), to=to, subject=subject, now=now,
                  message_id=f"<alert.{secrets.token_hex(8)}@{domain}>", auto="auto-generated",
                  loop_value=loop_value)
