"""The two helper threads of ``intake run --once``: the mailbox fetch and the courier.

``run --once`` overlaps its three stages as the daemon does (issue 16): mail is processed as it
is archived, while later mail is still fetched, and replies are handed over as they are queued,
while later inputs are still processed. Run one after the other, the cores waited ~1 s for the
fetch at the start and ~1 s for the hand-over at the end of a 300-mail run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("intake.daemon")

COURIER_PASS_S = 0.5  # seconds between two hand-over passes while inputs are still processed


class Fetch:
    """``watcher.sync_once()`` on its own thread, then ``watcher.close()``; ``on_done`` is called
    after both (it wakes the processing loop). :meth:`join` re-raises what the fetch raised."""

    def __init__(self, watcher: Any, on_done: Callable[[], None]) -> None:
        self.watcher = watcher
        self.done = threading.Event()
        self._on_done = on_done
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="imap-once", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.watcher.sync_once()
        except BaseException as exc:  # noqa: BLE001 - re-raised by join, in the caller's thread
            self._error = exc
        finally:
            try:
                self.watcher.close()
            finally:
                self.done.set()
                self._on_done()

    def join(self) -> None:
        """Wait for the fetch; raises what ``sync_once`` raised (e.g. ``ImapError``)."""
        self._thread.join()
        if self._error is not None:
            raise self._error


class Courier:
    """Hand-over passes on their own thread until :meth:`finish`.

    ``deliver()`` is one pass (``Intake.deliver``: delivered and failed descriptions). Passes run
    every ``COURIER_PASS_S`` seconds; :meth:`finish` then passes until one delivers nothing, as
    ``run --once`` always did, and returns (delivered, failed) of all passes in order. A failure
    of a pass (the transport, the store) is re-raised by :meth:`finish`.
    """

    def __init__(self, deliver: Callable[[], tuple[list[str], list[str]]]) -> None:
        self._deliver = deliver
        self.delivered: list[str] = []
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="courier-once", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                last = self._stop.wait(COURIER_PASS_S)
                delivered, failed = self._deliver()
                self.delivered += delivered
                self.failed += failed
                if last and not delivered:
                    return
        except BaseException as exc:  # noqa: BLE001 - re-raised by finish, in the caller's thread
            self._error = exc

    def finish(self) -> tuple[list[str], list[str]]:
        """Deliver what is left, stop, and return (delivered, failed); raises a pass's failure."""
        self._stop.set()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.delivered, self.failed
