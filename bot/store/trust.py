"""Who may change a dossier, and what the desk refused (issue 14, "Trust").

A dossier's *correspondents* are the addresses whose mail may continue it: the original sender
(``dossiers.sender``, the From address of the first mail), every contact email its forms named,
and addresses an officer added (``intake correspondent add T ADDR``, table ``correspondents``).
A tracking tag, an In-Reply-To or a project name in a mail from anybody else changes nothing.

*Trust events* (table ``trust_events``) are what the officers' digest lists under 安全提示: a
stranger quoting another applicant's tracking number, the hourly reply limit being reached.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

SCHEMA = """
CREATE TABLE IF NOT EXISTS correspondents(
  tracking TEXT NOT NULL,
  address TEXT NOT NULL,           -- lower case
  added_by TEXT NOT NULL,          -- the officer
  added_at TEXT NOT NULL,
  PRIMARY KEY(tracking, address)
);
CREATE TABLE IF NOT EXISTS trust_events(
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,                -- ISO 8601, aware
  kind TEXT NOT NULL,              -- foreign_tag | reply_rate
  tracking TEXT,
  sender TEXT,
  input_id INTEGER,
  detail TEXT NOT NULL DEFAULT ''
);
"""


@dataclass(frozen=True)
class TrustEvent:
    at: datetime
    kind: str
    tracking: str | None
    sender: str | None
    input_id: int | None
    detail: str


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def _norm(addr: str | None) -> str:
    return (addr or "").strip().strip("<>").lower()


def correspondents(conn: sqlite3.Connection, dossier_id: int, tracking: str, sender: str | None) -> set[str]:
    """Every address that may continue dossier ``tracking`` (lower case; see the module docstring)."""
    found = {_norm(sender)}
    for (facts,) in conn.execute("SELECT facts FROM versions WHERE dossier_id=?", (dossier_id,)):
        try:
            data = json.loads(facts)
        except ValueError:
            continue
        found.add(_norm((data.get("contact") or {}).get("email")))
    found.update(
        _norm(a) for (a,) in conn.execute("SELECT address FROM correspondents WHERE tracking=?", (tracking,))
    )
    found.discard("")
    return found


def add_correspondent(conn: sqlite3.Connection, tracking: str, address: str, officer: str, now: datetime) -> bool:
    """Let ``address`` continue dossier ``tracking``; False when it already could via this table."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO correspondents(tracking, address, added_by, added_at) VALUES(?,?,?,?)",
        (tracking, _norm(address), officer, now.isoformat()),
    )
    return cur.rowcount == 1


def record_event(
    conn: sqlite3.Connection,
    kind: str,
    *,
    at: datetime,
    tracking: str | None = None,
    sender: str | None = None,
    input_id: int | None = None,
    detail: str = "",
) -> None:
    conn.execute(
        "INSERT INTO trust_events(at, kind, tracking, sender, input_id, detail) VALUES(?,?,?,?,?,?)",
        (at.isoformat(), kind, tracking, sender, input_id, detail),
    )


def events_since(conn: sqlite3.Connection, since: datetime | None) -> list[TrustEvent]:
    """Trust events after ``since`` (all when None), oldest first."""
    rows = conn.execute("SELECT at, kind, tracking, sender, input_id, detail FROM trust_events ORDER BY id")
    out = [TrustEvent(datetime.fromisoformat(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]
    return [e for e in out if since is None or e.at > since]
