"""The daemon: watchers take inputs, the pipeline processes them, the sender delivers replies.

``run_once`` takes what is there now (drop folders, then the mailbox), processes it and delivers
the replies, the three overlapping (``bot/once_threads.py``); ``run_forever`` keeps the watchers
running in threads and wakes the processing loop whenever something is taken. SIGTERM/SIGINT
finish the current input and exit cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.config.model import Settings
from bot.crashpoints import crashpoint
from bot.digest.scheduler import start_scheduler
from bot.health.alerts import Alerts
from bot.health.faults import FaultGuard
from bot.health.notify import sd_notify, watchdog_interval_s
from bot.health.report import LAST_PASS, LAST_SYNC
from bot.health.stalls import StallWatch
from bot.officers import mail as officer_mail
from bot.once_threads import Courier, Fetch
from bot.processing.cloud_links import campaign_today, sweep_expired
from bot.processing.pipeline import Outcome, Pipeline
from bot.sources.folders import FolderWatcher, require_drop_folders
from bot.store.database import Store
from bot.store.faults import is_store_fault
from bot.store.lock import StoreLock
from bot.upstream import packet_intake
from outbox.delivery import queue as outgoing
from outbox.delivery.sender import Backoff, deliver_pending
from outbox.delivery.transport import FileTransport
from outbox.mail.template_files import load_template, subject
from rules.campaign import Campaign, load_campaign

log = logging.getLogger("intake.daemon")

IDLE_PASS_S = 5.0  # seconds between processing passes when nothing wakes the loop
# A pass that has not started a new input for this long is stuck: the systemd watchdog stops being
# fed (each input's parse has its own, much smaller budget).
STUCK_AFTER_S = 900.0


@dataclass
class RunReport:
    """What one pass did: inputs processed and replies delivered (paths for the file outbox)."""

    outcomes: list[Outcome] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class Intake:
    """One instance: its store, campaign, pipeline, watchers and transport."""

    def __init__(
        self, settings: Settings, campaign: Campaign | None = None, *, stop: threading.Event | None = None
    ):
        """``stop``: the daemon is starting (``intake run``): a store that cannot be opened now
        (disk full, locked) is waited for with backoff until ``stop`` is set, instead of exiting
        (systemd would restart it in a loop). Without it, the error is raised."""
        self.settings = settings
        self.campaign = campaign or load_campaign(settings.campaign.profile)
        self.wake = threading.Event()
        self._open_store(stop)

    def _open_store(self, stop: threading.Event | None) -> None:
        """Open the store and the pipeline with its interceptors (which create their tables)."""
        s = self.settings.store
        delay = 1.0
        alerts: Alerts | None = None
        while True:
            try:
                self.store = Store.open(s.db_path, s.archive_dir, busy_timeout_s=s.busy_timeout_s)
                self.pipeline = Pipeline(self.settings, self.store, self.campaign)
                self.pipeline.on_ready = self.wake.set  # a slow parse ended: commit it now
                # Tried before an input becomes dossiers: officers' commands, then packets from below.
                for make in (officer_mail.make_interceptor, packet_intake.make_interceptor):
                    self.pipeline.interceptors.append(make(self))
                return
            except Exception as exc:
                if stop is None or stop.is_set() or not is_store_fault(exc):
                    raise
                if getattr(self, "store", None) is not None:
                    self.store.close()
                log.error("the store cannot be opened (%s: %s); retrying in %.0f s",
                          type(exc).__name__, exc, delay)
                alerts = alerts or Alerts(self.settings, self.transport, "dossier-intake")
                alerts.raise_("store", subject("alert_store_open"),
                              load_template("alert_store_open.txt").substitute(
                                  cause=f"{type(exc).__name__}: {exc}").rstrip("\n"),
                              now=datetime.now(UTC))
                stop.wait(delay)
                delay = min(delay * 2, self.settings.health.fault_retry_max_s)

    def close(self) -> None:
        self.pipeline.close()
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
                    tz=ZoneInfo(self.campaign.timezone),
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
        return ImapWatcher(account, self.store, on_new=self._taken)

    def _taken(self, input_id: int | str) -> None:
        """A mail was archived: start reading it (it may overtake a slow parse), wake the loop."""
        try:
            self.pipeline.parse_early(input_id)
        finally:
            self.wake.set()

    def transport(self):
        """The configured outgoing transport (``file``: .eml files; ``smtp``: the relay), wrapped
        in DKIM signing when ``[smtp] dkim_*`` are set."""
        o = self.settings.outbox
        s = self.settings.smtp
        if o.transport == "file":
            inner = FileTransport(o.folder)
        else:
            from outbox.delivery.smtp import SmtpTransport

            inner = SmtpTransport(
                s.host,
                s.port,
                security=s.security,
                username=s.username or None,
                password=s.password.get_secret_value() or None,
                timeout_s=s.timeout_s,
            )
        if not s.dkim_enabled or s.dkim_key_file is None:
            return inner
        # Signed at hand-over, over the exact bytes sent (outbox/delivery/dkim.py).
        from outbox.delivery.dkim import DkimSigner, SigningTransport

        return SigningTransport(
            inner, DkimSigner.from_file(s.dkim_domain, s.dkim_selector, s.dkim_key_file)
        )

    def clock(self) -> datetime:
        """The delivery clock (``bot/clock.py`` ``Clock.running``)."""
        return self.pipeline.clock.running()

    def backoff(self) -> Backoff:
        o = self.settings.outbox
        return Backoff(first_s=o.retry_first_s, max_s=o.retry_max_s, give_up_after_s=o.retry_for_s)

    def next_retry_in_s(self) -> float | None:
        """Seconds until the earliest pending reply is due (0 when overdue), or None."""
        due = outgoing.next_due_at(self.store.conn)
        if due is None:
            return None
        return max(0.0, due - self.clock().timestamp())

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
        # As in the daemon, the stages overlap (bot/once_threads.py): mail is processed as it is
        # archived, and replies are handed over as they are queued.
        report = RunReport()
        imap = self.imap_watcher()
        fetch = Fetch(imap, on_done=self.wake.set) if imap is not None else None
        courier = Courier(self.deliver)
        try:
            while fetch is not None and not fetch.done.is_set():
                report.outcomes += self.pipeline.process_pending()
                self.wake.wait(timeout=IDLE_PASS_S)
                self.wake.clear()
            if fetch is not None:
                fetch.join()
                if imap.last_sync_at is not None:
                    self.store.set_meta(LAST_SYNC, datetime.fromtimestamp(imap.last_sync_at, UTC).isoformat())
            report.outcomes += self.pipeline.process_pending()
            self.sweep_links()
        finally:
            if fetch is not None:
                fetch.done.wait()  # a failed pass leaves the fetch to end its archive writes first
            report.delivered, report.failed = courier.finish()
        return report

    def sweep_links(self) -> list[str]:
        """Judge again for expired cloud-drive links (bot/processing/cloud_links.py)."""
        return sweep_expired(self.pipeline, self.store, self.pipeline.now())

    def sweep_links_daily(self) -> None:
        """``sweep_links`` on the first pass and then once per campaign day."""
        today = campaign_today(self.pipeline, self.pipeline.now())
        if getattr(self, "_swept_on", None) != today:
            self.sweep_links()
            self._swept_on = today

    def _health_pass(self, stalls: StallWatch, imap, guard: FaultGuard) -> None:  # noqa: ANN001
        """Record the pass and the store's state for ``intake status --json``; check for stalls."""
        self.store.set_meta(LAST_PASS, datetime.now(UTC).isoformat())
        stalls.check(last_sync_at=imap.last_sync_at if imap is not None else None,
                     queue_now=self.clock())

    def _next_retry_in_s_guarded(self) -> float | None:
        try:
            return self.next_retry_in_s()
        except Exception as exc:
            if is_store_fault(exc):
                return None
            raise

    def _start_watchdog(self, stop: threading.Event) -> threading.Thread | None:
        """Feed systemd's watchdog (``WatchdogSec=``) while the loop moves; None when not asked.

        Fed from a thread, since one pass may take longer than the interval; not fed once the
        loop has neither started a pass nor a new input for ``STUCK_AFTER_S`` (then systemd
        restarts the daemon, and the input being parsed has its attempt counted).
        """
        interval = watchdog_interval_s()
        if interval is None:
            return None

        def feed() -> None:
            while not stop.wait(interval):
                moved = max(self._loop_mark, self.pipeline.last_activity)
                if time.monotonic() - moved < STUCK_AFTER_S:
                    sd_notify("WATCHDOG=1")
                else:
                    log.error("the processing loop has not moved for %.0f s: watchdog not fed",
                              time.monotonic() - moved)

        thread = threading.Thread(target=feed, name="watchdog", daemon=True)
        thread.start()
        return thread

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
        self.pipeline.stop = stop  # parses the IMAP thread starts (parse_early) end on SIGTERM too
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
        alerts = Alerts(self.settings, self.transport, self.pipeline.replies.loop_value)
        guard = FaultGuard(alerts, retry_max_s=self.settings.health.fault_retry_max_s, clock=self.clock)
        stalls = StallWatch(self.settings, self.store, alerts)
        self._loop_mark = time.monotonic()
        watchdog = self._start_watchdog(stop)
        sd_notify("READY=1")
        log.info("running: %d watcher(s); store %s", len(threads), self.settings.store.db_path)
        while not stop.is_set():
            self._loop_mark = time.monotonic()
            # SIGTERM between inputs: the current one is finished, the rest wait for the restart.
            # A store fault (disk full, I/O error, a lock held too long) rolls back and waits; any
            # other failure of the pass is logged (each input records its own) and the loop goes on.
            try:
                guard.run("processing", lambda: self.pipeline.process_pending(stop, wait_slow=False), stop)
            except Exception:
                log.exception("processing pass failed; the next pass tries again")
            guard.run("links", self.sweep_links_daily, stop)
            try:
                self.deliver()
            except Exception as exc:  # a transport failure is retried on the next pass
                if guard.faults == 0 and not is_store_fault(exc):
                    log.exception("delivery pass failed")
            guard.run("health", lambda: self._health_pass(stalls, imap, guard), stop)
            due = self._next_retry_in_s_guarded()
            # Every few seconds at most: `intake reprocess` puts inputs back from another process.
            self.wake.wait(timeout=IDLE_PASS_S if due is None else min(IDLE_PASS_S, max(0.2, due + 0.05)))
            self.wake.clear()
        sd_notify("STOPPING=1")
        if watchdog is not None:
            watchdog.join(timeout=2)
        for scheduler in schedulers:
            scheduler.shutdown(wait=False)
        for t in threads:
            t.join(timeout=10)
        log.info("stopped")

