"""Bounces of our mails, recorded on the dossier they concern (``intake show``, ``intake status``).

One row per returned mail and recipient (``UNIQUE(message_id, rcpt)``): a provider that sends the
same 退信 twice, or a DSN repeated by a second relay, is recorded once, so the officers are alerted
once. Times are stored as ISO 8601 (UTC) like the rest of the store.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from bot.store.database import Store

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS bounces(
  id INTEGER PRIMARY KEY,
  tracking TEXT NOT NULL,           -- the dossier our returned mail was about
  message_id TEXT NOT NULL,         -- our returned mail's Message-ID ('' when not quoted)
  rcpt TEXT NOT NULL,               -- the address it did not reach ('' when not said)
  reply_kind TEXT NOT NULL,         -- what bounced: receipt | defect_notice | decision_* | …
  form TEXT NOT NULL,               -- dsn (RFC 3464) | text (a provider's 退信 in words)
  status TEXT,                      -- RFC 3463 code (5.7.1) when given
  cause TEXT NOT NULL,              -- content_rejected | no_such_user | mailbox_full | other
  reason TEXT NOT NULL,             -- the remote server's words (550 Mail content denied)
  input_id INTEGER NOT NULL,        -- the bounce mail in the inbox ledger
  at TEXT NOT NULL,                 -- when the bounce was read
  UNIQUE(message_id, rcpt)
)""",
    "CREATE INDEX IF NOT EXISTS bounces_tracking ON bounces(tracking)",
)


@dataclass(frozen=True)
class BounceRow:
    """One recorded bounce (see the table's comments)."""

    id: int
    tracking: str
    message_id: str
    rcpt: str
    reply_kind: str
    form: str
    status: str | None
    cause: str
    reason: str
    input_id: int
    at: str

    def to_json(self) -> dict[str, Any]:
        """``{"tracking", "to", "kind", "reason", "at"}`` plus ``form``, ``status``, ``cause``,
        ``message_id`` (``intake status --json``, ``intake show --json``)."""
        d = asdict(self)
        return {
            "tracking": d["tracking"], "to": d["rcpt"], "kind": d["reply_kind"],
            "reason": d["reason"], "at": d["at"], "form": d["form"], "status": d["status"],
            "cause": d["cause"], "message_id": d["message_id"],
        }  # fmt: skip


def ensure_schema(store: Store) -> None:
    """Create the table if absent (idempotent; safe inside a transaction)."""
    for statement in SCHEMA:
        store.conn.execute(statement)


def record_bounce(
    store: Store,
    *,
    tracking: str,
    message_id: str,
    rcpt: str,
    reply_kind: str,
    form: str,
    status: str | None,
    cause: str,
    reason: str,
    input_id: int,
    at: datetime,
) -> int | None:
    """Record one bounce in the caller's transaction; its id, or None when this returned mail and
    recipient were recorded already (a repeated 退信)."""
    ensure_schema(store)
    cur = store.conn.execute(
        "INSERT OR IGNORE INTO bounces (tracking, message_id, rcpt, reply_kind, form, status,"
        " cause, reason, input_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (tracking, message_id, rcpt, reply_kind, form, status, cause, reason, input_id,
         at.isoformat(timespec="seconds")),
    )  # fmt: skip
    return int(cur.lastrowid) if cur.rowcount else None


def bounces(store: Store, tracking: str | None = None) -> list[BounceRow]:
    """Recorded bounces, oldest first; only those of ``tracking`` when given."""
    ensure_schema(store)
    sql = "SELECT id, tracking, message_id, rcpt, reply_kind, form, status, cause, reason, input_id, at FROM bounces"
    rows = (
        store.conn.execute(sql + " WHERE tracking=? ORDER BY id", (tracking,))
        if tracking
        else store.conn.execute(sql + " ORDER BY id")
    )
    return [BounceRow(*tuple(r)) for r in rows]
