"""Rules on the process rather than the content: deadlines (三（一）) and quotas (二（五）)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from zoneinfo import ZoneInfo

from parsers.facts import DossierFacts
from rules.context import Context
from rules.rule import Hit, Rule
from rules.wording import in_zone, zone_label


def local_time(moment: datetime, tz: str) -> datetime:
    """``moment`` in the campaign's time zone (a naive time is taken as already local)."""
    return in_zone(moment, tz)


def check_late(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    if d.received_at is None:
        return
    level = ctx.campaign.levels.get(ctx.level)
    if level is None or level.deadline is None:
        return  # e.g. a district that has not set its deadline
    received = local_time(d.received_at, ctx.campaign.timezone)
    # "12月1日前" is read as "by the end of 1 December", local time.
    end = datetime.combine(level.deadline, time.max, tzinfo=ZoneInfo(ctx.campaign.timezone))
    if received > end:
        yield {
            "where": "",
            "received": received.strftime("%Y-%m-%d %H:%M") + f"（{zone_label(ctx.campaign.timezone)}）",
            "deadline": level.deadline.isoformat(),
            "level": ctx.level_label,
            "severity": ctx.campaign.late_policy.severity,
        }


def check_quota(ranked: list[DossierFacts], ctx: Context) -> Iterator[Hit]:
    quota = ctx.campaign.quotas.get(ctx.unit_kind or "")
    if quota is None or len(ranked) <= quota.limit:
        return
    for i in range(quota.limit, len(ranked)):
        yield {
            "dossier": i,
            "where": "",
            "rank": i + 1,
            "count": len(ranked),
            "limit": quota.limit,
            "unit": quota.label,
        }


RULES: tuple[Rule, ...] = (
    Rule(
        "LATE_SUBMISSION",
        "三（一）；省、市通知",
        "warning",
        "晚于本级截止时间收到",
        "收到时间 {received}，晚于{level}截止日期 {deadline}",
        "材料已登记；是否受理由经办人决定，如有正当理由请来电说明",
        check_late,
    ),
    Rule(
        "QUOTA_EXCEEDED",
        "二（五）",
        "warning",
        "超过推荐名额，列为不推荐",
        "推荐项目共 {count} 个，{unit}推荐名额原则上不超过 {limit} 个；本项目排序第 {rank} 位，列为不推荐",
        "如需推荐本项目，请调整推荐排序",
        check_quota,
        "packet",
    ),
)
