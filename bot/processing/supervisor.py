"""Parse each input in a supervised worker process, within a time and memory budget per file.

A hostile file (a 68 KB PDF that takes pypdf half an hour, a docx that grows to 3 GB) must cost
one finding, not the desk. ``ParseSupervisor.parse`` starts a worker (``parse_worker.work``) for
the input and watches it: the worker announces each file before reading it and the file's kind
budget (``[budgets]``: seconds and resident bytes) starts then. A worker over budget is killed
with its whole process group (ffprobe, LibreOffice); the job is run again with that file
skipped (hashed, marked ``too_costly`` → FILE_TOO_COSTLY for the sender), so the rest of the
dossier is still read. Over budget while decoding the mail itself, nobody can be answered: the
input fails (``ParseOverBudget``) and the pipeline records it.

``stop`` (SIGTERM) kills the worker at once (``ParseInterrupted``): the input stays pending, its
attempt already counted in the ledger (``Store.start_parse``).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.config.model import BudgetSettings
from bot.errors import IntakeError
from bot.processing import fork_server
from bot.processing.parse_worker import WHOLE_INPUT_KINDS, ParseJob, serve
from bot.store.faults import StoreUnavailable
from parsers.classify import VIDEO_KINDS
from parsers.facts import DossierFacts

log = logging.getLogger("intake.supervisor")

POLL_S = 0.05  # seconds between two looks at a worker (pipe, clock, memory)
MAX_ROUNDS = 20  # runs of one job (each skipping one more over-budget file) before giving up
_PAGE = os.sysconf("SC_PAGE_SIZE")


class ParseInterrupted(IntakeError):
    """``stop`` was set during the parse; the worker was killed, the input stays pending."""


class ParseOverBudget(IntakeError):
    """The input as a whole (its mail, not one file) ran over budget."""


class ParseFailed(IntakeError):
    """``read_input`` raised in the worker (the traceback text is the message)."""


@dataclass(frozen=True)
class Budget:
    seconds: float
    rss_bytes: int


_DOCUMENT_KINDS = frozenset({"docx", "doc", "wps", "odt", "rtf"})
_TABLE_KINDS = frozenset({"xlsx", "xls", "csv", "et", "ods"})
_ARCHIVE_KINDS = frozenset({"zip", "7z", "rar"})


def budget_group(kind: str) -> str:
    """The ``[budgets]`` group of a content kind: pdf, document, table, video, archive, mail, other."""
    if kind == "pdf":
        return "pdf"
    if kind in _DOCUMENT_KINDS:
        return "document"
    if kind in _TABLE_KINDS:
        return "table"
    if kind in VIDEO_KINDS:
        return "video"
    if kind in _ARCHIVE_KINDS:
        return "archive"
    if kind in ("mail", "eml"):
        return "mail"
    return "other"


_GROUPS = ("pdf", "document", "table", "video", "archive", "mail", "other")


def budget_for(budgets: BudgetSettings, kind: str) -> Budget:
    group = budget_group(kind)
    return Budget(getattr(budgets, f"{group}_s"), getattr(budgets, f"{group}_bytes"))


@dataclass
class _Overrun:
    name: str
    kind: str
    reason: str


def rss_bytes(pid: int) -> int:
    """Resident bytes of process ``pid`` (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


MAX_JOBS = 200  # jobs one worker reads before it is retired
RETIRE_RSS = 256 * 1024 * 1024  # a worker left this large (bytes) after a job is retired


class _Worker:
    """One worker process (``parse_worker.serve``) and our end of its pipe."""

    def __init__(self) -> None:
        self.conn, child = fork_server.CONTEXT.Pipe(duplex=True)
        self.proc = fork_server.CONTEXT.Process(target=serve, args=(child,), name="parse-worker", daemon=True)
        self.proc.start()
        child.close()
        self.jobs = 0
        self.reniced = False

    def retire(self) -> None:
        _kill(self.proc)
        self.conn.close()


class ParseSupervisor:
    """Runs parse jobs in worker processes under ``budgets`` (one worker per job at a time;
    call ``parse`` from several threads to run several).

    A worker whose job ended well reads the next job (warm: its first-use costs are paid once,
    ~70 ms of CPU per input, issue 16); one that ran over budget, failed, was reniced as slow,
    grew past ``RETIRE_RSS`` or read ``MAX_JOBS`` jobs is killed and replaced.
    """

    def __init__(self, budgets: BudgetSettings):
        # Started now if the entry point did not (bot/cli/main.py): ready by the time the first
        # input has been fetched.
        fork_server.start_in_background()
        self.budgets = budgets
        self.peak_rss = 0  # largest worker RSS seen, bytes (bench/hostile.py reads it)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        # Left larger than half the smallest memory budget, a worker would start its next job
        # already near that budget: it is retired instead.
        smallest = min(getattr(budgets, f"{g}_bytes") for g in _GROUPS)
        self._retire_rss = min(RETIRE_RSS, smallest // 2)

    def close(self) -> None:
        """Retire the idle workers (a worker in a job is retired when its job ends)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for w in idle:
            w.retire()

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                w = self._idle.pop()
                if w.proc.is_alive():
                    return w
                w.retire()
        return _Worker()

    def _give_back(self, w: _Worker) -> bool:
        """Keep ``w`` for the next job when it is fit for one; False when it must be retired."""
        w.jobs += 1
        if w.reniced or w.jobs >= MAX_JOBS or rss_bytes(w.proc.pid) > self._retire_rss:
            return False
        with self._lock:
            self._idle.append(w)
        return True

    def parse(
        self,
        job: ParseJob,
        stop: threading.Event | None = None,
        *,
        slow_after_s: float | None = None,
        on_slow: Callable[[], None] | None = None,
    ) -> list[DossierFacts]:
        """The dossiers of ``job``; files over budget come back marked ``too_costly``.

        A job still running after ``slow_after_s`` seconds is slow: its worker is reniced
        (``SLOW_NICE``, so the normal parses get the cores first) and ``on_slow()`` is called once.
        Raises ParseInterrupted (``stop`` set), ParseOverBudget (the mail itself over budget),
        ParseFailed (the parser raised).
        """
        started = time.monotonic()
        slow = _Slow(started + slow_after_s if slow_after_s is not None else None, on_slow)
        for _ in range(MAX_ROUNDS):
            # One allowance for the whole input, across the rounds ([budgets] input_s, input_files).
            job = replace(job, input_left_s=max(0.0, self.budgets.input_s - (time.monotonic() - started)),
                          max_files=self.budgets.input_files)
            result = self._run_once(job, stop, slow)
            if not isinstance(result, _Overrun):
                return result
            log.warning("input %s: %s %s", job.display_name, result.name, result.reason)
            if result.kind in WHOLE_INPUT_KINDS or result.name in job.skip:
                raise ParseOverBudget(f"{result.name}: {result.reason}")
            shutil.rmtree(job.workdir, ignore_errors=True)
            job = replace(job, skip={**job.skip, result.name: f"{result.kind} file {result.reason}"})
        raise ParseOverBudget(f"more than {MAX_ROUNDS} files over budget")

    def _run_once(self, job: ParseJob, stop: threading.Event | None, slow: _Slow) -> list[DossierFacts] | _Overrun:
        worker = self._take()
        proc, recv = worker.proc, worker.conn
        kept = False
        try:
            recv.send(job)
        except OSError:  # the worker died while idle
            worker.retire()
            worker = _Worker()
            proc, recv = worker.proc, worker.conn
            recv.send(job)
        log.info("input %s: reading in worker %s", job.display_name, proc.pid)
        if slow.marked:
            _renice(proc.pid)
            worker.reniced = True
        name, kind = job.display_name, "start"
        budget = budget_for(self.budgets, "other")
        deadline = time.monotonic() + budget.seconds
        try:
            while True:
                if stop is not None and stop.is_set():
                    raise ParseInterrupted(job.display_name)
                if recv.poll(POLL_S):
                    try:
                        msg = recv.recv()
                    except EOFError:  # the worker died without a word: a crash in a parser
                        proc.join(1)
                        return _Overrun(name, kind, f"crashed the reader (exit {proc.exitcode})")
                    if msg[0] == "file":
                        name, kind = msg[1], msg[2]
                        budget = budget_for(self.budgets, kind)
                        deadline = time.monotonic() + budget.seconds
                        continue
                    if msg[0] == "done":
                        kept = self._give_back(worker)
                        return msg[1]
                    if len(msg) > 2 and msg[2]:  # a full or failing disk: retried, nothing counted
                        raise StoreUnavailable(f"parsing {job.display_name}: {msg[1].strip().splitlines()[-1]}")
                    raise ParseFailed(msg[1])
                if slow.due():
                    _renice(proc.pid)
                    worker.reniced = True
                    log.info("input %s is slow: its worker %s yields the cores", job.display_name, proc.pid)
                    slow.mark()
                if time.monotonic() > deadline:
                    return _Overrun(name, kind, f"took longer than {budget.seconds:g} s to read")
                rss = rss_bytes(proc.pid)
                self.peak_rss = max(self.peak_rss, rss)
                if rss > budget.rss_bytes:
                    return _Overrun(name, kind, f"needed more than {budget.rss_bytes // (1024 * 1024)} MB to read")
        finally:
            if not kept:
                worker.retire()


SLOW_NICE = 10  # niceness added to a slow parse's worker


@dataclass
class _Slow:
    at: float | None  # monotonic time the job becomes slow, None: never
    on_slow: Callable[[], None] | None
    marked: bool = False

    def due(self) -> bool:
        return not self.marked and self.at is not None and time.monotonic() > self.at

    def mark(self) -> None:
        self.marked = True
        if self.on_slow is not None:
            self.on_slow()


def _renice(pid: int) -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, pid, SLOW_NICE)
    except OSError:  # gone already, or not allowed: it keeps its budget either way
        pass


def _kill(proc) -> None:
    """Kill the worker and everything it started (its own process group), then reap it."""
    if proc.exitcode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.kill()
        except (OSError, ValueError):
            pass
    proc.join(5)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # what the worker left behind (an orphaned ffprobe)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.close()
    except ValueError:  # still running after SIGKILL and 5 s (uninterruptible I/O): let it be
        log.warning("parse worker %s did not end after SIGKILL", proc.pid)
