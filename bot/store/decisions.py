"""Officers' decisions (waive, reject, restore, note): an append-only audit table in the store.

Every decision records who (the officer's configured name or address), when, what (the action,
the tracking number, the finding code for a waiver) and why; rows are never updated or deleted,
and SQLite triggers refuse any UPDATE or DELETE on the table (the notice makes the bureau answer
for what it forwards: 审核单位资质、材料完整性和项目真实性). A waiver makes the pipeline drop that
finding code for that dossier (``bot/processing/pipeline.py``); a rejection (不予推荐) sets ``dossiers.state``
to ``rejected`` until a restore. The functions here validate and record only; recomputing
verdicts and telling the sender is ``bot/officers/actions.py``'s job.

Each writing function runs inside the caller's transaction when one is open on ``store.conn``,
else in its own.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from bot.store.database import Store
from rules.catalog import CODES

log = logging.getLogger("intake.decisions")

Action = Literal["waive", "reject", "restore", "note"]
ACTIONS: tuple[str, ...] = ("waive", "reject", "restore", "note")

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS decisions(
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,                 -- ISO 8601 with offset
  at_ts REAL NOT NULL,              -- the same moment in POSIX seconds (for range queries)
  officer TEXT NOT NULL,            -- configured officer name, else the mail address or $USER
  action TEXT NOT NULL CHECK (action IN ('waive', 'reject', 'restore', 'note')),
  tracking TEXT NOT NULL,
  code TEXT,                        -- waive: the finding code; else NULL
  reason TEXT NOT NULL DEFAULT '',  -- why (waive, reject, restore) or the note's text
  via TEXT NOT NULL DEFAULT 'cli',  -- cli | mail
  envelope_sender TEXT,             -- mail: Return-Path of the mail that authorised it
  message_id TEXT,                  -- mail: its Message-ID
  token TEXT                        -- mail: the confirmation token used (NULL: trusted dkim pass)
)""",
    "CREATE INDEX IF NOT EXISTS decisions_tracking ON decisions(tracking)",
    "CREATE INDEX IF NOT EXISTS decisions_at ON decisions(at_ts)",
    """CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only: rows are never updated'); END""",
    """CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only: rows are never deleted'); END""",
)


@dataclass(frozen=True)
class Decision:
    """One recorded decision (a row of the audit table)."""

    id: int
    at: datetime  # aware
    officer: str
    action: str  # waive | reject | restore | note
    tracking: str
    code: str | None
    reason: str
    via: str  # cli | mail | web (the web desk)
    envelope_sender: str | None = None  # mail: Return-Path of the authorising mail
    message_id: str | None = None  # mail: its Message-ID
    token: str | None = None  # mail: the confirmation token used


@dataclass(frozen=True)
class Evidence:
    """What authorised a decision taken by mail (bot/officers/mail.py): the envelope sender
    (Return-Path) and Message-ID of the officer's confirming reply, and the token it carried."""

    envelope_sender: str | None = None
    message_id: str | None = None
    token: str | None = None


_EVIDENCE_COLUMNS = ("envelope_sender", "message_id", "token")


class DecisionError(Exception):
    """A decision that cannot be taken; ``kind`` is a stable slug, the message is Chinese.

    Kinds: ``unknown_tracking``, ``unknown_code``, ``reason_required``, ``already_waived``,
    ``already_rejected``, ``not_rejected``, ``empty_note``; raised by ``bot/officers/actions.py``:
    ``not_allowed`` (an officer deciding outside their categories) and ``not_present`` (a waiver
    of a code the dossier's current version does not have, without ``--force``).
    """

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


def ensure_schema(store: Store) -> None:
    """Create the table and its triggers if absent (idempotent; safe inside a transaction)."""
    conn = store.conn
    if getattr(store, "_decisions_ready", False):
        return
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='trigger' AND name='decisions_no_delete'"
    ).fetchone():
        for statement in SCHEMA:
            conn.execute(statement)
    columns = {r[1] for r in conn.execute("PRAGMA table_info(decisions)")}
    for column in _EVIDENCE_COLUMNS:
        if column not in columns:  # a store made before issue 14: the audit gains the columns
            conn.execute(f"ALTER TABLE decisions ADD COLUMN {column} TEXT")
    store._decisions_ready = True  # type: ignore[attr-defined]


