"""The drop-folder watcher: takes each finished file or dossier sub-folder exactly once (issue 5).

A top-level file is one input; a top-level sub-folder is one dossier, taken when every file in it
is stable. Stable means unchanged (size, mtime, inode) for ``settle_s`` seconds and opening as
what it claims (``bot/sources/stability.py``). Temp, lock and OS side files are never taken
(``parsers.junk``). Filesystem events (inotify, or a polling observer for SMB/NFS shares that
deliver none) only make the next scan come sooner: the scan decides, and a full rescan runs at
start and every ``rescan_s`` seconds because events can be lost. After the ledger has archived an
input it is moved to ``processed_dir/<timestamp>-<name>`` so officers see what was taken.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from bot.config.lint import missing_drop_folders
from bot.crashpoints import crashpoint
from bot.errors import IntakeError
from bot.sources.stability import StabilityTracker, fsync_dir, looks_complete, signature
from bot.store.ledger import Ledger
from parsers.charsets import decode_os_name
from parsers.junk import is_junk_name

log = logging.getLogger("intake.folder")


class _Nudge(FileSystemEventHandler):
    """Turns any event under the root into "scan soon" and restarts the settle delay."""

    def __init__(self, watcher: FolderWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reads (including our own) change nothing
        for p in (event.src_path, getattr(event, "dest_path", "")):
            if p:
                self.watcher._nudge(Path(os.fsdecode(p)))


class FolderWatcher:
    """Watch ``root``; each stable entry goes into ``ledger`` once, then to ``processed_dir``.

    ``processed_dir=None`` leaves taken entries in place (remembered for this process's life; the
    ledger's content check keeps a restart from taking them twice). Times in seconds.
    ``on_new(input_id)`` is called after each accepted entry. ``tz``: the zone of the stamps
    (``YYYYMMDD-HHMMSS``) that prefix names in ``processed_dir``, the campaign's for the daemon
    (officers read them beside the digest's times); UTC when None.
    """

    def __init__(
        self,
        root: Path,
        ledger: Ledger,
        *,
        processed_dir: Path | None,
        settle_s: float = 2.0,
        polling: bool = False,
        rescan_s: float = 60.0,
        on_new: Callable[[str], None] | None = None,
        poll_interval_s: float = 1.0,
        incomplete_after_s: float = 600.0,
        tz: tzinfo | None = None,
    ) -> None:
        self.root = root
        self.tz = tz or UTC  # the processed folder's stamps: the campaign's zone (daemon)
        self.ledger = ledger
        self.processed_dir = processed_dir
        self.settle_s = settle_s
        self.polling = polling
        self.rescan_s = rescan_s
        self.on_new = on_new
        self.poll_interval_s = poll_interval_s
        # An entry unchanged this long is taken even if it does not open as what it claims.
        self.incomplete_after_s = incomplete_after_s
        self._tracker = StabilityTracker(settle_s)
        self._left: dict[str, object] = {}  # taken in place (processed_dir=None): name -> signature
        self._failed: dict[
            str, object
        ] = {}  # name -> signature that failed; retried at full rescans
        self._wake = threading.Event()
        self._lock = threading.Lock()

    # -- one pass ------------------------------------------------------------------------------

    def scan_once(self, now: float | None = None) -> int:
        """Look at every top-level entry and take the stable ones; return how many were taken.

        ``now`` is ``time.time()`` seconds (tests pass their own clock). Never raises on one bad
        entry: its error is logged and it is retried at the next full rescan.
        """
        now = time.time() if now is None else now
        taken = 0
        with self._lock:
            names: set[str] = set()
            try:
                entries = sorted(os.scandir(self.root), key=lambda e: e.name)
            except OSError as e:
                log.error("cannot list %s: %s", self.root, e)
                return 0
            for entry in entries:
                path = Path(entry.path)
                if self._ignored(path):
                    continue
                names.add(entry.name)
                sig = self._signature(path)
                if sig is None:
                    continue
                if self._left.get(entry.name) == sig or self._failed.get(entry.name) == sig:
                    continue
                if not self._tracker.is_settled(entry.name, sig, now):
                    continue
                if not self._complete(path):
                    if self._tracker.unchanged_for(entry.name, now) < self.incomplete_after_s:
                        log.debug("%s: unchanged but not complete yet", path.name)
                        continue
                    # Unchanged for so long that nobody is still writing it: take it, so the rules
                    # can tell the sender the file is damaged instead of leaving it unanswered.
                    log.warning("%s: still incomplete after %.0f s; taken as it is", path.name,
                                self.incomplete_after_s)
                if self._take(path, sig):
                    taken += 1
            self._tracker.keep_only(names)
            for table in (self._left, self._failed):
                for gone in set(table) - names:
                    del table[gone]
        return taken

    def _ignored(self, path: Path) -> bool:
        if is_junk_name(path.name) or path.is_symlink():
            return True
        try:
            mode = path.lstat().st_mode
        except OSError:
            return True
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return True  # a FIFO, socket or device: opening it could block the watcher for ever
        return self.processed_dir is not None and _same(path, self.processed_dir)

    def _signature(self, path: Path) -> object | None:
        """A file's (size, mtime, inode); a folder's sorted tuple of those for every real file."""
        if not path.is_dir():
            return signature(path)
        files = []
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = [d for d in dirnames if not is_junk_name(d)]
            for name in filenames:
                p = Path(dirpath, name)
                if is_junk_name(name) or p.is_symlink():
                    continue
                sig = signature(p)
                if sig is None:
                    return None
                files.append((p.relative_to(path).as_posix(), sig))
        return tuple(sorted(files)) or None  # an empty folder is still being filled

    def _complete(self, path: Path) -> bool:
        if not path.is_dir():
            return looks_complete(path)
        return all(
            looks_complete(p)
            for p in path.rglob("*")
            if p.is_file() and not p.is_symlink() and not is_junk_name(p.name)
        )

    def _take(self, path: Path, sig: object) -> bool:
        name = path.name  # as listed (the tables' key); shown decoded (GBK bytes from a Windows zip)
        shown = decode_os_name(name)
        try:
            input_id = self.ledger.accept_path(path, taken_at=datetime.now(UTC))
        except Exception:  # noqa: BLE001 - one bad entry must not stop the watcher (Mailman's shunt)
            log.exception("%s: could not be taken; retried at the next full rescan", shown)
            self._failed[name] = sig
            self._tracker.forget(name)
            return False
        crashpoint("after_take")
        self._tracker.forget(name)
        if self.processed_dir is None or not self._move_to_processed(path, shown):
            self._left[name] = sig  # not taken again while unchanged
        state = self.ledger.input_state(int(input_id))
        if state not in (None, "received"):  # the same content taken before (a copy dropped again)
            log.info("%s: the same content as input %s (%s), taken before: nothing new", shown, input_id, state)
        else:
            log.info("took %s as input %s", shown, input_id)
        if self.on_new is not None:
            try:
                self.on_new(input_id)
            except Exception:  # noqa: BLE001 - the callback must not undo an accepted input
                log.exception("on_new(%s) failed", input_id)
        return True

    def _move_to_processed(self, path: Path, shown: str) -> bool:
        """Move a taken entry to ``processed_dir`` under a stamped name; False (logged) when it
        cannot be moved: it is archived already, so it stays where it is."""
        assert self.processed_dir is not None
        stamp = datetime.now(self.tz).strftime("%Y%m%d-%H%M%S")
        n = 1
        target = self.processed_dir / processed_name(stamp, n, path.name)
        try:
            self.processed_dir.mkdir(parents=True, exist_ok=True)
            while target.exists():
                n += 1
                target = self.processed_dir / processed_name(stamp, n, path.name)
            try:
                os.rename(path, target)
            except OSError:
                # Another filesystem (a share mounted elsewhere): copy, then remove.
                import shutil

                shutil.move(str(path), str(target))
        except OSError as exc:
            log.error("%s: archived, but cannot be moved to %s (%s); left in the drop folder and "
                      "not taken again while it is unchanged", shown, self.processed_dir, exc)
            return False
        try:
            fsync_dir(self.processed_dir)
            fsync_dir(self.root)
        except OSError:
            pass
        return True

    # -- the loop ------------------------------------------------------------------------------

    def _nudge(self, path: Path) -> None:
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            return
        if not rel.parts:
            return
        top = rel.parts[0]
        if is_junk_name(top) or (
            self.processed_dir is not None and _same(self.root / top, self.processed_dir)
        ):
            return
        self._tracker.touch(top, time.time())
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Watch until ``stop`` is set; never raises on one bad entry.

        Scans at start, on events (``settle_s`` later), every ``settle_s / 4`` while something is
        settling, and in full every ``rescan_s``.
        """
        said = False
        while not self.root.is_dir():  # unmounted under a running daemon: wait, never create it
            if not said:
                log.error("drop folder %s is missing (unmounted share?); waiting for it", self.root)
                said = True
            if stop.wait(self.rescan_s):
                return
        observer = PollingObserver(timeout=self.poll_interval_s) if self.polling else Observer()
        observer.schedule(_Nudge(self), str(self.root), recursive=True)
        observer.start()
        log.info("watching %s (%s)", self.root, "polling" if self.polling else "events")
        try:
            last_full = time.monotonic()
            self._failed.clear()
            self._safe_scan()
            last_scan = time.monotonic()
            tick = max(0.05, self.settle_s / 4)
            while not stop.is_set():
                # Short waits so that ``stop`` is honoured within half a second.
                woke = self._wake.wait(0.5 if not self._tracker.pending else min(0.5, tick))
                self._wake.clear()
                if stop.is_set():
                    break
                now = time.monotonic()
                full_due = now - last_full >= self.rescan_s
                tick_due = self._tracker.pending and now - last_scan >= tick
                if not (woke or full_due or tick_due):
                    continue
                if full_due:
                    last_full = now
                    self._failed.clear()
                self._safe_scan()
                last_scan = now
        finally:
            observer.stop()
            observer.join(timeout=10)

    def _safe_scan(self) -> None:
        try:
            self.scan_once()
        except Exception:  # noqa: BLE001 - keep watching; the next scan retries
            log.exception("scan of %s failed", self.root)


class DropFolderMissing(FileNotFoundError, IntakeError):
    """A configured drop folder is not there (a typo, an unmounted share): never created for it."""


def require_drop_folders(folders: list[Path]) -> None:
    """Raise :class:`DropFolderMissing` naming every missing drop folder."""
    problems = missing_drop_folders(folders)
    if problems:
        raise DropFolderMissing("; ".join(problems))


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


NAME_MAX = 255  # bytes in one file name (ext4, xfs, btrfs)


def processed_name(stamp: str, n: int, name: str) -> str:
    """``name`` (as listed) in the processed folder: ``<stamp>-name``, ``<stamp>-<n>-name`` from
    the second of one second on, the name cut (its extension kept) so the whole stays within
    ``NAME_MAX`` bytes: an 80-character Chinese name is 240 bytes before the stamp."""
    prefix = f"{stamp}-" if n == 1 else f"{stamp}-{n}-"
    room = NAME_MAX - len(prefix.encode())
    if len(os.fsencode(name)) <= room:
        return prefix + name
    stem, dot, ext = name.rpartition(".")
    ext = dot + ext if dot and stem and len(os.fsencode(ext)) <= 16 else ""
    base = name[: len(name) - len(ext)]
    while base and len(os.fsencode(base + ext)) > room:
        base = base[:-1]
    return prefix + base + ext
