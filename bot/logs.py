"""Logging setup: one line per event, as text for people or JSON for machines (``--log-format``)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    """Each record as one JSON object: time, level, logger, message (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (test runners swap it; a kept reference would
    point at a closed stream)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


_SETUP: list[tuple[str, bool]] = []  # the last setup_logging's (fmt, verbose), for workers


def current_setup() -> tuple[str, bool] | None:
    """``(fmt, verbose)`` of this process's last :func:`setup_logging`, or None: a parse worker
    is given it, so what the parsers log reaches the same stream in the same form."""
    return _SETUP[-1] if _SETUP else None


def setup_logging(fmt: str = "text", *, verbose: bool = False) -> None:
    """Send the ``intake.*`` loggers to stderr in ``fmt`` (``text`` | ``json``)."""
    _SETUP[:] = [(fmt, verbose)]
    handler = _CurrentStderr()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("intake")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