@contextmanager
def _tx(store: Store) -> Iterator[sqlite3.Connection]:
    conn = store.conn
    if conn.in_transaction:
        yield conn
    else:
        with store.transaction():
            yield conn


def _now(now: datetime | None) -> datetime:
    now = now or datetime.now(UTC)
    return now if now.tzinfo is not None else now.astimezone()


def _require_dossier(store: Store, tracking: str) -> str:
    tracking = tracking.strip().upper()
    if store.dossier_by_tracking(tracking) is None:
        raise DecisionError("unknown_tracking", f"受理编号 {tracking} 不存在，请核对。")
    return tracking


def _insert(
    store: Store,
    action: str,
    tracking: str,
    *,
    officer: str,
    reason: str,
    code: str | None,
    via: str,
    now: datetime | None,
    evidence: Evidence | None = None,
) -> Decision:
    at = _now(now).replace(microsecond=0)
    ev = evidence or Evidence()
    cur = store.conn.execute(
        "INSERT INTO decisions(at, at_ts, officer, action, tracking, code, reason, via,"
        " envelope_sender, message_id, token) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
        (
            at.isoformat(timespec="seconds"),
            at.timestamp(),
            officer,
            action,
            tracking,
            code,
            reason,
            via,
            ev.envelope_sender,
            ev.message_id,
            ev.token,
        ),
    )
    log.info("%s %s%s recorded (via %s)", action, tracking, f" {code}" if code else "", via)
    return Decision(int(cur.lastrowid or 0), at, officer, action, tracking, code, reason, via,
                    ev.envelope_sender, ev.message_id, ev.token)  # fmt: skip


def waive(
    store: Store,
    tracking: str,
    code: str,
    *,
    officer: str,
    reason: str,
    via: str = "cli",
    now: datetime | None = None,
    evidence: Evidence | None = None,
) -> Decision:
    """Record that ``code`` no longer counts against dossier ``tracking`` (豁免).

    ``code`` must be a catalogue code (``rules/catalog.py``); a reason is required. Raises
    DecisionError (``unknown_tracking``, ``unknown_code``, ``reason_required``, ``already_waived``).
    """
    ensure_schema(store)
    code = code.strip().upper()
    if code not in CODES:
        raise DecisionError(
            "unknown_code", f"问题代码 {code} 不存在（可用代码见 rules/README.md）。"
        )
    if not reason.strip():
        raise DecisionError("reason_required", "豁免须注明原因。")
    with _tx(store):
        tracking = _require_dossier(store, tracking)
        if code in waived_codes(store).get(tracking, set()):
            raise DecisionError("already_waived", f"{tracking} 的 {code} 已豁免，无需重复。")
        return _insert(
            store,
            "waive",
            tracking,
            officer=officer,
            reason=reason.strip(),
            code=code,
            via=via,
            now=now,
            evidence=evidence,
        )


def reject(
    store: Store,
    tracking: str,
    *,
    officer: str,
    reason: str,
    via: str = "cli",
    now: datetime | None = None,
    evidence: Evidence | None = None,
) -> Decision:
    """Record 不予推荐 for ``tracking`` and set ``dossiers.state = 'rejected'``.

    Raises DecisionError (``unknown_tracking``, ``reason_required``, ``already_rejected``).
    """
    ensure_schema(store)
    if not reason.strip():
        raise DecisionError("reason_required", "不予推荐须注明原因（将告知申报单位）。")
    return _set_state(store, tracking, "reject", "rejected", officer=officer, reason=reason, via=via,
                      now=now, evidence=evidence)  # fmt: skip


