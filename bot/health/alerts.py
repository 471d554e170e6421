"""One mail to the officers per episode (the store is full, the mailbox stalled, the queue stuck).

An alert is sent straight through the transport, not through the outgoing queue: the queue may be
the thing that is stuck, and a full disk cannot take a new row. Until an alert could be sent it is
tried again on later passes; once sent it is not repeated until its episode ends (``clear``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

from bot.config.model import Settings
from outbox.delivery.sender import Transport
from outbox.delivery.smtp import DeliveryFailure
from outbox.mail.alert import compose_alert
from outbox.mail.headers import to_bytes

log = logging.getLogger("intake.health")

RETRY_S = 60  # a failed alert is tried again after this many seconds (the transport may be down)


class Alerts:
    """Alerts by key (``"store"``, ``"mailbox"``, ``"queue"``): each sent once per episode."""

    def __init__(self, settings: Settings, transport: Callable[[], Transport], loop_value: str):
        self.settings = settings
        self.transport = transport
        self.loop_value = loop_value
        self.sent: set[str] = set()
        self.retry_at: dict[str, float] = {}  # monotonic time before which a failed alert waits

    def recipients(self) -> list[tuple[str, str]]:
        """The lead officers, or every officer when none is marked lead."""
        officers = self.settings.office.officers
        chosen = [o for o in officers if o.lead] or list(officers)
        return [(o.name, o.email) for o in chosen]

    def raise_(self, key: str, subject: str, text: str, *, now: datetime) -> bool:
        """Send the alert ``key`` unless it was sent in this episode; True when it has been sent."""
        if key in self.sent:
            return True
        if time.monotonic() < self.retry_at.get(key, 0.0):
            return False
        to = self.recipients()
        if not to:
            log.error("alert %s not mailed (no [office] officers): %s", key, subject)
            self.sent.add(key)
            return True
        o = self.settings.outbox
        msg = compose_alert(from_name=o.from_name, from_addr=o.from_addr, domain=o.domain, to=to,
                            subject=subject, text=text, now=now, loop_value=self.loop_value)
        try:
            asyncio.run(self.transport().deliver(
                to_bytes(msg), mail_from=o.from_addr, rcpts=[a for _, a in to], msg_id=msg["Message-ID"]))
        except (DeliveryFailure, OSError) as e:
            log.error("alert %s could not be mailed yet (%s); tried again in %d s", key, e, RETRY_S)
            self.retry_at[key] = time.monotonic() + RETRY_S
            return False
        log.warning("alert %s mailed to %s: %s", key, ", ".join(a for _, a in to), subject)
        self.sent.add(key)
        return True

    def clear(self, key: str) -> None:
        """The episode ``key`` is over: the next one is mailed again."""
        self.sent.discard(key)
        self.retry_at.pop(key, None)
