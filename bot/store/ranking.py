"""The ``ranking`` table: the officers' recommendation order (position 1 = first recommended)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime


def positions(conn: sqlite3.Connection) -> dict[str, int]:
    """``{tracking: position}`` as the officers last set them (empty when never set)."""
    return {r[0]: int(r[1]) for r in conn.execute("SELECT tracking, position FROM ranking")}


def replace_ranking(conn: sqlite3.Connection, trackings: Sequence[str], *, source: str) -> None:
    """Replace the whole ranking by ``trackings`` in order, in one transaction (``source``:
    ``cli`` or ``table:<file name>``). Needs an autocommit connection outside a transaction."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM ranking")
        conn.executemany(
            "INSERT INTO ranking(tracking, position, set_at, source) VALUES(?,?,?,?)",
            [(t, i, now, source) for i, t in enumerate(trackings, 1)],
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
