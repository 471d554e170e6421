"""What one officers' digest shows: the shape ``bot/digest/build.py`` gathers and
``outbox/documents/digest.py`` renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rules.wording import DEFAULT_TZ


@dataclass
class CategoryCounts:
    received: int = 0
    accepted: int = 0
    defective: int = 0
    awaiting: int = 0
    late: int = 0


@dataclass
class DigestData:
    """Everything one digest shows (times aware, days whole)."""

    unit: str
    level: str
    campaign_name: str
    now: datetime
    deadline: str | None
    days_left: int | None
    scope: str  # 全部类别 | the officer's categories joined
    counts: dict[str, CategoryCounts] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    defects: list[tuple[str, str, str, list[str]]] = field(default_factory=list)  # tracking, project, applicant, errors
    limits: list[tuple[str, str, str]] = field(default_factory=list)  # tracking, applicant, message
    quota: tuple[int, int, str] | None = None  # accepted, limit, label
    bounces: list[tuple[str, str]] = field(default_factory=list)  # tracking or kind, error
    quarantined: list[tuple[int, str, str]] = field(default_factory=list)  # input id, name, error line
    decisions: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)  # trust events since the last digest (issue 14)
    tasks: list[str] = field(default_factory=list)  # what officers must do (fetch a video, decide)
    links: list[str] = field(default_factory=list)  # cloud-drive videos to fetch (due / expired)
    snapshot: dict[str, str] = field(default_factory=dict)
    timezone: str = DEFAULT_TZ  # the campaign's; ``now`` is in it

    @property
    def total(self) -> CategoryCounts:
        t = CategoryCounts()
        for c in self.counts.values():
            for k in vars(t):
                setattr(t, k, getattr(t, k) + getattr(c, k))
        return t
