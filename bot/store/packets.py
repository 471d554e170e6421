"""The packet tables: packets built and the parts sent upstream; packets received from below
(parts kept until all have arrived, then the registered packet)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_built(conn: sqlite3.Connection, packet_id: str, folder: Path, dossiers: int) -> None:
    """Remember a built packet's folder and how many dossiers it recommends."""
    conn.execute(
        "INSERT OR REPLACE INTO packets(id, dir, built_at, dossiers) VALUES(?,?,?,?)",
        (packet_id, str(folder), _now(), dossiers),
    )


def latest_built(conn: sqlite3.Connection) -> Path | None:
    """The folder of the packet built last, or None."""
    row = conn.execute("SELECT dir FROM packets ORDER BY rowid DESC LIMIT 1").fetchone()
    return Path(row[0]) if row else None


def parts_sent(conn: sqlite3.Connection, packet_id: str, total: int, split: str) -> set[int]:
    """Parts ``k`` of ``total`` of the packet, cut as ``split`` (the split's digest), already
    acknowledged by the upstream relay. A part sent in another split does not count: the level
    above joins only the parts of one split."""
    return {r[0] for r in conn.execute(
        "SELECT part FROM packet_sends WHERE packet_id=? AND total=? AND split=?",
        (packet_id, total, split))}


def any_part_sent(conn: sqlite3.Connection, packet_id: str) -> bool:
    """True when at least one part of ``packet_id`` was sent."""
    return conn.execute("SELECT 1 FROM packet_sends WHERE packet_id=? LIMIT 1", (packet_id,)).fetchone() is not None


def record_part_sent(conn: sqlite3.Connection, packet_id: str, part: int, total: int, *,
                     split: str, message_id: str, size: int, response: str) -> None:
    """Remember that part ``part``/``total`` of the split ``split`` (``size`` bytes) was accepted
    with ``response``."""
    conn.execute(
        "INSERT OR REPLACE INTO packet_sends(packet_id, part, total, message_id, bytes, sent_at,"
        " response, split) VALUES(?,?,?,?,?,?,?,?)",
        (packet_id, part, total, message_id, size, _now(), response, split),
    )


def registry_key(conn: sqlite3.Connection, packet_id: str, unit: str) -> str:
    """The ``packets_in`` key of ``packet_id`` as signed by ``unit``: the id itself, unless another
    signer registered that id first (ids are predictable: campaign, division, sequence), then
    ``"<id> [<unit>]"``, so one signer cannot make another's packet look already registered."""
    row = conn.execute("SELECT unit FROM packets_in WHERE packet_id=?", (packet_id,)).fetchone()
    return packet_id if row is None or row[0] == unit else f"{packet_id} [{unit}]"


def is_registered(conn: sqlite3.Connection, packet_id: str, *, unit: str | None = None) -> bool:
    """True when a packet from below with this id (signed by ``unit``, when given) was registered already."""
    if unit is None:
        return conn.execute("SELECT 1 FROM packets_in WHERE packet_id=?", (packet_id,)).fetchone() is not None
    return conn.execute("SELECT 1 FROM packets_in WHERE packet_id=? AND unit=?",
                        (packet_id, unit)).fetchone() is not None


class HeldPart(NamedTuple):
    """A part kept from below: its input, the From it came from, and the sha256 of its signed
    zip, kept in the archive (None: kept before zips were archived; read from its mail)."""

    input_id: int
    sender: str | None
    zip_sha256: str | None


def add_part_in(conn: sqlite3.Connection, packet_id: str, part: int, total: int, input_id: int,
                sender: str | None, zip_sha256: str | None = None) -> dict[int, HeldPart]:
    """Keep one received part (a repeat is ignored); returns ``{part: HeldPart}`` of those held."""
    conn.execute(
        "INSERT OR IGNORE INTO packet_parts_in(packet_id, part, total, input_id, sender, zip_sha256)"
        " VALUES(?,?,?,?,?,?)",
        (packet_id, part, total, input_id, sender, zip_sha256),
    )
    return {r[0]: HeldPart(r[1], r[2], r[3]) for r in conn.execute(
        "SELECT part, input_id, sender, zip_sha256 FROM packet_parts_in WHERE packet_id=? AND total=?",
        (packet_id, total))}


