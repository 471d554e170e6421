"""The ``digests`` table: what each officer's last digest showed (so the next shows changes)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime


def last_snapshot(conn: sqlite3.Connection, recipient: str) -> tuple[datetime | None, dict[str, str]]:
    """When the last digest went to ``recipient`` and the verdicts it showed (``{tracking: verdict}``)."""
    row = conn.execute(
        "SELECT at, snapshot FROM digests WHERE recipient=? ORDER BY id DESC LIMIT 1", (recipient,)
    ).fetchone()
    if row is None:
        return None, {}
    return datetime.fromisoformat(row[0]), json.loads(row[1])


def record_sent(conn: sqlite3.Connection, recipient: str, at: datetime, snapshot: dict[str, str]) -> None:
    """Remember what ``recipient`` was shown at ``at`` (call inside the transaction that queues it)."""
    conn.execute("INSERT INTO digests(recipient, at, snapshot) VALUES(?,?,?)",
                 (recipient, at.isoformat(), json.dumps(snapshot, ensure_ascii=False)))
