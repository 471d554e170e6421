"""Processing one taken input: parse, thread onto a dossier, judge, queue the reply, in one commit.

Each input is processed from its archived copy. Everything a step decides (the new dossier
version, its findings, the queued reply, the input's new state) is committed in a single SQLite
transaction, so a crash anywhere leaves either nothing or everything: on restart the input is
simply processed again, and the reply's dedupe key makes a second reply impossible.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.config.model import Settings
from bot.crashpoints import crashpoint
from bot.processing.bounces import BounceDesk
from bot.processing.oversize import answer_oversize, is_oversize
from bot.processing.replies import ReplyBuilder
from bot.processing.threading_rules import merge_versions, thread_key
from bot.progress import track
from bot.store.database import DossierRow, InputRow, Store
from bot.store.decisions import waived_codes
from bot.store.facts_codec import loads_facts
from bot.store.faults import StoreUnavailable, is_store_fault
from parsers.archives import ArchiveLimits
from parsers.facts import DossierFacts, MailFacts
from parsers.inputs import read_input
from parsers.materials import ParseOptions
from rules.campaign import Campaign
from rules.engine import evaluate
from rules.finding import Finding
from rules.verdict import verdict

log = logging.getLogger("intake.pipeline")

# Inputs parsed ahead of the one being committed, in threads: ffprobe, LibreOffice and file I/O
# run outside the GIL, so a batch uses every core (bench/ingest.py measures the gain).
PARSE_WORKERS = min(4, os.cpu_count() or 1)
PARSE_AHEAD = 2 * PARSE_WORKERS


@dataclass
class Outcome:
    """What processing one input produced (for the CLI's table and the tests)."""

    input_id: int
    input_name: str
    trackings: list[str] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    skipped: str | None = None  # why no dossier was made (an auto-reply, a duplicate)
    error: str | None = None


def parse_options(settings: Settings) -> ParseOptions:
    p = settings.parsing
    return ParseOptions(
        ffprobe=p.ffprobe,
        probe_timeout_s=p.probe_timeout_s,
        convert_timeout_s=p.convert_timeout_s,
        archive_limits=ArchiveLimits(
            max_members=p.archive_max_members,
            max_total_bytes=p.archive_max_total_bytes,
            max_ratio=p.archive_max_ratio,
            max_depth=p.archive_max_depth,
        ),
    )


class Pipeline:
    """Turns taken inputs into judged dossier versions and queued replies."""

    def __init__(self, settings: Settings, store: Store, campaign: Campaign):
        self.settings = settings
        self.store = store
        self.campaign = campaign
        self.options = parse_options(settings)
        self.replies = ReplyBuilder(settings, campaign)
        self.bounces = BounceDesk(store, self.replies)
        # Handlers tried before an input becomes dossiers (officers' commands by mail, packets
        # from the level below): each returns an Outcome when it took the input, else None.
        self.interceptors: list[Callable[[InputRow, list[DossierFacts]], Outcome | None]] = []
        # Decoded facts of current versions, by their JSON text: each version is decoded once,
        # not once per input judged after it (that was O(N²) decoding over a batch).
        self._decoded: dict[str, DossierFacts] = {}
        self._in_batch = False  # process_pending refreshes every verdict once, at the end
        self.last_activity = time.monotonic()  # when the last input was started (the watchdog)

    def now(self) -> datetime:
        """The pinned clock from ``[campaign] now``, else the real one (aware, UTC)."""
        return self.settings.campaign.now or datetime.now(UTC)

    def process_pending(self, stop: threading.Event | None = None) -> list[Outcome]:
        """Process every input still waiting, oldest first; one bad input never stops the rest.

        Inputs are parsed ``PARSE_AHEAD`` ahead in ``PARSE_WORKERS`` threads and committed one
        by one in order; cross-dossier verdicts of the earlier dossiers are refreshed once at the
        end of the batch (each new version is still judged against every current dossier).
        ``stop`` (SIGTERM in the daemon) is checked between inputs: once set, the input being
        committed is finished, the rest stay pending (parses already started are discarded).
        """
        pending = self.store.pending_inputs()
        outcomes: list[Outcome] = []
        self._in_batch = True
        try:
            with ThreadPoolExecutor(PARSE_WORKERS, thread_name_prefix="parse") as pool:
                ahead: dict[int, Future[list[DossierFacts]]] = {}
                for i, row in enumerate(track(pending, "processing inputs")):
                    if stop is not None and stop.is_set():
                        for future in ahead.values():
                            future.cancel()
                        break
                    for nxt in pending[i : i + PARSE_AHEAD]:
                        if nxt.id not in ahead:
                            ahead[nxt.id] = pool.submit(self._parse, nxt)
                    outcomes.append(self.process(row, parsed=ahead.pop(row.id)))
        finally:
            self._in_batch = False
        if any(o.trackings for o in outcomes):
            with self.store.transaction():
                self._refresh_verdicts()
        return outcomes

    def _parse(self, row: InputRow) -> list[DossierFacts]:
        """The dossiers of one input, read from its archived copy (thread-safe: no database)."""
        work_root = self.settings.store.work_dir
        src = self.store.materialise(row, work_root)
        return read_input(
            src,
            work_root / f"input-{row.id}-parsed",
            options=self.options,
            # A pinned clock (demo, rehearsal) stands for the time of receipt too.
            received_at=self.settings.campaign.now or row.received_at,
            display_name=row.name,
        )

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
            self.keep_materials(dossiers)
            desk = desk_problem(dossiers)
            if desk is not None:
                raise DeskProblem(desk)
            self._commit(row, dossiers, outcome)
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
            shutil.rmtree(work_root / f"input-{row.id}", ignore_errors=True)
            shutil.rmtree(work_root / f"input-{row.id}-parsed", ignore_errors=True)
        return outcome

    def keep_materials(self, dossiers: list[DossierFacts]) -> None:
        """Archive every material's exact bytes by sha256, so packets can be built from the archive
        long after the work folder is gone (a file already archived costs nothing)."""
        for d in dossiers:
            for m in d.materials:
                if m.path is not None and m.path.is_file() and not self.store.archive.has(m.sha256):
                    self.store.archive.adopt(m.path)

    def _commit(self, row: InputRow, dossiers: list[DossierFacts], outcome: Outcome) -> None:
        first_mail = dossiers[0].mail if dossiers else None
        if row.kind == "mail" and first_mail is not None and self._take_bounce(row, first_mail, outcome):
            return
        for intercept in self.interceptors:
            taken = intercept(row, dossiers)
            if taken is not None:
                outcome.trackings, outcome.verdicts = taken.trackings, taken.verdicts
                outcome.skipped = taken.skipped
                return
        mail = dossiers[0].mail if dossiers else None
        no_reply = self.replies.no_reply_reason(mail) if mail else None
        if no_reply and not any(_has_materials(d) for d in dossiers):
            with self.store.transaction():
                self.store.conn.execute(
                    "UPDATE inputs SET state='ignored', error=? WHERE id=?", (no_reply, row.id)
                )
            outcome.skipped = no_reply
            log.info("input %s ignored: %s", row.id, no_reply)
            return
        now = self.now()
        with self.store.transaction():
            placed: list[tuple[DossierRow | None, DossierFacts, int]] = []
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
                    previous = loads_facts(self.store.versions_of(earlier.id)[-1]["facts"])
                    facts = merge_versions(previous, facts)
                placed.append((earlier, facts, part))
            if not placed and no_files:
                self.store.conn.execute(
                    "UPDATE inputs SET state='ignored', error=? WHERE id=?", (no_files, row.id)
                )
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
                        dedupe_key=f"reply:{row.id}:{part}", now=now,
                    )
            if not self._in_batch:
                self._refresh_verdicts()
            self.store.mark_processed(row.id)
            crashpoint("before_commit")
        crashpoint("after_commit")
        log.info("input %s processed: %s", row.id, ", ".join(
            f"{t} {v}" for t, v in zip(outcome.trackings, outcome.verdicts, strict=True)))

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
            self.store.conn.execute(
                "UPDATE inputs SET state=?, error=? WHERE id=?",
                (state, None if state == "processed" else note, row.id),
            )
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
        others = [
            self._facts_of(v["facts"])
            for d, v in self.store.current_versions()
            if d.id not in replaced and d.state == "open"  # a rejected dossier counts for nothing
        ]
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

    def _facts_of(self, text: str) -> DossierFacts:
        """``loads_facts(text)``, decoded once per distinct text (the rules never mutate facts)."""
        facts = self._decoded.get(text)
        if facts is None:
            facts = self._decoded[text] = loads_facts(text)
        return facts

    def refresh_verdicts(self) -> None:
        """Judge every current dossier again (after an officer's decision); call in a transaction."""
        self._refresh_verdicts()

    def _refresh_verdicts(self) -> None:
        """Judge every current dossier again, so cross-dossier findings stay true for all of them.

        Replies already sent are not re-sent; the digest and the packet read these fresh results.
        """
        current = [(d, v) for d, v in self.store.current_versions() if d.state == "open"]
        if not current:
            return
        facts = [self._facts_of(v["facts"]) for _, v in current]
        self._decoded = {v["facts"]: f for (_, v), f in zip(current, facts, strict=True)}
        evaluation = evaluate(facts, self.campaign, level=self.settings.office.level, now=self.now())
        waived = waived_codes(self.store)
        for (d, v), findings in zip(current, evaluation.per_dossier, strict=True):
            findings = without_waived(findings, waived.get(d.tracking, set()))
            new_v = verdict(findings)
            self.store.conn.execute(
                "UPDATE versions SET findings=?, verdict=? WHERE id=?",
                (json.dumps([f.to_json() for f in findings], ensure_ascii=False), new_v, v["id"]),
            )
            self.store.conn.execute("UPDATE dossiers SET verdict=? WHERE id=?", (new_v, d.id))


class DeskProblem(Exception):
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


def _has_materials(d: DossierFacts) -> bool:
    return any(m.role in ("application_form", "scanned_copy", "video") for m in d.materials)


def without_waived(findings: list[Finding], waived: set[str]) -> list[Finding]:
    """``findings`` minus those whose code an officer waived for this dossier."""
    return [f for f in findings if f.code not in waived] if waived else findings


def findings_of(version_row) -> list[Finding]:
    """The stored findings of a version row as Finding objects."""
    return [Finding(**f) for f in json.loads(version_row["findings"])]


