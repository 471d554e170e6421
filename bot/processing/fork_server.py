"""The fork server the parse workers are forked from, and starting it as early as possible.

The fork server imports the parsers and their libraries once (~0.6 s of CPU); each worker is a
fork of it (importing pypdf, python-docx and openpyxl anew took ~2 s of CPU per input). The
``intake`` entry point starts it before importing the rest of the command line (~0.7 s), so
both run at once on two cores instead of one after the other (issue 16: about 0.5 s of every
``intake run``). This module imports nothing heavy for that reason.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import sys
import threading

CONTEXT = multiprocessing.get_context("forkserver")
CONTEXT.set_forkserver_preload(
    ["bot.processing.parse_worker", "pypdf", "docx", "docx.table", "openpyxl", "lxml.etree", "pypdfium2"]
)


def hide_main_script() -> None:
    """Keep workers from running the main script again.

    multiprocessing sends each new process the path of ``__main__`` (the ``intake`` console
    script, pytest's…) and the child runs it before its target: the ``intake`` script imports the
    whole CLI, ~0.4 s of CPU per input (issue 16). The workers need only ``parse_worker`` (its
    target, preloaded by the fork server), so the path is withheld. Python 3.11's fork server
    cannot preload ``__main__`` instead: it looks for a ``main_path`` key that
    ``spawn.get_preparation_data`` names ``init_main_from_path``.
    """
    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None:
        main.__dict__.pop("__file__", None)


def start_in_background() -> None:
    """Start the fork server on a thread (idempotent: multiprocessing starts one per process)."""
    hide_main_script()
    threading.Thread(target=multiprocessing.forkserver.ensure_running, name="forkserver", daemon=True).start()
