"""The one clock: real time (aware, UTC), or the instant ``[campaign] now`` pins (tests, replays)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    """What time it is for this instance.

    ``now()`` is the campaign's time: judging (deadlines), replies, digests and packets. A pinned
    instant stays fixed, so a replayed run writes the same dates. ``running()`` is the delivery
    clock: a pinned instant that stood still would never reach a retry time (and one far from the
    queue's timestamps would expire every retry at once), so it advances with the real seconds
    elapsed since the clock was made.
    """

    def __init__(self, pinned: datetime | None | Callable[[], datetime | None] = None) -> None:
        """``pinned``: the instant, or a function returning it (read at each call, so a setting
        changed while running, e.g. by a test, is seen); None: real time."""
        self._pinned = pinned if callable(pinned) else (lambda: pinned)
        self._started = time.monotonic()

    @property
    def pinned(self) -> datetime | None:
        return self._pinned()

    def now(self) -> datetime:
        """The pinned instant, else real time (aware, UTC)."""
        return self.pinned or datetime.now(UTC)

    def running(self) -> datetime:
        """Real time, or the pinned instant plus the real seconds since this clock was made."""
        pinned = self.pinned
        if pinned is None:
            return datetime.now(UTC)
        return pinned + timedelta(seconds=time.monotonic() - self._started)
