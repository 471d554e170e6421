"""Setting the recommendation order from a list of tracking numbers: the one path behind
``intake rank`` and the web desk's 排序 form.

The listed dossiers go first in the order given, every other dossier keeps its current place after
them (``bot/upstream/ranking.py``: :func:`~bot.upstream.ranking.with_others`). Listing a 需补正 or
不予推荐 dossier is allowed (its place is kept for when it is corrected or restored) and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.store.database import Store
from bot.store.facts_codec import loads_facts
from bot.upstream import ranking
from bot.upstream.packets import candidates, ensure_schema


@dataclass
class RankOutcome:
    """The stored order (first recommended first) and which listed dossiers are not recommended now."""

    order: list[str]
    listed_defective: list[str] = field(default_factory=list)
    listed_rejected: list[str] = field(default_factory=list)


def rankable(store: Store) -> tuple[list[ranking.Ranked], list[ranking.Ranked], list[ranking.Ranked]]:
    """(accepted, defective, rejected) dossiers as ``ranking.Ranked`` items."""
    ensure_schema(store.conn)
    accepted, defective_rows = candidates(store)
    defective = [i for i, _, _ in defective_rows]
    rejected = []
    for d, v in store.current_versions():
        if d.state == "rejected":
            facts = loads_facts(v["facts"])
            arrived = facts.received_at or datetime.fromisoformat(d.created_at)
            rejected.append(ranking.Ranked(d.tracking, facts, arrived))
    return accepted, defective, rejected


def current_order(store: Store) -> list[str]:
    """The accepted dossiers' tracking numbers in today's recommendation order."""
    accepted, _, _ = rankable(store)
    return [i.tracking for i in ranking.order(accepted, ranking.officer_positions(store.conn))]


def rank(store: Store, listed: list[str], *, source: str) -> RankOutcome:
    """Put ``listed`` (tracking numbers, case-insensitive) first; store the whole order with
    ``source`` (``cli``, ``table:<file name>``, ``web:<officer>``).

    Raises ranking.RankingError for an empty list, unknown or repeated tracking numbers.
    """
    listed = [t.strip().upper() for t in listed if t.strip()]
    if not listed:
        raise ranking.RankingError("no tracking number given")
    accepted, defective, rejected = rankable(store)
    known = {i.tracking for i in accepted + defective + rejected}
    positions = ranking.officer_positions(store.conn)
    current = accepted + [i for i in defective + rejected if i.tracking in positions]
    order = ranking.with_others(listed, current, positions)
    ranking.set_ranking(store.conn, order, known, source=source)
    chosen = set(listed)
    return RankOutcome(
        order,
        [i.tracking for i in defective if i.tracking in chosen],
        [i.tracking for i in rejected if i.tracking in chosen],
    )
