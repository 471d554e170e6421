"""The outgoing queue in SQLite: every reply is stored here before any transport sees it.

Idempotent on ``dedupe_key`` (e.g. ``receipt:<tracking>:v2``): enqueuing the same answer twice
returns the first row's id and never queues a second mail. Times are stored as POSIX seconds
(float); naive datetimes are taken as local time. Statuses: ``pending`` (to send, when
``next_attempt_at`` ≤ now), ``sent`` (acknowledged with 250), ``failed`` (``failure`` = ``perm``
for a 5xx answer, ``expired`` when temporary failures lasted past the give-up period).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Literal

from outbox.mail.filters import content_problems
from outbox.mail.headers import raw_values, to_bytes

log = logging.getLogger("intake.outbox")

SCHEMA = """
CREATE TABLE IF NOT EXISTS outgoing (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    tracking TEXT,
    message_id TEXT NOT NULL,
    mail_from TEXT NOT NULL,
    rcpts TEXT NOT NULL,
    raw BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    created_day TEXT NOT NULL,
    next_attempt_at REAL NOT NULL,
    sent_at REAL,
    failure TEXT,
    last_error TEXT,
    response TEXT
);
CREATE INDEX IF NOT EXISTS outgoing_due ON outgoing (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS outgoing_rcpt (
    outgoing_id INTEGER NOT NULL REFERENCES outgoing (id),
    rcpt TEXT NOT NULL,
    day TEXT NOT NULL,
    PRIMARY KEY (outgoing_id, rcpt)
);
CREATE INDEX IF NOT EXISTS outgoing_rcpt_day ON outgoing_rcpt (rcpt, day);
"""


@dataclass(frozen=True)
class Outgoing:
    """One queued message; ``raw`` is the exact 7-bit wire form, ``rcpts`` lower-cased addresses."""

    id: int
    dedupe_key: str
    kind: str
    tracking: str | None
    message_id: str
    mail_from: str
    rcpts: list[str]
    raw: bytes
    status: str
    attempts: int
    created_at: float
    failure: str | None
    last_error: str | None


def _ts(dt: datetime) -> float:
    return dt.timestamp()


def enqueue(
    conn: sqlite3.Connection,
    msg: EmailMessage,
    *,
    kind: str,
    tracking: str | None,
    dedupe_key: str,
    now: datetime | None = None,
    mail_from: str | None = None,
    rcpts: list[str] | None = None,
    commit: bool = True,
) -> int:
    """Store ``msg`` for sending and return its row id; the same ``dedupe_key`` returns the first id.

    ``mail_from`` defaults to the From address, ``rcpts`` to To + Cc + Bcc (Bcc is removed from
    the stored bytes). ``now`` defaults to the current time. With ``commit=False`` the caller's
    transaction decides (so a verdict and its reply can be stored atomically).
    Raises ``ValueError`` when there is no recipient.
    """
    row = conn.execute("SELECT id FROM outgoing WHERE dedupe_key = ?", (dedupe_key,)).fetchone()
    if row is not None:
        return int(row[0])
    now = now or datetime.now().astimezone()
    if rcpts is None:
        fields = [v for name in ("to", "cc", "bcc") for v in raw_values(msg, name)]
        rcpts = [addr for _, addr in getaddresses(fields) if addr]
    rcpts = sorted({r.strip().lower() for r in rcpts})
    if not rcpts:
        raise ValueError(f"no recipient for {dedupe_key}")
    if mail_from is None:
        mail_from = next((a for _, a in getaddresses(raw_values(msg, "from")) if a), "")
    del msg["Bcc"]
    for problem in content_problems(msg, mail_from=mail_from):  # what spam filters would score
        log.warning("%s %s: %s", dedupe_key, msg.get("message-id", ""), problem)
    day = now.date().isoformat()
    cur = conn.execute(
        "INSERT INTO outgoing (dedupe_key, kind, tracking, message_id, mail_from, rcpts, raw,"
        " created_at, created_day, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (dedupe_key) DO NOTHING",
        (
            dedupe_key,
            kind,
            tracking,
            "".join(raw_values(msg, "message-id")[:1]).strip(),
            mail_from,
            json.dumps(rcpts),
            to_bytes(msg),
            _ts(now),
            day,
            _ts(now),
        ),
    )
    if cur.rowcount == 0:  # lost a race with another writer
        return int(
            conn.execute("SELECT id FROM outgoing WHERE dedupe_key = ?", (dedupe_key,)).fetchone()[
                0
            ]
        )
    out_id = int(cur.lastrowid or 0)
    conn.executemany(
        "INSERT OR IGNORE INTO outgoing_rcpt (outgoing_id, rcpt, day) VALUES (?, ?, ?)",
        [(out_id, r, day) for r in rcpts],
    )
    if commit:
        conn.commit()
    return out_id


def _row(r: sqlite3.Row | tuple) -> Outgoing:
    return Outgoing(
        id=r[0],
        dedupe_key=r[1],
        kind=r[2],
        tracking=r[3],
        message_id=r[4],
        mail_from=r[5],
        rcpts=json.loads(r[6]),
        raw=bytes(r[7]),
        status=r[8],
        attempts=r[9],
        created_at=r[10],
        failure=r[11],
        last_error=r[12],
    )


_COLUMNS = (
    "id, dedupe_key, kind, tracking, message_id, mail_from, rcpts, raw, status, attempts,"
    " created_at, failure, last_error"
)


def pending(conn: sqlite3.Connection, now: datetime, *, limit: int = 100) -> list[Outgoing]:
    """Messages due for an attempt at ``now`` (pending, ``next_attempt_at`` ≤ now), oldest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM outgoing WHERE status = 'pending' AND next_attempt_at <= ?"
        " ORDER BY id LIMIT ?",
        (_ts(now), limit),
    ).fetchall()
    return [_row(r) for r in rows]


