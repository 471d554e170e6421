"""One processing process per store: an advisory ``fcntl.flock`` on ``<data_dir>/intake.lock``.

``intake run`` and ``intake run --once`` hold it while they take and process inputs; a second one
on the same store stops with :class:`StoreBusy` naming the holder (pid, command, since when)
instead of taking every input a second time. Read-only commands never take it. The kernel drops
the lock when the holder dies (a crash leaves no stale lock to clean up).
"""

from __future__ import annotations

import fcntl
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from rules.wording import in_zone

LOCK_NAME = "intake.lock"


class StoreBusy(OSError):
    """Another process holds the store; ``holder`` is what it wrote (``pid 123 since …``)."""

    def __init__(self, data_dir: Path, holder: str) -> None:
        self.data_dir, self.holder = data_dir, holder
        super().__init__(
            f"the store {data_dir} is busy: {holder or 'another process'} is processing it; "
            "wait for it to finish (or stop that daemon) and try again"
        )


class StoreLock:
    """Held from :meth:`acquire` to :meth:`release` (also a context manager); not re-entrant."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock without waiting; raises :class:`StoreBusy` when another process holds it."""
        if self._fd is not None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            raise StoreBusy(self.data_dir, holder) from None
        since = in_zone(datetime.now(UTC)).isoformat(timespec="seconds")
        command = " ".join(["intake", *sys.argv[1:]])[:200]
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({command}) since {since}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # nobody holds it now
        finally:
            os.close(fd)  # closing drops the flock

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
