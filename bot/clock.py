"""The one clock: real time (aware, UTC), or the instant ``[campaign] now`` pins (tests, replays)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """What time it is for this instance.

    ``now()`` is the campaign's time: judging (deadlines), replies, digests and packets. A pinned
    instant stays fixed, so a replayed run writes the same dates. ``running()`` is the delivery
    clock: a pinned instant that stood still would never reach a retry time (and one far from the
    queue's timestamps would expire every retry at once), so it advances with the real seconds
    elapsed since the clock was made.
    """

    def __init__(self, pinned: datetime | None = None) -> None:
        self.pinned = pinned
        self._started = time.monotonic()

    def now(self) -> datetime:
        """The pinned instant, else real time (aware, UTC)."""
        return self.pinned or datetime.now(UTC)

    def running(self) -> datetime:
        """Real time, or the pinned instant plus the real seconds since this clock was made."""
        if self.pinned is None:
            return datetime.now(UTC)
        return self.pinned + timedelta(seconds=time.monotonic() - self._started)
