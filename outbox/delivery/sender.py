"""Deliver what the outgoing queue holds: retry temporary failures with backoff, record the rest."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from outbox.delivery import queue
from outbox.delivery.smtp import PermanentFailure, TemporaryFailure

log = logging.getLogger("intake.outbox")

# From this many failed attempts in a row a temporary failure is a lasting one (the relay is down,
# the password changed): logged as WARNING so that someone looks, not as INFO among the retries.
LASTING_ATTEMPTS = 3


class Transport(Protocol):
    """What the sender needs: ``FileTransport`` and ``SmtpTransport`` both have it."""

    async def deliver(
        self, raw: bytes, *, mail_from: str, rcpts: list[str], msg_id: str
    ) -> str: ...


@dataclass(frozen=True)
class Backoff:
    """Retry schedule for temporary failures, seconds.

    Attempt ``n`` (1-based) waits ``min(max_s, first_s · factor^(n-1))``; a message still failing
    ``give_up_after_s`` after it was queued is marked ``failed`` (``expired``), like an MTA's
    queue lifetime (RFC 5321 §4.5.4.1 suggests 4–5 days; replies are worth less after 2).
    """

    first_s: float = 60.0
    factor: float = 2.0
    max_s: float = 3600.0
    give_up_after_s: float = 2 * 86400.0

    def delay_s(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.max_s, self.first_s * self.factor ** max(0, attempt - 1))


@dataclass
class DeliveryReport:
    """Ids of the queue rows by outcome of one :func:`deliver_pending` pass."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # permanent (5xx)
    expired: list[int] = field(default_factory=list)  # temporary failures past the give-up period
    errors: dict[int, str] = field(default_factory=dict)


async def deliver_pending(
    conn: sqlite3.Connection,
    transport: Transport,
    *,
    now: datetime,
    backoff: Backoff | None = None,
    limit: int = 100,
    hook: Callable[[str], None] | None = None,
) -> DeliveryReport:
    """Send every due message once; return what happened.

    Each acknowledged message is marked ``sent`` and committed right after the transport returns
    (before the next one is tried), so a restart resends only what was not acknowledged. A
    temporary failure is rescheduled by ``backoff``; once the server is unreachable the rest of
    this pass is rescheduled too rather than each waiting for its own timeout. Never raises for a
    delivery problem; other exceptions (database errors) propagate. ``hook(step)`` is called with
    ``"before_send"`` and ``"after_send"`` around each hand-over (fault-injection tests use it).
    """
    backoff = backoff or Backoff()
    report = DeliveryReport()
    connection_down = False
    for item in queue.pending(conn, now, limit=limit):
        if connection_down:
            _retry_or_expire(conn, item, "server unreachable in this pass", now, backoff, report)
            continue
        if hook is not None:
            hook("before_send")
        try:
            answer = await transport.deliver(
                item.raw, mail_from=item.mail_from, rcpts=item.rcpts, msg_id=item.message_id
            )
        except PermanentFailure as exc:
            queue.mark_failed(conn, item.id, "perm", str(exc), None, now=now)
            report.failed.append(item.id)
            report.errors[item.id] = str(exc)
            log.warning("%s %s: permanent failure: %s", _who(item), item.message_id, exc)
            continue
        except (TemporaryFailure, OSError) as exc:
            connection_down = getattr(exc, "code", 0) == 0
            _retry_or_expire(conn, item, str(exc), now, backoff, report)
            continue
        if hook is not None:
            hook("after_send")
        queue.mark_sent(conn, item.id, now=now, response=answer)
        report.sent.append(item.id)
        log.info("%s %s: handed over: %s", _who(item), item.message_id, answer)
    return report


def _who(item: queue.Outgoing) -> str:
    """What a log line names: the tracking number, else the kind (``digest``, ``officer_reply``)."""
    return item.tracking or item.kind


def _retry_or_expire(
    conn: sqlite3.Connection,
    item: queue.Outgoing,
    error: str,
    now: datetime,
    backoff: Backoff,
    report: DeliveryReport,
) -> None:
    age_s = now.timestamp() - item.created_at
    report.errors[item.id] = error
    if age_s >= backoff.give_up_after_s:
        queue.mark_failed(conn, item.id, "expired", error, None, now=now)
        report.expired.append(item.id)
        log.warning("%s %s: gave up after %.0f s: %s", _who(item), item.message_id, age_s, error)
        return
    attempts = item.attempts + 1
    retry_at = now + timedelta(seconds=backoff.delay_s(attempts))
    queue.mark_failed(conn, item.id, "temp", error, retry_at, now=now)
    report.retrying.append(item.id)
    if attempts >= LASTING_ATTEMPTS:
        log.warning(
            "%s %s: still not delivered after %d attempts over %.0f min (is the mail relay down?); "
            "next try at %s: %s", _who(item), item.message_id, attempts, age_s / 60,
            retry_at.isoformat(timespec="seconds"), error,
        )
        return
    log.info(
        "%s %s: temporary failure (attempt %d), next try at %s: %s", _who(item),
        item.message_id, attempts, retry_at.isoformat(timespec="seconds"), error,
    )
