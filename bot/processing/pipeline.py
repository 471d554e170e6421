"""Processing one taken input: parse, thread onto a dossier, judge, queue the reply, in one commit.

Each input is processed from its archived copy. Everything a step decides (the new dossier
version, its findings, the queued reply, the input's new state) is committed in a single SQLite
transaction, so a crash anywhere leaves either nothing or everything: on restart the input is
simply processed again, and the reply's dedupe key makes a second reply impossible.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from bot.clock import Clock
from bot.config.model import Settings
from bot.crashpoints import crashpoint
from bot.errors import IntakeError
from bot.processing.bounces import BounceDesk
from bot.processing.oversize import answer_oversize, is_oversize
from bot.processing.parse_worker import ParseJob
from bot.processing.replies import ReplyBuilder
from bot.processing.supervisor import ParseInterrupted, ParseSupervisor
from bot.processing.threading_rules import Claim, merge_versions, thread_claim, thread_key
from bot.processing.work_folders import WorkFolders
from bot.progress import track
from bot.store.database import DossierRow, InputRow, Store
from bot.store.decisions import waived_codes
from bot.store.facts_codec import loads_facts
from bot.store.faults import StoreUnavailable, is_store_fault
from bot.store.trust import record_event
from outbox.mail.recipients import plain_address, reply_address
from parsers.archives import ArchiveLimits
from parsers.facts import DossierFacts, MailFacts
from parsers.ffprobe_locate import locate_ffprobe
from parsers.materials import ParseOptions
from rules.campaign import Campaign
from rules.cross_dossier import Neighbours, rows_kept
from rules.engine import carried_tables, evaluate
from rules.finding import Finding
from rules.verdict import verdict
from rules.wording import STORAGE_QUOTA

log = logging.getLogger("intake.pipeline")

# Inputs parsed ahead of the one being committed, each in a worker process watched by a thread
# (bot/processing/supervisor.py): a batch uses every core, and one hostile file costs its budget.
PARSE_WORKERS = min(4, os.cpu_count() or 1)  # parses running at once (slow ones not counted)
PARSE_AHEAD = 2 * PARSE_WORKERS
MAX_SLOW = 4  # slow parses (past [budgets] hold_s) running besides them, within their budgets
# An input still parsing this long (seconds) while one behind it is read lets that one go first
# (at most [budgets] hold_s): a receipt never waits long behind a hostile file (issue 15).
OVERTAKE_AFTER_S = 0.5
POLL_BEHIND_S = 0.05  # seconds between two looks at the inputs behind


@dataclass
class Outcome:
    """What processing one input produced (for the CLI's table and the tests)."""

    input_id: int
    input_name: str
    trackings: list[str] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    skipped: str | None = None  # why no dossier was made (an auto-reply, a duplicate)
    error: str | None = None
    # taken and kept, waiting for what completes it (a packet's other parts, an officer's
    # confirmation): ``skipped`` says what; not an input set aside
    waiting: bool = False


def with_ffprobe(options: ParseOptions) -> ParseOptions:
    """``options`` with the ffprobe to use already located, here (once per process: its
    ``-version`` run is cached) rather than in each parse worker."""
    tool = locate_ffprobe(options.ffprobe, bundled=options.ffprobe_bundled)
    return replace(options, ffprobe_tool=tool)


def parse_options(settings: Settings) -> ParseOptions:
    p, b = settings.parsing, settings.budgets
    return ParseOptions(
        ffprobe=p.ffprobe,
        ffprobe_bundled=p.ffprobe_bundled,
        probe_timeout_s=p.probe_timeout_s,
        convert_timeout_s=p.convert_timeout_s,
        archive_limits=ArchiveLimits(
            max_members=p.archive_max_members,
            max_total_bytes=p.archive_max_total_bytes,
            max_ratio=p.archive_max_ratio,
            max_depth=p.archive_max_depth,
            max_growth=b.archive_growth,
            growth_floor_bytes=b.archive_growth_floor_bytes,
        ),
        ffprobe_max_bytes=b.ffprobe_bytes,
    )


class Pipeline:
    """Turns taken inputs into judged dossier versions and queued replies."""

    def __init__(self, settings: Settings, store: Store, campaign: Campaign):
        self.settings = settings
        self.store = store
        self.campaign = campaign
        self.options = parse_options(settings)
        self.replies = ReplyBuilder(settings, campaign)
        self.clock = Clock(lambda: self.settings.campaign.now)
        self.supervisor = ParseSupervisor(settings.budgets)
        self.stop: threading.Event | None = None  # set by process_pending: SIGTERM kills parses
        # A parse holds a slot until it ends or turns slow: a hostile file never takes the cores
        # that the inputs behind it need.
        self._slots = threading.Semaphore(PARSE_WORKERS)
        self._pool: ThreadPoolExecutor | None = None  # parse threads, kept across passes
        self.work_folders = WorkFolders(settings.store.work_dir)  # removed beside this thread
        self._pool_lock = threading.Lock()
        # Inputs still parsing after hold_s, committed by a later pass once read.
        self._slow: list[tuple[InputRow, Future[list[DossierFacts]]]] = []
        self.on_ready: Callable[[], None] | None = None  # called when a slow parse ends (daemon: wake)
        self.bounces = BounceDesk(store, self.replies)
        # Handlers tried before an input becomes dossiers (officers' commands by mail, packets
        # from the level below): each returns an Outcome when it took the input, else None.
        self.interceptors: list[Callable[[InputRow, list[DossierFacts]], Outcome | None]] = []
        # Decoded facts of current versions, by version row id: each version is read and decoded
        # once, not once per input judged after it (that was O(N²) decoding over a batch).
        self._by_version: dict[int, DossierFacts] = {}
        self._rollbacks_seen = store.rollbacks
        # Each current dossier's part of the cross-dossier view (rules.cross_dossier.rows_kept),
        # by id of its facts; pruned to the current ones when every verdict is refreshed.
        self._view_rows: dict[int, tuple] = {}
        # The current dossiers indexed by USCC, applicant name and form file, by version row id:
        # a new dossier is judged among those that can change its findings (_judge).
        self._neighbours = Neighbours(campaign)
        self._in_batch = False  # process_pending refreshes every verdict once, at the end
        # Parses started and not yet committed, by input id (process_pending and parse_early,
        # which the IMAP watcher's thread calls: guarded by _ahead_lock).
        self._ahead: dict[int, Future[list[DossierFacts]]] = {}
        # Inputs a pass has taken out of _ahead and not yet committed (being committed, or slow):
        # parse_early leaves them alone. Guarded by _ahead_lock too.
        self._taken: set[int] = set()
        self._ahead_lock = threading.Lock()
        self.last_activity = time.monotonic()  # when the last input was started (the watchdog)

    def now(self) -> datetime:
        """The campaign's time (``bot/clock.py``): ``[campaign] now`` when pinned, else real (UTC)."""
        return self.clock.now()

    def process_pending(self, stop: threading.Event | None = None, *, wait_slow: bool = True) -> list[Outcome]:
        """Process every input still waiting, oldest first; one bad input never stops the rest.

        Inputs are parsed ``PARSE_AHEAD`` ahead in ``PARSE_WORKERS`` threads and committed one
        by one in order; an input still parsing after ``[budgets] hold_s``, or after
        ``OVERTAKE_AFTER_S`` once an input behind it has been read, is set aside and committed
        once read (within its budget), so the inputs behind it are not held up by a hostile
        file. ``wait_slow``: wait for those before returning (``run_once``, the CLI);
        the daemon passes False and its next pass commits them (``on_ready`` wakes it).
        Cross-dossier verdicts of the earlier dossiers are refreshed once at the end of the
        batch (each new version is still judged against every current dossier).
        ``stop`` (SIGTERM in the daemon) is checked between inputs: once set, the input being
        committed is finished, the rest stay pending (parses running are killed).
        """
        slow_ids = {row.id for row, _ in self._slow}
        pending = [row for row in self.store.pending_inputs() if row.id not in slow_ids]
        outcomes: list[Outcome] = []
        self._in_batch = True
        self.stop = stop
        hold_s = self.settings.budgets.hold_s
        try:
            # Every input of the pass is judged against the same current dossiers: their own
            # part of the cross-dossier view is computed once for the pass.
            with rows_kept(self._view_rows):
                pool = self._executor()
                ahead = self._ahead
                self._drop_stale_parses({row.id for row in pending})
                outcomes += self._finish_ready()
                for i, row in enumerate(track(pending, "processing inputs")):
                    if stop is not None and stop.is_set():
                        self._drop_ahead()
                        break
                    with self._ahead_lock:
                        for nxt in pending[i : i + PARSE_AHEAD]:
                            if nxt.id not in ahead:
                                ahead[nxt.id] = pool.submit(self._parse, nxt)
                        parsed = ahead.pop(row.id)
                        self._taken.add(row.id)
                    outcomes += self._finish_ready()
                    # Behind it: the inputs after it in this pass, and mail taken since (parse_early).
                    if not _wait(parsed, hold_s, self._ahead_futures):
                        log.info("input %s (%s) still parsing: the inputs behind it that are read go first",
                                 row.id, row.name)
                        self._slow.append((row, parsed))
                        parsed.add_done_callback(self._slow_done)
                        continue
                    outcomes.append(self.process(row, parsed=parsed))
                # Within their budgets; killed at once on stop.
                while self._slow and (wait_slow or (stop is not None and stop.is_set())):
                    wait([f for _, f in self._slow], return_when=FIRST_COMPLETED)
                    outcomes += self._finish_ready()
                outcomes += self._finish_ready()
        finally:
            self._in_batch = False
        if any(o.trackings for o in outcomes):
            with self.store.transaction():
                self._refresh_verdicts()
        return outcomes

    def parse_early(self, input_id: int | str) -> None:
        """Start reading input ``input_id`` now (the IMAP watcher calls this, from its thread, as
        each mail is archived): it is read while later mail is fetched, and while the input
        before it is still parsing it can go first (``process_pending``), which commits it in
        order. At most ``PARSE_AHEAD`` parses wait this way."""
        input_id = int(input_id)
        with self._ahead_lock:
            if len(self._ahead) >= PARSE_AHEAD or input_id in self._ahead or input_id in self._taken:
                return
            # Read under the lock: a pass may have taken and committed the input between the
            # archive and this call (the IMAP thread calls it after the server's post-action);
            # _taken is pruned of an input only once it is committed (_drop_stale_parses).
            row = self.store.get_input(input_id)
            if row.state != "received":
                return
            self._ahead[input_id] = self._executor().submit(self._parse, row)
        log.debug("input %s (%s): reading starts while later mail is fetched", row.id, row.name)

    def _drop_stale_parses(self, pending: set[int]) -> None:
        """Forget parses of inputs no longer waiting (handled meanwhile, e.g. by ``reprocess``)."""
        with self._ahead_lock:
            unknown = [i for i in self._ahead if i not in pending]
            slow = {row.id for row, _ in self._slow}
            self._taken = {i for i in self._taken if i in pending or i in slow}
        for input_id in unknown:
            if self.store.get_input(input_id).state != "received":
                with self._ahead_lock:
                    future = self._ahead.pop(input_id, None)
                if future is not None:
                    future.cancel()

    def _drop_ahead(self) -> None:
        """On stop: cancel the parses read ahead, and wait for those already running, which end
        at once (``ParseInterrupted``), then discard their work folders. None outlives the pass:
        one left running would read the next pass's ``stop`` (a fresh event) and go on parsing
        beside that pass's own parse of the same input, in the same work folder, until one of
        them removed it under the other."""
        with self._ahead_lock:
            dropped = list(self._ahead.items())
            self._ahead.clear()
        for _, future in dropped:
            future.cancel()
        wait([future for _, future in dropped])
        work_root = self.settings.store.work_dir
        for input_id, _ in dropped:
            self.work_folders.discard(work_root / f"input-{input_id}", work_root / f"input-{input_id}-parsed")

    def _ahead_futures(self) -> list[Future[list[DossierFacts]]]:
        with self._ahead_lock:
            return list(self._ahead.values())

    def _finish_ready(self) -> list[Outcome]:
        """Process the slow inputs whose parse has ended (removed from ``_slow``), in order."""
        ready = [(row, f) for row, f in self._slow if f.done()]
        for item in ready:
            self._slow.remove(item)
        return [self.process(row, parsed=f) for row, f in ready]

    def _slow_done(self, _future: Future) -> None:
        if self.on_ready is not None:
            self.on_ready()

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(PARSE_WORKERS + MAX_SLOW, thread_name_prefix="parse")
            return self._pool

    def close(self) -> None:
        """Stop the parse threads (running parses end within their budgets, or at once on stop)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self.supervisor.close()
        self.work_folders.close()

    def _parse(self, row: InputRow) -> list[DossierFacts]:
        """The dossiers of one input, read from its archived copy in a worker process.

        The attempt is counted (and committed) before the worker starts, so a kill -9 during a
        hostile parse counts (once the parse has run past ``hold_s``: ``Store.start_parse``);
        past ``[budgets] max_parse_attempts`` unfinished parses the input is quarantined instead
        (``InputQuarantined``). Raises ParseInterrupted on ``stop``.
        """
        while not self._slots.acquire(timeout=0.2):
            if self.stop is not None and self.stop.is_set():
                raise ParseInterrupted(row.name)
        held = [True]

        def free() -> None:
            if held[0]:
                held[0] = False
                self._slots.release()

        def slow() -> None:  # past hold_s: the slot goes to the inputs behind, the attempt counts
            free()
            with contextlib.suppress(Exception):  # a store fault here only loses the mark
                self.store.mark_parse_slow(row.id)

        try:
            if self.stop is not None and self.stop.is_set():
                raise ParseInterrupted(row.name)
            if not self.store.start_parse(row.id, self.settings.budgets.max_parse_attempts):
                raise InputQuarantined(self.store.get_input(row.id).error or "")
            work_root = self.settings.store.work_dir
            src = self.store.materialise(row, work_root)
            job = self._job(
                src, self.parsed_folder(row.id),
                # A pinned clock (demo, rehearsal) stands for the time of receipt too.
                received_at=self.settings.campaign.now or row.received_at, display_name=row.name,
            )  # fmt: skip
            try:
                dossiers = self.supervisor.parse(
                    job, self.stop, slow_after_s=self.settings.budgets.hold_s, on_slow=slow
                )
            except ParseInterrupted:
                raise  # not finished: the attempt stays counted, the input is read again on restart
            except StoreUnavailable:  # the disk's fault, not the input's: uncount it if the disk lets us
                with contextlib.suppress(Exception):
                    self.store.finish_parse(row.id)
                raise
            except Exception:
                self.store.finish_parse(row.id)
                raise
        finally:
            free()
        self.store.finish_parse(row.id)
        return dossiers

    def parsed_folder(self, input_id: int) -> Path:
        """The work folder input ``input_id``'s worker wrote into (decoded attachments, extracted
        members); it lasts until the input is processed (``process``)."""
        return self.settings.store.work_dir / f"input-{input_id}-parsed"

    def _job(self, src: Path, workdir: Path, *, received_at: datetime | None, display_name: str) -> ParseJob:
        return ParseJob(src=src, workdir=workdir, options=with_ffprobe(self.options),
                        received_at=received_at, display_name=display_name)  # fmt: skip

    def read_folder(self, src: Path, workdir: Path, *, received_at: datetime | None, display_name: str) -> DossierFacts:
        """The dossier in folder ``src``, read in a worker under ``[budgets]`` like any input
        (a packet's dossiers from the level below: bot/upstream/packet_intake.py).

        Raises ParseInterrupted (stop), ParseOverBudget, ParseFailed (bot/processing/supervisor.py).
        """
        job = self._job(src, workdir, received_at=received_at, display_name=display_name)
        return self.supervisor.parse(job, self.stop)[0]

    def process(self, row: InputRow, parsed: Future[list[DossierFacts]] | None = None) -> Outcome:
        """Process one input; failures are recorded on it (quarantined after 3 attempts).

        ``parsed``: its dossiers being read in a worker (``process_pending``); None reads them here.
        """
        outcome = Outcome(row.id, row.name)
        self.last_activity = time.monotonic()  # the daemon's watchdog sees the pass move on
        work_root = self.settings.store.work_dir
        try:
            limit = self.settings.imap.max_message_bytes
            if is_oversize(self.store, row, limit):
                outcome.skipped = answer_oversize(self.store, self.replies, row, limit_bytes=limit, now=self.now())
                return outcome
            dossiers = parsed.result() if parsed is not None else self._parse(row)
            self.keep_materials(dossiers, sender=_sender_of(dossiers))
            desk = desk_problem(dossiers)
            if desk is not None:
                raise DeskProblem(desk)
            # An oversize mail (only its header block archived) that an officer reprocesses is
            # judged as it is, even without materials: the officer asked for a verdict.
            asked = row.kind == "mail" and row.source == "imap" and row.size > limit
            self._commit(row, dossiers, outcome, judge_anyway=asked)
        except ParseInterrupted:  # SIGTERM: the input stays pending, its attempt counted
            outcome.error = "interrupted"
            log.info("input %s (%s): parse interrupted, read again after the restart", row.id, row.name)
        except InputQuarantined as exc:
            outcome.error = f"quarantined: {exc}"
            log.error("input %s (%s) quarantined: %s", row.id, row.name, exc)
        except DeskProblem as exc:  # retrying cannot help: quarantined at once, nobody answered
            self.store.quarantine(row.id, f"DeskProblem: {exc}")
            log.error("input %s (%s) quarantined: %s", row.id, row.name, exc)
            outcome.error = f"DeskProblem: {exc}"
        except Exception as exc:  # recorded on the input; the daemon goes on
            if is_store_fault(exc):
                # A full disk or a lock says nothing about this input: count nothing, let the
                # daemon back off and retry the pass (bot/health/faults.py).
                raise StoreUnavailable(f"input {row.id}: {exc}") from exc
            state = self.store.record_failure(row.id, "".join(traceback.format_exception(exc)))
            log.exception("input %s (%s) failed; now %s", row.id, row.name, state)
            outcome.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.work_folders.discard(work_root / f"input-{row.id}", work_root / f"input-{row.id}-parsed")
        return outcome

    def keep_materials(self, dossiers: list[DossierFacts], *, sender: str | None = None) -> None:
        """Archive every material's exact bytes by sha256, so packets can be built from the archive
        long after the work folder is gone (a file already archived costs nothing).

        ``sender``: counted against ``[budgets] sender_daily_bytes``; over it, none of the input's
        new files is stored, each is marked ``storage_quota`` (FILE_TOO_COSTLY) instead.
        """
        new = {
            m.sha256: m
            for d in dossiers
            for m in d.materials
            if m.path is not None and m.path.is_file() and not self.store.archive.has(m.sha256)
        }
        cap = self.settings.budgets.sender_daily_bytes
        day = self.now().date().isoformat()
        adding = sum(m.size for m in new.values())
        if sender and cap and new and self.store.storage_used(sender, day) + adding > cap:
            log.warning("sender %s over the daily storage budget: %d new bytes refused", sender, adding)
            for d in dossiers:
                for m in d.materials:
                    if m.sha256 in new:
                        m.readable, m.problem, m.path = False, STORAGE_QUOTA, None
                        m.detail = f"the sender's materials today would pass {cap} bytes; not stored"
            return
        for m in new.values():
            self.store.archive.adopt(m.path)
        if sender and adding:
            self.store.add_storage(sender, day, adding)

    def _commit(
        self, row: InputRow, dossiers: list[DossierFacts], outcome: Outcome, *, judge_anyway: bool = False
    ) -> None:
        first_mail = dossiers[0].mail if dossiers else None
        if row.kind == "mail" and first_mail is not None and self._take_bounce(row, first_mail, outcome):
            return
        for intercept in self.interceptors:
            taken = intercept(row, dossiers)
            if taken is not None:
                outcome.trackings, outcome.verdicts = taken.trackings, taken.verdicts
                outcome.skipped, outcome.waiting = taken.skipped, taken.waiting
                return
        mail = dossiers[0].mail if dossiers else None
        no_reply = self.replies.no_reply_reason(mail) if mail else None
        if mail is not None:
            claims = [thread_claim(d, self.store) for d in dossiers]
            foreign = next((c for c in claims if c is not None and not c.honoured), None)
            if foreign is not None and not any(d.materials for d in dossiers):
                # A question or a forged command quoting a tag: nothing to refuse, kept for officers.
                why = f"reply to {foreign.tracking} without attachments"
                with self.store.transaction():
                    self.store.close_input(row.id, "ignored", why)
                outcome.skipped = why
                return
            if foreign is not None:
                self._refuse_claim(row, mail, foreign, no_reply, outcome)
                return
            if not judge_anyway and not any(_has_materials(d) for d in dossiers) and not any(claims):
                self._no_materials(row, mail, no_reply, outcome)
                return
        if no_reply and not any(_has_materials(d) for d in dossiers):
            with self.store.transaction():
                self.store.close_input(row.id, "ignored", no_reply)
            outcome.skipped = no_reply
            log.info("input %s ignored: %s", row.id, no_reply)
            return
        now = self.now()
        with self.store.transaction():
            placed: list[tuple[DossierRow | None, DossierFacts, int]] = []
            same_as: dict[int, int] = {}  # part → earlier version whose files it repeats
            no_files: str | None = None
            for part, facts in enumerate(dossiers):
                if self.store.version_for_input(row.id, part) is not None:
                    continue  # already committed by an earlier run
                earlier = self._find_thread(facts, row.id)
                if earlier is not None and not facts.materials:
                    # A reply without files (a question, a thank-you, a forged command) is no new
                    # version: it is kept in the archive and shown to officers, not judged.
                    no_files = f"reply to {earlier.tracking} without attachments"
                    continue
                if earlier is not None:
                    versions = self.store.versions_of(earlier.id)
                    previous = loads_facts(versions[-1]["facts"])
                    facts = merge_versions(previous, facts)
                    if _files(facts) == _files(previous):
                        same_as[part] = versions[-1]["version"]
                placed.append((earlier, facts, part))
            if not placed and no_files:
                self.store.close_input(row.id, "ignored", no_files)
                outcome.skipped = no_files
                return
            if not placed:
                self.store.mark_processed(row.id)
                return
            replaced = {earlier.id for earlier, _, _ in placed if earlier is not None}
            judged = self._judge([f for _, f, _ in placed], replaced)
            waived = waived_codes(self.store)
            for (earlier, facts, part), findings in zip(placed, judged, strict=True):
                if earlier is not None:  # an officer's waivers on this dossier (bot/store/decisions.py)
                    findings = without_waived(findings, waived.get(earlier.tracking, set()))
                v = verdict(findings)
                tracking, version = self._save_version(row, part, earlier, facts, findings, v, now)
                outcome.trackings.append(tracking)
                outcome.verdicts.append(v)
                if no_reply is None:
                    self.replies.enqueue(
                        self.store.conn, facts, findings, v, tracking, version,
                        dedupe_key=f"reply:{row.id}:{part}", now=now, same_as=same_as.get(part),
                    )
            if not self._in_batch:
                self._refresh_verdicts()
            self.store.mark_processed(row.id)
            crashpoint("before_commit")
        crashpoint("after_commit")
        log.info("input %s processed: %s", row.id, ", ".join(
            f"{t} {v}" for t, v in zip(outcome.trackings, outcome.verdicts, strict=True)))

    def _refuse_claim(self, row: InputRow, mail, claim: Claim, no_reply: str | None, outcome: Outcome) -> None:  # noqa: ANN001
        """A stranger's mail names another sender's dossier: nothing changes (issue 14).

        The sender is told the number is not theirs (to the From address, never a Reply-To), the
        dossier's owner is warned once a day, and the officers see it in the digest (安全提示).
        """
        now = self.now()
        sender = (mail.from_addr or "").strip().lower()
        owner = self.store.dossier_by_tracking(claim.tracking)
        with self.store.transaction():
            record_event(self.store.conn, "foreign_tag", at=now, tracking=claim.tracking, sender=sender,
                         input_id=row.id, detail=claim.how)
            done = [self.replies.notice(
                self.store.conn, "foreign_tag", to=plain_address(sender), original=mail,
                dedupe_key=f"foreign-tag:{row.id}", now=now, tracking=claim.tracking,
            ) if no_reply is None else f"foreign_tag: not sent ({no_reply})"]
            if owner is not None:
                when = f"{now.month}月{now.day}日 {now:%H:%M}"
                done.append(self.replies.notice(
                    self.store.conn, "owner_warning", to=plain_address(owner.sender), original=None,
                    dedupe_key=f"owner-warning:{claim.tracking}:{now.date().isoformat()}", now=now,
                    tracking=claim.tracking, values={"sender": sender or "未知发件人", "when": when},
                ))
            # The sender stays out of the log (contact details never go to logs); the input's
            # record and the digest name it for the officers.
            why = (f"{claim.how} names {claim.tracking}, but the sender is not one of its "
                   f"correspondents: nothing changed; " + "; ".join(done))
            self.store.close_input(row.id, "ignored", f"{why} (from {sender})")
        outcome.skipped = why
        log.warning("input %s: %s", row.id, why)

    def _no_materials(self, row: InputRow, mail, no_reply: str | None, outcome: Outcome) -> None:  # noqa: ANN001
        """A mail without any material that continues no dossier makes no dossier (issue 14):
        at most one short note per sender per day, none to an auto-reply."""
        now = self.now()
        to = reply_address(mail)
        with self.store.transaction():
            if no_reply is not None:
                done = f"no_materials: not sent ({no_reply})"
            else:
                done = self.replies.notice(
                    self.store.conn, "no_materials", to=to, original=mail,
                    dedupe_key=f"no-materials:{to}:{now.date().isoformat()}", now=now,
                )
            why = f"no materials and no known dossier: no dossier made; {done}"
            self.store.close_input(row.id, "ignored", why)
        outcome.skipped = why
        log.info("input %s: %s", row.id, why)

    def _take_bounce(self, row: InputRow, mail: MailFacts, outcome: Outcome) -> bool:
        """A bounce of one of our mails is recorded on its dossier and alerts the officers
        (``bot/processing/bounces.py``); it is never answered. True when ``mail`` was a bounce."""
        if self.replies.no_reply_reason(mail) != "bounce":
            return False
        with self.store.transaction():
            taken = self.bounces.take(row, mail, self.now())
            if taken is None:
                return False
            recorded, note = taken
            state = "processed" if recorded else "ignored"
            self.store.close_input(row.id, state, None if state == "processed" else note)
        outcome.skipped = note
        log.info("input %s: %s", row.id, note)
        return True

    def _find_thread(self, facts: DossierFacts, input_id: int) -> DossierRow | None:
        """The dossier a resubmission belongs to: the one an officer filed the input under
        (``intake fetched``), else by tracking tag, In-Reply-To, or sender + project."""
        tracking = self.store.filed_under(input_id) or thread_key(facts, self.store)
        return self.store.dossier_by_tracking(tracking) if tracking else None

    def _judge(self, new: list[DossierFacts], replaced: set[int]) -> list[list[Finding]]:
        """Findings for the new dossiers, judged together with every other current dossier.

        ``replaced``: ids of dossiers whose current version the new ones supersede (a
        resubmission is a new version, never a duplicate of its own earlier version).
        """
        current = [
            c for c in self.store.current_version_ids()
            if c.dossier_id not in replaced and c.state == "open"  # a rejected dossier counts for nothing
        ]
        if not any(carried_tables(d) for d in new):  # a summary table is matched against all
            # Only the new dossiers' neighbours can change their findings (rules.cross_dossier.
            # Neighbours: the same findings as among all, without judging among N every time).
            if self._neighbours.campaign is not self.campaign:
                self._neighbours = Neighbours(self.campaign)
            for c in current:
                self._neighbours.add(c.version_id, self._version_facts(c.version_id))
            near = self._neighbours.around(new, {c.version_id for c in current})
            current = [c for c in current if c.version_id in near]
        others = [self._version_facts(c.version_id) for c in current]
        # Only the new dossiers are judged; the others are the background of the cross-dossier
        # rules (everyone is judged again once per batch, _refresh_verdicts).
        evaluation = evaluate(
            others + new, self.campaign, level=self.settings.office.level, now=self.now(),
            targets=range(len(others), len(others) + len(new)),
        )
        return evaluation.per_dossier[len(others):]

    def _save_version(
        self,
        row: InputRow,
        part: int,
        earlier: DossierRow | None,
        facts: DossierFacts,
        findings: list[Finding],
        v: str,
        now: datetime,
    ) -> tuple[str, int]:
        """Store the version; a new dossier gets the next tracking number of this office."""
        tracking = earlier.tracking if earlier else self.replies.tracking(self.store.next_seq("tracking"))
        version = self.store.save_version(row.id, part, tracking, facts, findings, v, now)
        return tracking, version

    def _version_facts(self, version_id: int) -> DossierFacts:
        """The decoded facts of version row ``version_id``, read and decoded once per pipeline (a
        version's facts never change; only its findings and verdict are judged again; the rules
        never mutate facts)."""
        if self._rollbacks_seen != self.store.rollbacks:  # row ids of rolled-back versions come again
            self._by_version.clear()
            self._rollbacks_seen = self.store.rollbacks
        facts = self._by_version.get(version_id)
        if facts is None:
            facts = self._by_version[version_id] = loads_facts(self.store.version_facts(version_id))
        return facts

    def refresh_verdicts(self) -> None:
        """Judge every current dossier again (after an officer's decision); call in a transaction."""
        self._refresh_verdicts()

    def _refresh_verdicts(self) -> None:
        """Judge every current dossier again, so cross-dossier findings stay true for all of them.

        Replies already sent are not re-sent; the digest and the packet read these fresh results.
        A rule that raises on one stored dossier does not stop the others: that dossier keeps
        its stored findings and verdict, and the error is logged with its tracking number.
        """
        # Each version's facts are read and decoded once (_version_facts): a refresh after every
        # pass reads ids, not every dossier's facts again.
        current = [c for c in self.store.current_version_ids() if c.state == "open"]
        if not current:
            return
        facts = [self._version_facts(c.version_id) for c in current]
        self._by_version = {c.version_id: f for c, f in zip(current, facts, strict=True)}
        live = {id(f) for f in facts}
        self._view_rows = {k: kept for k, kept in self._view_rows.items() if k in live}
        self._neighbours.keep_only(self._by_version)
        level, now = self.settings.office.level, self.now()
        try:
            with rows_kept(self._view_rows):
                per_dossier = evaluate(facts, self.campaign, level=level, now=now).per_dossier
        except Exception:  # noqa: BLE001 - find the dossier it fails on; judge the rest alone
            per_dossier = []
            for i, c in enumerate(current):
                try:
                    per_dossier.append(evaluate(facts, self.campaign, level=level, now=now,
                                                targets=[i]).per_dossier[i])
                except Exception:  # noqa: BLE001 - recorded in the log, verdict kept as stored
                    log.exception("judging %s (input %s) again failed; its stored verdict stays",
                                  c.tracking, c.input_id)
                    per_dossier.append(None)
        waived = waived_codes(self.store)
        for c, findings in zip(current, per_dossier, strict=True):
            if findings is None:
                continue
            findings = without_waived(findings, waived.get(c.tracking, set()))
            new_v = verdict(findings)
            self.store.rejudge(c.dossier_id, c.version_id, findings, new_v)


def _wait(future: Future, seconds: float, behind: Callable[[], list[Future]] | None = None) -> bool:
    """True once ``future`` is done (result or exception), False after ``seconds``, or after
    ``OVERTAKE_AFTER_S`` once one of ``behind()`` (the parses of the inputs after it) is done."""
    deadline = time.monotonic() + seconds
    timeout = min(OVERTAKE_AFTER_S, seconds)
    while True:
        try:
            future.exception(timeout=timeout)
            return True
        except CancelledError:
            return True
        except FuturesTimeout:
            left = deadline - time.monotonic()
            if left <= 0 or (behind is not None and any(f.done() for f in behind() if f is not future)):
                return False
            timeout = min(left, POLL_BEHIND_S)


class InputQuarantined(IntakeError):
    """Too many parses of the input started and never finished: it was set aside."""


class DeskProblem(IntakeError):
    """This machine, not the applicant, prevents judging the input (e.g. ffprobe is missing)."""


def desk_problem(dossiers: list[DossierFacts]) -> str | None:
    """Why the desk cannot judge these dossiers (a video nobody could probe), or None.

    Answering anyway would send a 回执 for a video whose duration was never checked.
    """
    for d in dossiers:
        for m in d.materials:
            problem = m.problem or (m.video.problem if m.video else None)
            if problem == "ffprobe_missing":
                return (
                    f"ffprobe is missing, the video 「{m.name}」 cannot be checked: install ffmpeg"
                    " (or set [parsing] ffprobe), then `intake reprocess ID`"
                )
    return None


def _sender_of(dossiers: list[DossierFacts]) -> str | None:
    """The mail address that sent these dossiers (None for a drop folder)."""
    for d in dossiers:
        if d.mail is not None and d.mail.from_addr:
            return d.mail.from_addr
        if d.sender:
            return d.sender
    return None


def _has_materials(d: DossierFacts) -> bool:
    return any(m.role in ("application_form", "scanned_copy", "video") for m in d.materials)


def without_waived(findings: list[Finding], waived: set[str]) -> list[Finding]:
    """``findings`` minus those whose code an officer waived for this dossier."""
    return [f for f in findings if f.code not in waived] if waived else findings


def _files(facts: DossierFacts) -> list[tuple[str, str]]:
    """(role, sha256) of a version's files, sorted: equal lists mean nothing changed."""
    return sorted((m.role, m.sha256) for m in facts.materials)


def findings_of(version_row) -> list[Finding]:
    """The stored findings of a version row as Finding objects."""
    return [Finding(**f) for f in json.loads(version_row["findings"])]