def get(conn: sqlite3.Connection, out_id: int) -> Outgoing | None:
    """One queued message by id."""
    r = conn.execute(f"SELECT {_COLUMNS} FROM outgoing WHERE id = ?", (out_id,)).fetchone()
    return None if r is None else _row(r)


def mark_sent(conn: sqlite3.Connection, out_id: int, *, now: datetime, response: str = "") -> None:
    """Record the 250 acknowledgement and commit at once (so a restart never sends it again)."""
    with conn:
        conn.execute(
            "UPDATE outgoing SET status = 'sent', sent_at = ?, response = ?, attempts = attempts + 1,"
            " failure = NULL WHERE id = ?",
            (_ts(now), response, out_id),
        )


def mark_failed(
    conn: sqlite3.Connection,
    out_id: int,
    failure: Literal["temp", "perm", "expired"],
    error: str,
    retry_at: datetime | None,
    *,
    now: datetime | None = None,
) -> None:
    """Record a failed attempt and commit.

    ``temp`` with ``retry_at``: stays pending until then; ``perm`` (a 5xx answer, RFC 5321 §4.2.1)
    or ``expired`` (temporary failures past the give-up period), or ``temp`` without ``retry_at``:
    status ``failed``, listed by :func:`failures` for the officers' digest.
    """
    with conn:
        if failure == "temp" and retry_at is not None:
            conn.execute(
                "UPDATE outgoing SET attempts = attempts + 1, failure = 'temp', last_error = ?,"
                " next_attempt_at = ? WHERE id = ?",
                (error, _ts(retry_at), out_id),
            )
        else:
            conn.execute(
                "UPDATE outgoing SET status = 'failed', attempts = attempts + 1, failure = ?,"
                " last_error = ? WHERE id = ?",
                ("expired" if failure == "temp" else failure, error, out_id),
            )


def failures(conn: sqlite3.Connection, *, since: datetime | None = None) -> list[Outgoing]:
    """Messages that will not be delivered (``failed``), created since ``since`` if given."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM outgoing WHERE status = 'failed' AND created_at >= ? ORDER BY id",
        (_ts(since) if since else 0.0,),
    ).fetchall()
    return [_row(r) for r in rows]


def sent_today(conn: sqlite3.Connection, rcpt: str, day: date) -> int:
    """How many messages to ``rcpt`` were queued on ``day`` (the day of ``now`` at enqueue time).

    Counts what we committed to send, pending or sent (not permanent failures), so a backlog cannot
    exceed a per-sender daily cap (ticket systems' loop brake, e.g. 10 a day).
    """
    row = conn.execute(
        "SELECT COUNT(*) FROM outgoing_rcpt r JOIN outgoing o ON o.id = r.outgoing_id"
        " WHERE r.rcpt = ? AND r.day = ? AND NOT (o.status = 'failed' AND o.failure = 'perm')",
        (rcpt.strip().lower(), day.isoformat()),
    ).fetchone()
    return int(row[0])


def about(conn: sqlite3.Connection, tracking: str) -> list[Outgoing]:
    """Every message queued about dossier ``tracking``, oldest first (any status)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM outgoing WHERE tracking = ? ORDER BY id", (tracking,)
    ).fetchall()
    return [_row(r) for r in rows]


