"""The 汇总表 of this instance's dossiers: accepted ones recommended in order, the rest listed."""

from __future__ import annotations

from pathlib import Path

from bot.config.model import Settings
from bot.store.database import Store
from bot.upstream.packets import plan_packet
from outbox.documents.summary_table import write_summary_table
from rules.campaign import load_campaign


def build_summary(settings: Settings, path: Path) -> tuple[Path, dict[str, int]]:
    """Write the 汇总表 (.xlsx) for every current dossier; returns (path, counts).

    Accepted dossiers are recommended in the officers' order (``bot/upstream/ranking.py``), beyond the
    quota on 未推荐（超出名额）; defective ones go to the sheet 存在问题 with their outstanding defects.
    """
    campaign = load_campaign(settings.campaign.profile)
    store = Store.open(settings.store.db_path, settings.store.archive_dir)
    try:
        plan = plan_packet(settings, store, campaign, "summary")
    finally:
        store.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_summary_table(
        path, [e.row for e in plan.recommended], title=plan.title, unit=settings.office.unit,
        not_recommended=[e.row for e in plan.not_recommended],
        defective=[(e.row, problems) for e, problems in plan.defective],
    )
    return path, {"recommended": len(plan.recommended), "defective": len(plan.defective),
                  "over_quota": len(plan.not_recommended)}
