"""Who may change a dossier, and what the desk refused (issue 14, "Trust").

A dossier's *correspondents* are the addresses whose mail may continue it: the original sender
(``dossiers.sender``, the From address of the first mail), every contact email its forms named,
and addresses an officer added (``intake correspondent add T ADDR``, table ``correspondents``).
A tracking tag, an In-Reply-To or a project name in a mail from anybody else changes nothing.

*Trust events* (table ``trust_events``) are what the officers' digest lists under 安全提示: a
stranger quoting another applicant's tracking number, the hourly reply limit being reached.
Both tables are created by schema step 9 (``bot/store/schema.py``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo


@dataclass(frozen=True)
class TrustEvent:
    at: datetime
    kind: str
    tracking: str | None
    sender: str | None
    input_id: int | None
    detail: str


def _norm(addr: str | None) -> str:
    return (addr or "").strip().strip("<>").lower()


def correspondents(conn: sqlite3.Connection, dossier_id: int, tracking: str, sender: str | None) -> set[str]:
    """Every address that may continue dossier ``tracking`` (lower case; see the module docstring)."""
    return set(correspondent_sources(conn, dossier_id, tracking, sender))


def correspondent_sources(
    conn: sqlite3.Connection, dossier_id: int, tracking: str, sender: str | None, tz: tzinfo = UTC
) -> dict[str, str]:
    """Each address that may continue dossier ``tracking`` (lower case) with why, for officers:
    ``发件人`` (the first submission's sender), ``申报书联系邮箱`` (a version's form), or
    ``经办人 <name> 添加于 <YYYY-MM-DD HH:MM in tz>`` (``intake correspondent add``). The first
    reason wins."""
    found: dict[str, str] = {_norm(sender): "发件人"}
    for (facts,) in conn.execute("SELECT facts FROM versions WHERE dossier_id=?", (dossier_id,)):
        try:
            data = json.loads(facts)
        except ValueError:
            continue
        found.setdefault(_norm((data.get("contact") or {}).get("email")), "申报书联系邮箱")
    for addr, who, at in conn.execute(
        "SELECT address, added_by, added_at FROM correspondents WHERE tracking=? ORDER BY added_at", (tracking,)
    ):
        found.setdefault(_norm(addr), f"经办人 {who} 添加于 {datetime.fromisoformat(at).astimezone(tz):%Y-%m-%d %H:%M}")
    found.pop("", None)
    return found


def add_correspondent(conn: sqlite3.Connection, tracking: str, address: str, officer: str, now: datetime) -> bool:
    """Let ``address`` continue dossier ``tracking``; False when it already could via this table."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO correspondents(tracking, address, added_by, added_at) VALUES(?,?,?,?)",
        (tracking, _norm(address), officer, now.isoformat()),
    )
    return cur.rowcount == 1


def rate_alerted(conn: sqlite3.Connection, hour: str) -> bool:
    """True when the hourly reply limit was already recorded for clock hour ``hour``
    (``YYYY-MM-DDTHH``, the start of the event's detail)."""
    return conn.execute("SELECT 1 FROM trust_events WHERE kind='reply_rate' AND detail LIKE ?",
                        (f"{hour}%",)).fetchone() is not None


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