def restore(
    store: Store,
    tracking: str,
    *,
    officer: str,
    reason: str = "",
    via: str = "cli",
    now: datetime | None = None,
    evidence: Evidence | None = None,
) -> Decision:
    """Undo a rejection: record 恢复 and set ``dossiers.state = 'open'`` (reason optional).

    Raises DecisionError (``unknown_tracking``, ``not_rejected``).
    """
    ensure_schema(store)
    return _set_state(store, tracking, "restore", "open", officer=officer, reason=reason, via=via,
                      now=now, evidence=evidence)  # fmt: skip


def _set_state(
    store: Store,
    tracking: str,
    action: str,
    state: str,
    *,
    officer: str,
    reason: str,
    via: str,
    now: datetime | None,
    evidence: Evidence | None = None,
) -> Decision:
    """Record ``action`` (reject | restore) and move the dossier to ``state``, in one transaction."""
    with _tx(store):
        tracking = _require_dossier(store, tracking)
        rejected = is_rejected(store, tracking)
        if action == "reject" and rejected:
            raise DecisionError("already_rejected", f"{tracking} 已是不予推荐状态。")
        if action == "restore" and not rejected:
            raise DecisionError("not_rejected", f"{tracking} 未被设为不予推荐，无需恢复。")
        decision = _insert(
            store, action, tracking, officer=officer, reason=reason.strip(), code=None, via=via,
            now=now, evidence=evidence,
        )  # fmt: skip
        store.conn.execute("UPDATE dossiers SET state=? WHERE tracking=?", (state, tracking))
        return decision


def note(
    store: Store,
    tracking: str,
    text: str,
    *,
    officer: str,
    via: str = "cli",
    now: datetime | None = None,
    evidence: Evidence | None = None,
) -> Decision:
    """Record an internal note (备注) on ``tracking``; never sent to the applicant.

    Raises DecisionError (``unknown_tracking``, ``empty_note``).
    """
    ensure_schema(store)
    if not text.strip():
        raise DecisionError("empty_note", "备注内容为空。")
    with _tx(store):
        tracking = _require_dossier(store, tracking)
        return _insert(
            store,
            "note",
            tracking,
            officer=officer,
            reason=text.strip(),
            code=None,
            via=via,
            now=now,
            evidence=evidence,
        )


def _row(r: sqlite3.Row) -> Decision:
    return Decision(
        id=r["id"],
        at=datetime.fromisoformat(r["at"]),
        officer=r["officer"],
        action=r["action"],
        tracking=r["tracking"],
        code=r["code"],
        reason=r["reason"],
        via=r["via"],
        envelope_sender=r["envelope_sender"],
        message_id=r["message_id"],
        token=r["token"],
    )


def _select(store: Store, where: str, args: tuple) -> list[Decision]:
    ensure_schema(store)
    rows = store.conn.execute(f"SELECT * FROM decisions WHERE {where} ORDER BY id", args).fetchall()
    return [_row(r) for r in rows]


def decisions_for(store: Store, tracking: str) -> list[Decision]:
    """Every decision on ``tracking``, oldest first."""
    return _select(store, "tracking=?", (tracking.strip().upper(),))


def recent_decisions(store: Store, since: datetime) -> list[Decision]:
    """Every decision taken at or after ``since`` (aware; naive is local time), oldest first.

    For the officers' digest: "decisions since the last digest".
    """
    since = since if since.tzinfo is not None else since.astimezone()
    return _select(store, "at_ts >= ?", (since.timestamp(),))


def waived_codes(store: Store) -> dict[str, set[str]]:
    """``{tracking: {code, …}}``: the finding codes waived per dossier (every waiver counts)."""
    out: dict[str, set[str]] = {}
    for d in _select(store, "action='waive'", ()):
        if d.code:
            out.setdefault(d.tracking, set()).add(d.code)
    return out


def is_rejected(store: Store, tracking: str) -> bool:
    """True when the latest reject/restore decision on ``tracking`` is a rejection (不予推荐)."""
    rows = _select(
        store, "tracking=? AND action IN ('reject', 'restore')", (tracking.strip().upper(),)
    )
    return bool(rows) and rows[-1].action == "reject"
