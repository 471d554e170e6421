"""The daemon: watchers take inputs, the pipeline processes them, the sender delivers replies.

``run_once`` takes what is there now (drop folders, then the mailbox), processes it and delivers
the replies; ``run_forever`` keeps the watchers running in threads and wakes the processing loop
whenever something is taken. SIGTERM/SIGINT finish the current input and exit cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.config.model import Settings
from bot.crashpoints import crashpoint
from bot.digest.scheduler import start_scheduler
from bot.officers import mail as officer_mail
from bot.processing.pipeline import Outcome, Pipeline
from bot.sources.folders import FolderWatcher, require_drop_folders
from bot.store.database import Store
from bot.store.lock import StoreLock
from bot.upstream import packet_intake
from outbox.delivery import queue as outgoing
from outbox.delivery.sender import Backoff, deliver_pending
from outbox.delivery.transport import FileTransport
from rules.campaign import Campaign, load_campaign

log = logging.getLogger("intake.daemon")

IDLE_PASS_S = 5.0  # seconds between processing passes when nothing wakes the loop


@dataclass
class RunReport:
    """What one pass did: inputs processed and replies delivered (paths for the file outbox)."""

    outcomes: list[Outcome] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class Intake:
    """One instance: its store, campaign, pipeline, watchers and transport."""

    def __init__(self, settings: Settings, campaign: Campaign | None = None):
        self.settings = settings
        self.store = Store.open(settings.store.db_path, settings.store.archive_dir)
        self.campaign = campaign or load_campaign(settings.campaign.profile)
        self.pipeline = Pipeline(settings, self.store, self.campaign)
        self.wake = threading.Event()
        self._started = time.monotonic()
        # Tried before an input becomes dossiers: officers' commands, then packets from below.
        for make in (officer_mail.make_interceptor, packet_intake.make_interceptor):
            self.pipeline.interceptors.append(make(self))

    def close(self) -> None:
        self.store.close()

    def store_lock(self) -> StoreLock:
        """The one-process-per-store lock ``run``/``run --once`` hold (``StoreBusy`` when taken)."""
        return StoreLock(self.settings.store.data_dir)

    def folder_watchers(self, *, once: bool = False) -> list[FolderWatcher]:
        """One watcher per drop folder; ``once``: everything present now counts as finished
        (no settle delay, and an entry that does not open as it claims is taken for the rules)."""
        d = self.settings.drop
        watchers = []
        require_drop_folders(d.folders)
        for root in d.folders:
            watchers.append(
                FolderWatcher(
                    root,
                    self.store,
                    processed_dir=d.processed_dir,
                    settle_s=0.0 if once else d.settle_s,
                    polling=d.polling,
                    rescan_s=d.rescan_s,
                    on_new=lambda _id: self.wake.set(),
                    incomplete_after_s=0.0 if once else d.incomplete_after_s,
                )
            )
        return watchers

    def maildir_sources(self) -> list:
        """One ``MaildirSource`` per ``[maildir] folders`` entry."""
        from bot.sources.maildir import MaildirSource

        m = self.settings.maildir
        return [
            MaildirSource(root, self.store, rescan_s=m.rescan_s, on_new=lambda _id: self.wake.set())
            for root in m.folders
        ]

    def imap_watcher(self):
        """The IMAP watcher for ``[imap]``, or None when the mailbox is not enabled."""
        if not self.settings.imap.enabled:
            return None
        from bot.sources.imap.watcher import ImapAccount, ImapWatcher

        i = self.settings.imap
        account = ImapAccount(
            name=i.name,
            host=i.host,
            port=i.port,
            security=i.security,
            username=i.username,
            password=i.password.get_secret_value(),
            folders=list(i.folders),
            post_action=i.post_action,
            oauth2_token=i.oauth2_token.get_secret_value() if i.oauth2_token else None,
            timeout_s=i.timeout_s,
            idle_s=i.idle_s,
            resync_s=i.resync_s,
            max_message_bytes=i.max_message_bytes,
            ca_file=i.ca_file,
            backoff_min_s=i.backoff_min_s,
            backoff_max_s=i.backoff_max_s,
        )
        return ImapWatcher(account, self.store, on_new=lambda _id: self.wake.set())

    def transport(self):
        """The configured outgoing transport (``file``: .eml files; ``smtp``: the relay)."""
        o = self.settings.outbox
        if o.transport == "file":
            return FileTransport(o.folder)
        from outbox.delivery.smtp import SmtpTransport

        s = self.settings.smtp
        return SmtpTransport(
            s.host,
            s.port,
            security=s.security,
            username=s.username or None,
            password=s.password.get_secret_value() or None,
            timeout_s=s.timeout_s,
        )

    def clock(self) -> datetime:
        """The delivery clock: real time, or the pinned ``[campaign] now`` advancing from start.

        A pinned clock that stood still would never reach a retry time (and one far from the
        queue's timestamps would expire every retry at once), so it runs with the real seconds.
        """
        pinned = self.settings.campaign.now
        if pinned is None:
            return datetime.now(UTC)
        return pinned + timedelta(seconds=time.monotonic() - self._started)

    def backoff(self) -> Backoff:
        o = self.settings.outbox
        return Backoff(first_s=o.retry_first_s, max_s=o.retry_max_s, give_up_after_s=o.retry_for_s)

    def next_retry_in_s(self) -> float | None:
        """Seconds until the earliest pending reply is due (0 when overdue), or None."""
        row = self.store.conn.execute(
            "SELECT MIN(next_attempt_at) FROM outgoing WHERE status='pending'"
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return max(0.0, row[0] - self.clock().timestamp())

    def deliver(self) -> tuple[list[str], list[str]]:
        """Send what is queued; returns (delivered descriptions, failed descriptions)."""
        report = asyncio.run(
            deliver_pending(
                self.store.conn,
                self.transport(),
                now=self.clock(),
                backoff=self.backoff(),
                hook=crashpoint,
            )
        )
        return [self._describe(i) for i in report.sent], [
            f"{self._describe(i)}: {report.errors.get(i, '')}" for i in report.failed + report.expired
        ]

    def _describe(self, out_id: int) -> str:
        item = outgoing.get(self.store.conn, out_id)
        if item is None:
            return str(out_id)
        where = ""
        if self.settings.outbox.transport == "file":
            where = f" → {FileTransport(self.settings.outbox.folder).path_for(item.message_id)}"
        what = f"{item.kind} {item.tracking}" if item.tracking else item.kind
        return f"{what} to {', '.join(item.rcpts)}{where}"

    def run_once(self) -> RunReport:
        """Take everything present now, process it, deliver the replies.

        Raises ``DropFolderMissing`` when a configured drop folder is not there and ``StoreBusy``
        when another process is processing the same store.
        """
        require_drop_folders(self.settings.drop.folders)
        with self.store_lock():
            return self._run_once()

    def _run_once(self) -> RunReport:
        for w in self.folder_watchers(once=True):
            # The first pass records each entry's signature, the second takes the unchanged ones.
            w.scan_once()
            w.scan_once()
        for m in self.maildir_sources():
            m.scan_once()
        imap = self.imap_watcher()
        if imap is not None:
            try:
                imap.sync_once()
            finally:
                imap.close()
        report = RunReport(outcomes=self.pipeline.process_pending())
        # One delivery pass sends at most a batch; keep going while a pass still sends something.
        while True:
            delivered, failed = self.deliver()
            report.delivered += delivered
            report.failed += failed
            if not delivered:
                break
        return report

    def run_forever(self, stop: threading.Event | None = None) -> None:
        """Watch, process and deliver until SIGTERM/SIGINT (or ``stop`` is set).

        Raises ``DropFolderMissing``/``StoreBusy`` before starting anything (see :meth:`run_once`).
        """
        require_drop_folders(self.settings.drop.folders)
        with self.store_lock():
            self._run_forever(stop)

    def _run_forever(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: (stop.set(), self.wake.set()))
        threads = []
        for w in self.folder_watchers():
            threads.append(threading.Thread(target=w.run, args=(stop,), name=f"drop:{w.root}", daemon=True))
        for m in self.maildir_sources():
            threads.append(threading.Thread(target=m.run, args=(stop,), name=f"maildir:{m.root}", daemon=True))
        imap = self.imap_watcher()
        if imap is not None:
            threads.append(threading.Thread(target=imap.run, args=(stop,), name="imap", daemon=True))
        for t in threads:
            t.start()
        schedulers = [start_scheduler(self, stop)]
        log.info("running: %d watcher(s); store %s", len(threads), self.settings.store.db_path)
        while not stop.is_set():
            # SIGTERM between inputs: the current one is finished, the rest wait for the restart.
            self.pipeline.process_pending(stop)
            try:
                self.deliver()
            except Exception:  # a transport failure is retried on the next pass
                log.exception("delivery pass failed")
            due = self.next_retry_in_s()
            # Every few seconds at most: `intake reprocess` puts inputs back from another process.
            self.wake.wait(timeout=IDLE_PASS_S if due is None else min(IDLE_PASS_S, max(0.2, due + 0.05)))
            self.wake.clear()
        for scheduler in schedulers:
            scheduler.shutdown(wait=False)
        for t in threads:
            t.join(timeout=10)
        log.info("stopped")

