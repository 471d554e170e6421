"""One schema with numbered migrations (bot/store/schema.py), and SQL only in the store and the
outgoing queue."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

from bot.store import schema
from bot.store.database import Store
from outbox.delivery import queue

ROOT = Path(__file__).resolve().parents[1]
TABLES = {"meta", "inputs", "dossiers", "versions", "counters", "outgoing", "outgoing_rcpt",
          "decisions", "digests", "packets", "packet_sends", "ranking", "packet_parts_in", "packets_in",
          "uid_copies", "input_threads", "officer_requests", "bounces", "storage_use", "correspondents",
          "trust_events"}


def tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_steps_are_numbered_one_by_one():
    assert [m.number for m in schema.MIGRATIONS] == list(range(1, len(schema.MIGRATIONS) + 1))
    assert schema.SCHEMA_VERSION == len(schema.MIGRATIONS)


def test_a_new_store_has_every_table_and_the_last_version(tmp_path):
    store = Store.open(tmp_path / "s.sqlite3", tmp_path / "archive")
    try:
        assert tables(store.conn) >= TABLES
        assert schema.schema_version(store.conn) == schema.SCHEMA_VERSION
        meta = store.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        assert meta[0] == str(schema.SCHEMA_VERSION)
        # the decisions table keeps its append-only triggers (a trigger body holds a ';')
        triggers = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
        assert triggers == {"decisions_no_update", "decisions_no_delete"}
    finally:
        store.close()


def test_a_store_from_before_the_numbering_is_adopted_with_its_rows(tmp_path):
    # Before: user_version 0, the core tables and the queue made by one script, the other tables
    # made by each module on first use (here the digests table, with a row).
    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript(schema.CORE + queue.SCHEMA + schema.DIGESTS)
    conn.execute("INSERT INTO meta(key, value) VALUES('schema_version', '1')")
    conn.execute("INSERT INTO digests(recipient, at, snapshot) VALUES('a@x.cn', '2026-01-01T00:00:00+00:00', '{}')")
    conn.close()
    store = Store.open(db, tmp_path / "archive")
    try:
        assert schema.schema_version(store.conn) == schema.SCHEMA_VERSION
        assert tables(store.conn) >= TABLES
        assert store.conn.execute("SELECT COUNT(*) FROM digests").fetchone()[0] == 1
        # step 9: parses counted on an input made before budgets existed
        columns = {r[1] for r in store.conn.execute("PRAGMA table_info(inputs)")}
        assert {"parse_attempts", "parse_slow"} <= columns
    finally:
        store.close()
    again = Store.open(db, tmp_path / "archive")  # opening again applies nothing new
    try:
        assert schema.migrate(again.conn) == schema.SCHEMA_VERSION
    finally:
        again.close()


def test_only_missing_steps_run(tmp_path):
    conn = sqlite3.connect(tmp_path / "s.sqlite3", isolation_level=None)
    conn.executescript(schema.MIGRATIONS[0].sql)
    conn.execute("PRAGMA user_version = 1")
    assert "digests" not in tables(conn)
    assert schema.migrate(conn) == schema.SCHEMA_VERSION
    assert "digests" in tables(conn)


SQL_CALLS = {"execute", "executemany", "executescript"}
SQL_HOMES = ("bot/store/", "outbox/delivery/queue.py", "outbox/delivery/held.py")


def test_sql_lives_only_in_the_store_and_the_outgoing_queue_and_its_held_replies():
    offenders = []
    for pkg in ("bot", "outbox", "rules", "parsers"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(SQL_HOMES):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in SQL_CALLS):
                    offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []


def test_the_reply_rate_is_counted_from_an_index_not_the_stored_mails(tmp_path):
    """GIVEN a store WHEN the hourly reply rate is counted (before every reply) THEN SQLite reads
    only the covering index: the queued rows, each holding a whole mail, are not read (before
    step 10 the count read O(N) stored mail bytes per reply)."""
    from datetime import UTC, datetime

    store = Store.open(tmp_path / "intake.sqlite3", tmp_path / "archive")
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    queue.queued_since(store.conn, datetime(2023, 11, 29, tzinfo=UTC), ("receipt", "defect_notice"))
    store.conn.set_trace_callback(None)
    (sql,) = [s for s in seen if "COUNT(*) FROM outgoing" in s]
    plan = " ".join(str(r[3]) for r in store.conn.execute("EXPLAIN QUERY PLAN " + sql))
    assert "COVERING INDEX outgoing_created" in plan, plan
    store.close()
