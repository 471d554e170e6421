"""A local Maildir as a source (issue 5): for sites whose MTA delivers on this machine.

Each message delivered into ``<maildir>/new/`` is archived through the ledger (exact bytes,
fsync) and only then moved to ``cur/`` with the ``S`` (seen) flag, the Maildir way of saying
"taken" (https://cr.yp.to/proto/maildir.html). A crash between the two leaves the file in
``new/``; the next scan finds it already recorded (same name, same bytes) and only moves it.
Files in ``tmp/`` are deliveries in progress and never read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.crashpoints import crashpoint
from bot.sources.stability import fsync_dir
from bot.store.ledger import Ledger

log = logging.getLogger("intake.maildir")

ACCOUNT = "maildir"  # the ledger's account column for Maildir sources


def uid_for(name: str) -> int:
    """A stable 60-bit number for a Maildir unique name (the part before ``:2,``).

    Stands in for the IMAP UID in the ledger, so that taking the same file twice is a no-op.
    """
    unique = name.split(":", 1)[0]
    return int(hashlib.sha256(unique.encode("utf-8", "surrogateescape")).hexdigest()[:15], 16)


class MaildirSource:
    """Take each new message of the Maildir at ``root`` once; ``on_new(input_id)`` after each."""

    def __init__(
        self,
        root: Path,
        ledger: Ledger,
        *,
        rescan_s: float = 5.0,
        on_new: Callable[[str], None] | None = None,
    ) -> None:
        self.root = Path(root)
        self.ledger = ledger
        self.rescan_s = rescan_s
        self.on_new = on_new

    def scan_once(self) -> int:
        """Take every message now in ``new/``; return how many were archived.

        A message that cannot be archived (disk full) stays in ``new/`` for the next scan.
        """
        new = self.root / "new"
        try:
            names = sorted(e.name for e in os.scandir(new) if e.is_file() and not e.name.startswith("."))
        except FileNotFoundError:
            log.error("%s is not a Maildir (no new/ folder)", self.root)
            return 0
        taken = 0
        for name in names:
            try:
                taken += self._take(new / name)
            except Exception:  # noqa: BLE001 - one bad file must not stop the others
                log.exception("%s: could not be taken; retried at the next scan", name)
        return taken

    def _take(self, path: Path) -> int:
        uid = uid_for(path.name)
        folder = str(self.root)
        if self.ledger.is_known_uid(ACCOUNT, folder, 0, uid):
            self._mark_seen(path)  # archived before a crash, not yet moved
            return 0
        raw = path.read_bytes()
        received = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        input_id = self.ledger.accept_mail(
            raw, account=ACCOUNT, folder=folder, uidvalidity=0, uid=uid, received_at=received
        )
        crashpoint("after_take")
        self._mark_seen(path)
        log.info("took Maildir message %s as input %s (%d bytes)", path.name, input_id, len(raw))
        if self.on_new is not None:
            try:
                self.on_new(input_id)
            except Exception:  # noqa: BLE001 - the callback must not undo an accepted message
                log.exception("on_new(%s) failed", input_id)
        return 1

    def _mark_seen(self, path: Path) -> None:
        cur = self.root / "cur"
        cur.mkdir(exist_ok=True)
        base, _, flags = path.name.partition(":2,")
        flags = "".join(sorted(set(flags) | {"S"}))
        os.rename(path, cur / f"{base}:2,{flags}")
        fsync_dir(cur)
        fsync_dir(path.parent)

    def run(self, stop: threading.Event) -> None:
        """Scan every ``rescan_s`` seconds until ``stop`` is set; never raises."""
        log.info("reading Maildir %s", self.root)
        while not stop.is_set():
            try:
                self.scan_once()
            except Exception:  # noqa: BLE001 - keep reading
                log.exception("scan of %s failed", self.root)
            stop.wait(self.rescan_s)