def record_registered(conn: sqlite3.Connection, packet_id: str, *, sender: str | None,
                      unit: str | None, input_id: int, results: list[dict],
                      created_at: str | None = None) -> None:
    """Remember a registered packet from below, each project's result (``[{tracking, result}]``)
    and when its signed manifest says it was built (``created_at``, ISO 8601)."""
    conn.execute(
        "INSERT OR REPLACE INTO packets_in(packet_id, sender, unit, registered_at, input_id, result,"
        " created_at) VALUES(?,?,?,?,?,?,?)",
        (packet_id, sender, unit, datetime.now(UTC).isoformat(), input_id,
         json.dumps(results, ensure_ascii=False), created_at),
    )


def packet_of_current_version(conn: sqlite3.Connection, dossier_id: int, unit: str) -> tuple[str, str | None] | None:
    """The packet of ``unit`` that gave dossier ``dossier_id`` its current version: its
    ``packets_in`` key and when its signed manifest says it was built (None: unknown); None when
    no packet of ``unit`` did."""
    row = conn.execute(
        "SELECT p.packet_id, p.created_at FROM dossiers d JOIN versions v"
        " ON v.dossier_id=d.id AND v.version=d.current_version"
        " JOIN packets_in p ON p.input_id=v.input_id AND p.unit=? WHERE d.id=?",
        (unit, dossier_id)).fetchone()
    return None if row is None else (str(row[0]), row[1])


def overview(conn: sqlite3.Connection) -> dict[str, list[dict]]:
    """What ``intake status`` shows of packets: ``built`` (this level's, newest first: id, when,
    dossiers, parts acknowledged by the relay of how many), ``received`` (from the level below:
    id, signer unit, sender, when registered, projects registered / listed) and ``waiting``
    (parts kept for a packet not yet whole: its key, parts held, of how many)."""
    built = []
    for pid, built_at, n in conn.execute("SELECT id, built_at, dossiers FROM packets ORDER BY built_at DESC"):
        sent = conn.execute("SELECT COUNT(*), MAX(total) FROM packet_sends WHERE packet_id=?", (pid,)).fetchone()
        built.append({"packet_id": pid, "built_at": built_at, "dossiers": n,
                      "parts_sent": int(sent[0] or 0), "parts": sent[1]})
    received = []
    for pid, unit, sender, at, result in conn.execute(
            "SELECT packet_id, unit, sender, registered_at, result FROM packets_in ORDER BY registered_at DESC"):
        results = json.loads(result or "[]")
        received.append({"packet_id": pid, "unit": unit, "sender": sender, "registered_at": at,
                         "registered": sum(1 for r in results if str(r.get("result", "")).startswith("已登记")),
                         "projects": len(results)})
    done = {(str(key).split(" ", 1)[0], unit) for key, unit in conn.execute("SELECT packet_id, unit FROM packets_in")}
    waiting = [{"key": key, "held": int(held), "total": int(total)} for key, held, total in conn.execute(
        "SELECT packet_id, COUNT(*), total FROM packet_parts_in GROUP BY packet_id, total")
        if _id_and_unit(str(key)) not in done]
    return {"built": built, "received": received, "waiting": waiting}


def _id_and_unit(parts_key: str) -> tuple[str, str]:
    """(packet id, signer unit) of a ``packet_parts_in`` key ``"<id> [<unit>]"`` or ``"<id>
    [<unit>] split <digest>"`` (a packet id holds no space: ``manifest_problem``)."""
    pid, _, rest = parts_key.partition(" [")
    unit = rest.rsplit("] split ", 1)[0] if "] split " in rest else rest.removesuffix("]")
    return pid, unit
