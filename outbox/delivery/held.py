"""Replies held back by a sending limit, kept whole until an officer releases or discards them.

When a limit forbids a reply (``[outbox] replies_per_hour``, ``replies_per_sender_per_day``), the
reply is still composed and stored here, never lost: a genuine applicant whose 回执 fell inside a
flood of forged mail gets it once an officer has looked (``intake held list``, ``intake held
release ID``), as a list moderator releases held posts in GNU Mailman. Releasing puts the stored
message into the outgoing queue under its own ``dedupe_key`` (so a release is idempotent and the
queue's limits are not counted again: the officer decided), with the release time as its Date.

States: ``held`` (waiting), ``released`` (queued as ``outgoing_id``), ``discarded`` (an officer
chose not to send it). Times are POSIX seconds. The table is created by schema step 11
(``bot/store/schema.py``).
"""

from __future__ import annotations

import email
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from outbox.delivery import queue as outgoing
from outbox.mail.headers import OUTGOING_POLICY, to_bytes

SCHEMA = """
CREATE TABLE IF NOT EXISTS held_replies (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    tracking TEXT,
    rcpt TEXT NOT NULL,
    reason TEXT NOT NULL,
    raw BLOB NOT NULL,
    held_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'released', 'discarded')),
    decided_at REAL,
    decided_by TEXT,
    outgoing_id INTEGER
);
CREATE INDEX IF NOT EXISTS held_replies_state ON held_replies (state, id);
"""


@dataclass(frozen=True)
class HeldReply:
    """One held reply; ``raw`` is the message as it would have been queued (7-bit wire form)."""

    id: int
    dedupe_key: str
    kind: str
    tracking: str | None
    rcpt: str
    reason: str
    held_at: datetime
    state: str
    decided_by: str | None


def hold(
    conn: sqlite3.Connection,
    msg: EmailMessage,
    *,
    kind: str,
    tracking: str | None,
    dedupe_key: str,
    reason: str,
    now: datetime,
) -> bool:
    """Keep ``msg`` instead of queueing it; True when it is newly held, False when ``dedupe_key``
    is already held (or was released or discarded). Runs in the caller's transaction."""
    rcpts = [a for _, a in getaddresses([str(v) for v in msg.get_all("to", [])]) if a]
    cur = conn.execute(
        "INSERT INTO held_replies (dedupe_key, kind, tracking, rcpt, reason, raw, held_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
        (dedupe_key, kind, tracking, ", ".join(rcpts).lower(), reason, to_bytes(msg), now.timestamp()),
    )
    return cur.rowcount == 1


def is_held(conn: sqlite3.Connection, dedupe_key: str) -> bool:
    """True when a reply under ``dedupe_key`` was held (whatever became of it since)."""
    return conn.execute("SELECT 1 FROM held_replies WHERE dedupe_key = ?", (dedupe_key,)).fetchone() is not None


def _item(r: tuple) -> HeldReply:
    return HeldReply(id=r[0], dedupe_key=r[1], kind=r[2], tracking=r[3], rcpt=r[4], reason=r[5],
                     held_at=datetime.fromtimestamp(r[6]).astimezone(), state=r[7], decided_by=r[8])


_COLUMNS = "id, dedupe_key, kind, tracking, rcpt, reason, held_at, state, decided_by"


def waiting(conn: sqlite3.Connection) -> list[HeldReply]:
    """Every reply still held, oldest first."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM held_replies WHERE state = 'held' ORDER BY id")
    return [_item(r) for r in rows]


def count_waiting(conn: sqlite3.Connection) -> int:
    """How many replies are still held."""
    return int(conn.execute("SELECT COUNT(*) FROM held_replies WHERE state = 'held'").fetchone()[0])


def release(conn: sqlite3.Connection, held_id: int, *, officer: str, now: datetime) -> int | None:
    """Queue held reply ``held_id`` for sending, dated ``now``; returns its outgoing id, or None
    when there is no such reply still held. Runs in the caller's transaction."""
    row = conn.execute(
        "SELECT kind, tracking, dedupe_key, raw FROM held_replies WHERE id = ? AND state = 'held'", (held_id,)
    ).fetchone()
    if row is None:
        return None
    kind, tracking, dedupe_key, raw = row
    msg = email.message_from_bytes(bytes(raw), _class=EmailMessage, policy=OUTGOING_POLICY)
    msg.replace_header("Date", format_datetime(now))
    out_id = outgoing.enqueue(conn, msg, kind=kind, tracking=tracking, dedupe_key=dedupe_key,
                              now=now, commit=False)
    conn.execute(
        "UPDATE held_replies SET state = 'released', decided_at = ?, decided_by = ?, outgoing_id = ?"
        " WHERE id = ?",
        (now.timestamp(), officer, out_id, held_id),
    )
    return out_id


def held_message(conn: sqlite3.Connection, held_id: int, kind: str) -> EmailMessage | None:
    """The message of reply ``held_id`` when it is still held and of ``kind``, else None."""
    row = conn.execute(
        "SELECT raw FROM held_replies WHERE id = ? AND kind = ? AND state = 'held'", (held_id, kind)
    ).fetchone()
    if row is None:
        return None
    return email.message_from_bytes(bytes(row[0]), _class=EmailMessage, policy=OUTGOING_POLICY)


def replace_message(conn: sqlite3.Connection, held_id: int, msg: EmailMessage) -> None:
    """Store ``msg`` as reply ``held_id``'s message (a rewrite before its release: its
    ``dedupe_key`` and Message-ID stay). Runs in the caller's transaction."""
    conn.execute("UPDATE held_replies SET raw = ? WHERE id = ? AND state = 'held'", (to_bytes(msg), held_id))


def discard(conn: sqlite3.Connection, held_id: int, *, officer: str, now: datetime) -> bool:
    """Never send held reply ``held_id``; False when there is no such reply still held."""
    cur = conn.execute(
        "UPDATE held_replies SET state = 'discarded', decided_at = ?, decided_by = ?"
        " WHERE id = ? AND state = 'held'",
        (now.timestamp(), officer, held_id),
    )
    return cur.rowcount == 1