def last_message_id(conn: sqlite3.Connection, tracking: str) -> str | None:
    """The Message-ID of the last message queued about dossier ``tracking``, or None."""
    row = conn.execute(
        "SELECT message_id FROM outgoing WHERE tracking = ? ORDER BY id DESC LIMIT 1", (tracking,)
    ).fetchone()
    return row[0] if row and row[0] else None


def tracking_of(conn: sqlite3.Connection, message_ids: list[str]) -> str | None:
    """The dossier of the last of our messages among ``message_ids`` that was about one, or None
    (a reply's In-Reply-To/References, RFC 5322 §3.6.4)."""
    if not message_ids:
        return None
    marks = ",".join("?" * len(message_ids))
    row = conn.execute(
        f"SELECT tracking FROM outgoing WHERE message_id IN ({marks}) AND tracking IS NOT NULL"
        " ORDER BY id DESC LIMIT 1",
        list(message_ids),
    ).fetchone()
    return row[0] if row else None


def has_key(conn: sqlite3.Connection, dedupe_key: str) -> bool:
    """True when a message with ``dedupe_key`` was ever queued."""
    return conn.execute("SELECT 1 FROM outgoing WHERE dedupe_key = ?", (dedupe_key,)).fetchone() is not None


def trackings_sent(conn: sqlite3.Connection, kind: str) -> set[str]:
    """Dossiers that were sent (or will be: pending) a message of ``kind``; failed ones excluded."""
    return {r[0] for r in conn.execute(
        "SELECT DISTINCT tracking FROM outgoing WHERE kind = ? AND status != 'failed'"
        " AND tracking IS NOT NULL", (kind,))}


def next_due_at(conn: sqlite3.Connection) -> float | None:
    """POSIX seconds at which the earliest pending message is due, or None when none is pending."""
    row = conn.execute("SELECT MIN(next_attempt_at) FROM outgoing WHERE status = 'pending'").fetchone()
    return None if row is None or row[0] is None else float(row[0])


def counts_by_status(conn: sqlite3.Connection) -> dict[str, int]:
    """``{status: number of messages}`` over the whole queue."""
    return {r[0]: int(r[1]) for r in conn.execute("SELECT status, COUNT(*) FROM outgoing GROUP BY status")}


def queued_since(conn: sqlite3.Connection, since: datetime, kinds: tuple[str, ...]) -> int:
    """How many messages of ``kinds`` were queued at or after ``since`` (not permanent failures):
    the global reply rate (``[outbox] replies_per_hour``)."""
    marks = ",".join("?" * len(kinds))
    row = conn.execute(
        f"SELECT COUNT(*) FROM outgoing WHERE created_at >= ? AND kind IN ({marks})"
        " AND NOT (status = 'failed' AND failure = 'perm')",
        (_ts(since), *kinds),
    ).fetchone()
    return int(row[0])


def oldest_pending_at(conn: sqlite3.Connection) -> float | None:
    """POSIX time at which the oldest reply still pending was queued, or None when none waits."""
    row = conn.execute("SELECT MIN(created_at) FROM outgoing WHERE status='pending'").fetchone()
    return None if row is None or row[0] is None else float(row[0])


def queued_on(conn: sqlite3.Connection, rcpt: str, day: date, *, kinds: tuple[str, ...]) -> int:
    """How many messages of ``kinds`` to ``rcpt`` were queued on ``day`` (any status)."""
    marks = ",".join("?" * len(kinds))
    row = conn.execute(
        "SELECT COUNT(*) FROM outgoing_rcpt r JOIN outgoing o ON o.id = r.outgoing_id"
        f" WHERE r.rcpt = ? AND r.day = ? AND o.kind IN ({marks})",
        (rcpt.strip().lower(), day.isoformat(), *kinds),
    ).fetchone()
    return int(row[0])


def sent_with_message_id(conn: sqlite3.Connection, message_id: str):
    """``(kind, tracking, rcpts JSON, created_at)`` of our last message with ``message_id``, as a
    row (by name or index), or None."""
    return conn.execute(
        "SELECT kind, tracking, rcpts, created_at FROM outgoing WHERE message_id=?"
        " ORDER BY id DESC LIMIT 1",
        (message_id,),
    ).fetchone()
