"""Named crash points for fault-injection tests: the process dies as under ``kill -9``.

Set ``INTAKE_CRASH_AT=<name>`` (optionally ``<name>:<n>`` to die at the n-th time, 1-based) and
the process exits with status 137 at that point, without cleanup, flushing nothing. Unset (always,
in production), ``crashpoint`` does nothing. The names are listed in ``CRASH_POINTS``.
"""

from __future__ import annotations

import os

CRASH_POINTS = (
    "after_fetch",  # IMAP: raw bytes fetched, nothing archived yet
    "after_archive",  # raw bytes archived and recorded, server not yet acknowledged
    "after_post_action",  # IMAP flag/move done
    "after_take",  # drop folder: archived and recorded, not yet moved to processed/
    "before_commit",  # parsed and judged, the transaction not yet committed
    "after_commit",  # version, findings and queued reply committed
    "before_send",  # a queued reply about to be handed to the transport
    "after_send",  # the transport accepted it, not yet marked sent
)

_counts: dict[str, int] = {}


def crashpoint(name: str) -> None:
    """Die here (exit 137, no cleanup) when ``INTAKE_CRASH_AT`` names this point."""
    spec = os.environ.get("INTAKE_CRASH_AT")
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] >= int(nth or 1):
        os._exit(137)
