"""Progress for long work: a rich progress bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger("intake.progress")


def track(items: Iterable[T], description: str, *, total: int | None = None) -> Iterator[T]:
    """Yield ``items`` while showing progress: a bar when stderr is a terminal, else one log line
    per item (``description 3/10``), so cron jobs and systemd journals stay readable."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        # The bar on stderr (the stream found to be a terminal), where the log lines go too: rich
        # prints each log line above the bar. On stdout it would land in a piped run's output.
        with Progress(transient=True, console=Console(stderr=True)) as progress:
            task = progress.add_task(description, total=total)
            for item in items:
                yield item
                progress.advance(task)
        return
    for n, item in enumerate(items, 1):
        log.info("%s %d/%s", description, n, total if total is not None else "?")
        yield item
