"""What every check may consult besides the facts: the campaign, the level, the clock."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from rules.campaign import Campaign
from rules.winners import Winner

LEVEL_LABELS = {"district": "区级", "city": "市级", "province": "省级", "ministry": "部级"}


@dataclass(frozen=True)
class Context:
    """The setting of one evaluation.

    ``level``: ``district`` | ``city`` | ``province`` | ``ministry`` (the desk we run for).
    ``now``: the (possibly pinned) clock; ``winners``: the earlier-winners list, loaded once.
    ``unit_kind``: the recommending unit's quota key, only when building a packet.
    ``judged``: the indices of the dossiers being judged (``evaluate(targets=...)``; None: all):
    a cross-dossier check may skip the per-dossier work of the others, whose hits are dropped.
    """

    campaign: Campaign
    level: str = "city"
    now: datetime | None = None
    winners: tuple[Winner, ...] = ()
    unit_kind: str | None = None
    judged: frozenset[int] | None = None

    def judging(self, n: int) -> Iterable[int]:
        """The indices among ``n`` dossiers whose findings are wanted, in order."""
        return range(n) if self.judged is None else sorted(i for i in self.judged if i < n)

    @property
    def level_label(self) -> str:
        """The level in Chinese (``市级``), from the profile when it names it."""
        lv = self.campaign.levels.get(self.level)
        return lv.label if lv else LEVEL_LABELS.get(self.level, self.level)
