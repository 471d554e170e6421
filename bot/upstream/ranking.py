"""The recommendation order of accepted dossiers: the officers' order first, else the notice's.

Default order (notice 二（二）): dossiers claiming more of the priority conditions (facts
``priority``: 国家级示范基地, 创新应用已验收, 革命老区, 显著成效) come first, then arrival
(the time the dossier was first received). Officers override it with ``intake rank TRACKING…``
(stored in the table ``ranking``; the dossiers not listed keep their current order after the
listed ones, :func:`with_others`) or by editing a copy of the 汇总表 and reading it back
(:func:`ranking_from_table`): a ``排序`` column when present, else the rows' order.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.errors import IntakeError
from bot.store import ranking as ranking_table
from parsers.facts import DossierFacts
from rules.names import normalise_name

log = logging.getLogger("intake.ranking")

# Header texts an officer may give the ranking column of an edited 汇总表 copy.
RANK_HEADERS = ("排序", "推荐顺序", "推荐排序", "排名", "ranking", "rank")
TRACKING_HEADERS = ("受理编号", "tracking")


@dataclass(frozen=True)
class Ranked:
    """One dossier to rank: its tracking number, facts and first arrival (aware datetime)."""

    tracking: str
    facts: DossierFacts
    arrived: datetime


class RankingError(IntakeError):
    """An officer's ranking names unknown dossiers or cannot be read (message says which)."""


def default_key(item: Ranked) -> tuple[int, datetime, str]:
    """Sort key of the notice's order: more priority conditions first, then earlier arrival."""
    arrived = item.arrived if item.arrived.tzinfo else item.arrived.replace(tzinfo=UTC)
    return (-len(set(item.facts.priority)), arrived, item.tracking)


def officer_positions(conn: sqlite3.Connection) -> dict[str, int]:
    """``{tracking: position}`` as the officers set it (empty when they never ranked)."""
    return ranking_table.positions(conn)


def order(items: Sequence[Ranked], positions: dict[str, int] | None = None) -> list[Ranked]:
    """``items`` in recommendation order: officer-ranked ones by position, the rest after them
    in the default order."""
    positions = positions or {}
    ranked = sorted((i for i in items if i.tracking in positions), key=lambda i: positions[i.tracking])
    rest = sorted((i for i in items if i.tracking not in positions), key=default_key)
    return ranked + rest


def with_others(
    listed: Sequence[str], items: Sequence[Ranked], positions: dict[str, int]
) -> list[str]:
    """The full order after an officer lists only some dossiers: ``listed`` first, then every
    other dossier of ``items`` in its current order (:func:`order` with ``positions``), so ranking
    a subset moves those to the top without reshuffling the others."""
    chosen = set(listed)
    return list(listed) + [i.tracking for i in order(items, positions) if i.tracking not in chosen]


def set_ranking(
    conn: sqlite3.Connection, trackings: Sequence[str], known: set[str], *, source: str = "cli"
) -> None:
    """Store the officers' order: ``trackings[0]`` first. Replaces any earlier ranking.

    Raises RankingError naming tracking numbers that are not dossiers of this store, or repeats.
    """
    unknown = [t for t in trackings if t not in known]
    if unknown:
        raise RankingError(f"unknown tracking number(s): {', '.join(unknown)}")
    repeated = sorted({t for t in trackings if list(trackings).count(t) > 1})
    if repeated:
        raise RankingError(f"tracking number(s) given twice: {', '.join(repeated)}")
    ranking_table.replace_ranking(conn, trackings, source=source)
    log.info("ranking set from %s: %s", source, ", ".join(trackings))


def ranking_from_table(path: Path, items: Sequence[Ranked]) -> list[str]:
    """Tracking numbers in the order an edited 汇总表 copy gives.

    Rows are matched to dossiers by a 受理编号 column when present, else by 申报单位名称 + 项目名称
    (normalised). The order is the ``排序`` column's numbers when the column exists (rows left
    empty go last, in table order), else the rows' order. Raises RankingError when the table
    cannot be read, a row matches no dossier, or (no 排序 column) the 序号 numbers do not rise
    down the table: rows sorted with their old numbers and numbers changed in place look alike.
    """
    from parsers.tables import read_table

    table = read_table(path)
    if not table.readable:
        raise RankingError(f"{path.name}: cannot read the table ({table.problem}: {table.detail})")
    by_tracking = {i.tracking: i for i in items}
    by_names = {
        (normalise_name(i.facts.applicant or ""), normalise_name(i.facts.project_name or "")): i
        for i in items
    }
    # The table reader files a 排序 column as a second 序号 ("seq (2)").
    rank_key = next((k for k in table.columns if k.strip().lower() in RANK_HEADERS), None) or next(
        (k for k in table.columns if k.startswith("seq (")), None)
    tracking_key = next((k for k in table.columns if k.strip().lower() in TRACKING_HEADERS), None)
    rows: list[tuple[float, int, str]] = []
    numbers: list[str] = []  # the 序号 cells in row order (read when there is no 排序 column)
    for rec in table.records:
        cells = rec.cells
        numbers.append((cells.get("seq") or "").strip())
        item = None
        if tracking_key and cells.get(tracking_key):
            item = by_tracking.get((cells.get(tracking_key) or "").strip())
        if item is None:
            key = (
                normalise_name(cells.get("applicant") or ""),
                normalise_name(cells.get("project_name") or ""),
            )
            item = by_names.get(key)
        if item is None:
            raise RankingError(
                f"{path.name} row {rec.excel_row}: {cells.get('project_name') or '(no name)'} "
                "matches no dossier"
            )
        raw = (cells.get(rank_key) or "").strip() if rank_key else ""
        try:
            pos = float(raw) if raw else float("inf")
        except ValueError:
            raise RankingError(f"{path.name} row {rec.excel_row}: 排序 {raw!r} is not a number") from None
        rows.append((pos if rank_key else float(rec.row), rec.row, item.tracking))
    if rank_key is None and _renumbered(numbers):
        # Rows sorted in Excel carry their old 序号 along; 序号 renumbered in place leaves the
        # rows where they were. Either reading could be the officer's meaning: say so, guess not.
        raise RankingError(
            f"{path.name}: 序号 is not in the rows' order ({', '.join(numbers)}). Put the rows in the "
            "order you want and number 序号 1, 2, 3… down the table, or add a 排序 column "
            "(序号与行的顺序不一致：请按推荐顺序排列各行并重新编号，或增加一列“排序”)")
    rows.sort()
    return [t for _, _, t in rows]


def _renumbered(numbers: list[str]) -> bool:
    """True when the 序号 cells are all numbers but do not rise down the table."""
    try:
        values = [float(n) for n in numbers]
    except ValueError:
        return False
    return any(b < a for a, b in zip(values, values[1:], strict=False))
