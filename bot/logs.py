"""Logging setup: one line per event, as text for people or JSON for machines (``--log-format``)."""

from __future__ import annotations

import json
import logging
import re
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


# Line breaks and other controls: in a text log they would start a line of the sender's making.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message``, one line per event whatever the message holds.

    A name from outside (a dropped file called ``x.pdf\\n2026-… INFO … accepted``) is logged
    with its controls escaped (``\\n``), so it cannot forge a line; a traceback still follows on
    lines of its own.
    """

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = _CONTROLS.sub(lambda m: repr(m.group())[1:-1], record.message)
        return super().formatMessage(record)


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
        handler.setFormatter(TextFormatter())
    root = logging.getLogger("intake")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
