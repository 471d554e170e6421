"""Keep stdout for the command's own output: what libraries print while it runs goes to the log.

``intake check --json`` promises one JSON object on stdout. Libraries do not: xlrd writes
"WARNING *** file size (108) not 512 + multiple of sector size" to ``sys.stdout`` by default,
and a child process or C code writes to file descriptor 1 directly.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator

log = logging.getLogger("intake.lib")


class _LogWriter(io.TextIOBase):
    """A text stream that logs each line written to it (INFO, logger ``intake.lib``)."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if line.strip():
                log.info("library output: %s", line.rstrip())
        return len(text)

    def flush(self) -> None:
        if self._pending.strip():
            log.info("library output: %s", self._pending.rstrip())
        self._pending = ""


@contextlib.contextmanager
def library_output_to_log() -> Iterator[None]:
    """During the block, ``print`` and ``sys.stdout`` writes become log lines (on stderr), and
    file descriptor 1 points at stderr (child processes, C code). Both are restored after."""
    saved: tuple[int, int] | None = None
    try:
        sys.stdout.flush()
        fd = sys.stdout.fileno()
        saved = (fd, os.dup(fd))
        os.dup2(sys.stderr.fileno(), fd)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        if saved is not None:  # dup worked, dup2 did not
            os.close(saved[1])
        saved = None  # no real descriptor (a test runner's stream): Python-level only
    writer = _LogWriter()
    try:
        with contextlib.redirect_stdout(writer):
            yield
    finally:
        writer.flush()
        if saved is not None:
            fd, copy = saved
            os.dup2(copy, fd)
            os.close(copy)
