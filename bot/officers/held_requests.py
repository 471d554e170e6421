"""A held confirmation request, released late, is valid from its release.

Past the daily cap (``bot/officers/mail.py``, ``NOTES_PER_OFFICER_PER_DAY``) a confirmation
request is held (``outbox/delivery/held.py``) until an officer releases it. Its token was made
valid for ``[office] confirmation_valid_s`` seconds from when the command mail arrived, so a
request released a day later reached the officer already expired, and the officer's genuine
confirmation ran nothing ("token expired"). Before such a request is released, its token's
validity starts again from the release, and the expiry time written in the mail (text and HTML
parts) is rewritten to match. The token itself is not changed; only one still pending is renewed.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.store import confirmations
from outbox.delivery import held

KIND = "officer_confirm"  # the held_replies kind of a confirmation request
EXPIRES_FORMAT = "%Y-%m-%d %H:%M"  # how a request states its expiry (bot/officers/mail.py writes it)


def renew_before_release(
    conn: sqlite3.Connection, held_id: int, *, now: datetime, valid_s: float, tz: ZoneInfo
) -> bool:
    """Restart the validity of held reply ``held_id``'s token from ``now`` (``valid_s`` seconds),
    when it is a confirmation request still held whose token is still pending; rewrite the held
    mail's expiry time (local time in ``tz``). Returns True when renewed. Runs in the caller's
    transaction, before ``outbox.delivery.held.release``."""
    msg = held.held_message(conn, held_id, KIND)
    if msg is None:
        return False
    token = confirmations.find_token(str(msg.get("Subject", "")))
    request = confirmations.get_request(conn, token) if token else None
    if request is None or request.state != "pending":
        return False
    expires = now + timedelta(seconds=valid_s)
    if expires <= request.expires_at:
        return False
    if not confirmations.renew(conn, token, expires):
        return False
    # "…小时内（2023-11-30 10:00 前）有效" (templates officer_confirm.txt/.html): only the expiry,
    # not another time that happens to read the same (the command mail's date, say)
    old = request.expires_at.astimezone(tz).strftime(EXPIRES_FORMAT) + " 前"
    new = expires.astimezone(tz).strftime(EXPIRES_FORMAT) + " 前"
    for part in msg.walk():
        if part.get_content_maintype() == "text" and not part.is_attachment():
            content = part.get_content()
            if old in content:
                part.set_content(content.replace(old, new), subtype=part.get_content_subtype())
    held.replace_message(conn, held_id, msg)
    return True
