"""The child side of a parse: one input read in a worker process, each file announced first.

Runs in a process started by ``bot/processing/supervisor.py`` (forkserver: the parsers are
imported once, each worker is a cheap fork of that server), which reads one job after another
(``serve``) until the supervisor retires it. For each job the worker sends, over its pipe:

- ``("file", name, kind)`` before each file (and ``"mail"`` before decoding the mail,
  ``"assemble"`` before putting the dossier together): the supervisor starts that kind's budget;
- ``("done", [DossierFacts, ...])`` at the end (plain picklable dataclasses, ``parsers/facts.py``);
- ``("error", traceback text, medium fault)`` when ``read_input`` raised (medium fault: the
  disk under the work folder is full or failing, ``bot/store/faults.py``: not the input's fault).

No database here: the SQLite transaction stays in the main process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.logs import current_setup, setup_logging
from bot.store.faults import is_store_fault
from parsers.facts import DossierFacts
from parsers.inputs import read_input
from parsers.materials import ParseOptions
from rules.wording import INPUT_ALLOWANCE, TOO_COSTLY

# Steps that are the input itself, not one file of it: over budget the input fails whole, and
# the input's allowance never skips them (without the mail, nobody could be answered).
WHOLE_INPUT_KINDS = frozenset({"mail", "assemble", "start"})


@dataclass
class ParseJob:
    """One input to read: its materialised copy, the work folder, the parser options.

    ``skip``: names of files an earlier run of this job went over budget on, with the reason
    (English, for officers); they are hashed but not read again, marked ``too_costly``.
    """

    src: Path
    workdir: Path
    options: ParseOptions
    received_at: datetime | None
    display_name: str
    skip: dict[str, str] = field(default_factory=dict)
    # The whole input's allowance (set by the supervisor from [budgets] input_s and input_files):
    # once its files together have been read for ``input_left_s`` seconds, or ``max_files`` files
    # have been read, the rest are hashed but not read (``input_allowance``): a zip of 2,000 cheap
    # PDFs, each within its own budget, costs minutes, not hours.
    input_left_s: float | None = None
    max_files: int | None = None
    # the logging of the process that made the job (the daemon's, the CLI's): the worker's too
    log_setup: tuple[str, bool] | None = field(default_factory=current_setup)


def serve(conn) -> None:
    """The worker's main: read each job received on ``conn`` and answer over it (see the module
    doc), until the supervisor closes its end (EOF) or kills the worker."""
    os.setpgrp()  # ffprobe and LibreOffice started below die with the worker (killpg)
    _die_with_parent()
    _library_output_to_stderr()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when a worker stops
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        work(conn, job)


def _library_output_to_stderr() -> None:
    """What the parsers' libraries print (xlrd's warnings go to the ``sys.stdout`` it saw at
    import, C code and children to descriptor 1) goes to stderr, the log's stream: the command's
    stdout carries its own output only (``intake check --json``: one JSON object)."""
    try:
        sys.stdout.flush()
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass  # no real descriptors (a test runner's streams): nothing to move


def work(conn, job: ParseJob) -> None:
    """Read one ``job`` and send the result over ``conn``."""

    started = time.monotonic()
    read = 0
    unread: dict[str, str] = {}  # files left unread once the input's allowance is spent, and why

    def before_file(name: str, path: Path, kind: str) -> str | None:
        nonlocal read
        conn.send(("file", name, kind))
        if name in job.skip:
            return TOO_COSTLY
        if kind in WHOLE_INPUT_KINDS:
            return None
        if job.input_left_s is not None and time.monotonic() - started > job.input_left_s:
            unread[name] = "not read: the input's files together used its whole time budget"
            return INPUT_ALLOWANCE
        read += 1
        if job.max_files is not None and read > job.max_files:
            unread[name] = f"not read: more than {job.max_files} files in one input"
            return INPUT_ALLOWANCE
        return None

    job.options.before_file = before_file
    if job.log_setup is not None and job.log_setup != current_setup():
        setup_logging(job.log_setup[0], verbose=job.log_setup[1])
    try:
        dossiers = read_input(
            job.src, job.workdir, options=job.options, received_at=job.received_at,
            display_name=job.display_name,
        )
        _explain(dossiers, {**job.skip, **unread})
        conn.send(("done", dossiers))
    except BaseException as exc:  # noqa: BLE001 - reported to the supervisor, which records it
        conn.send(("error", "".join(traceback.format_exception(exc)), is_store_fault(exc)))


def _die_with_parent() -> None:
    """SIGKILL this worker when its parent (the fork server, which ends with the daemon) dies:
    after a kill -9 of the daemon no orphaned parse keeps a core busy (Linux prctl)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the supervisor's kill still applies
        pass
    if os.getppid() == 1:  # the parent is already gone
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def _explain(dossiers: list[DossierFacts], skip: dict[str, str]) -> None:
    for d in dossiers:
        for m in d.materials:
            if m.problem in (TOO_COSTLY, INPUT_ALLOWANCE) and m.name in skip:
                m.detail = skip[m.name]
