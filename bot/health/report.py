"""The ``health`` object of ``intake status --json``, for monitoring (osTicket #6441, #5645: intake
that stalls silently for days).

``{"ok": bool, "last_sync_at": ISO | null, "last_pass_at": ISO | null, "queue_oldest_s": float |
null, "quarantined": int, "problems": [str]}``; ``ok`` is false when any problem is listed. Times
are UTC ISO 8601; ``queue_oldest_s`` in seconds. A daemon that stopped, or whose store cannot be
written (a full disk records nothing), shows as a ``last_pass_at`` older than ``alert_after_s``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.config.model import Settings
from bot.store.database import Store
from outbox.delivery import queue as outgoing

LAST_SYNC = "health.last_sync_at"  # the last successful mailbox sync (UTC ISO)
LAST_PASS = "health.last_pass_at"  # the daemon's last processing pass (UTC ISO)


def _age_s(iso: str | None, now: datetime) -> float | None:
    if not iso:
        return None
    try:
        return max(0.0, (now - datetime.fromisoformat(iso)).total_seconds())
    except ValueError:
        return None


def health_data(store: Store, settings: Settings, *, now: datetime | None = None) -> dict[str, Any]:
    """What a monitor needs to know, read from the store (works while the daemon runs)."""
    now = now or datetime.now(UTC)
    limit = settings.health.alert_after_s
    last_sync = store.get_meta(LAST_SYNC)
    last_pass = store.get_meta(LAST_PASS)
    oldest = outgoing.oldest_pending_at(store.conn)
    # The queue's times follow the pinned campaign clock when one is set (demo, rehearsal).
    queue_now = (settings.campaign.now or now).timestamp()
    queue_oldest_s = None if oldest is None else round(max(0.0, queue_now - oldest), 1)
    quarantined = sum(1 for row in store.inputs() if row.state == "quarantined")
    problems: list[str] = []
    if settings.imap.enabled:
        age = _age_s(last_sync, now)
        if age is None:
            problems.append("the mailbox has never been synced")
        elif age > limit:
            problems.append(f"no mailbox sync for {age:.0f} s")
    if queue_oldest_s is not None and queue_oldest_s > limit:
        problems.append(f"a reply has waited {queue_oldest_s:.0f} s in the outgoing queue")
    if quarantined:
        problems.append(f"{quarantined} input(s) quarantined (intake status; intake reprocess ID)")
    pass_age = _age_s(last_pass, now)
    if pass_age is not None and pass_age > limit:
        problems.append(f"the daemon has not completed a pass for {pass_age:.0f} s "
                        "(stopped, or the store cannot be written)")
    return {"ok": not problems, "last_sync_at": last_sync, "last_pass_at": last_pass,
            "queue_oldest_s": queue_oldest_s, "quarantined": quarantined, "problems": problems}
