"""The 汇总表 of this instance's dossiers: accepted ones recommended in order, the rest listed."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.facts_codec import loads_facts
from bot.pipeline import findings_of
from bot.store import Store
from outbox.summary_table import SummaryRow, write_summary_table
from rules.campaign import load_campaign


def summary_row(facts) -> SummaryRow:
    """One row of the notice's 附件3 from a dossier's facts (项目类别和方向 as ``类别-方向``)."""
    cat_dir = "-".join(x for x in (facts.category, facts.direction) if x)
    return SummaryRow(
        project_name=facts.project_name or "",
        category_direction=cat_dir,
        applicant=facts.applicant or "",
        contact_name=facts.contact.name or "",
        mobile=facts.contact.mobile or "",
        email=facts.contact.email or "",
    )


def build_summary(settings: Settings, path: Path) -> tuple[Path, dict[str, int]]:
    """Write the 汇总表 (.xlsx) for every current dossier; returns (path, counts).

    Accepted dossiers are recommended in arrival order (officers rank them later, issue 7);
    defective ones go to the sheet 存在问题 with their outstanding defects.
    """
    campaign = load_campaign(settings.campaign.profile)
    store = Store.open(settings.store.db_path, settings.store.archive_dir)
    try:
        recommended, defective = [], []
        for d, v in store.current_versions():
            if d.state != "open":
                continue
            facts = loads_facts(v["facts"])
            if v["verdict"] == "accepted":
                recommended.append(summary_row(facts))
            else:
                defects = [f"{f.code}：{f.message}" for f in findings_of(v) if f.severity == "error"]
                defective.append((summary_row(facts), defects))
    finally:
        store.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    title = campaign.table.title or f"{campaign.name}推荐项目汇总表"
    write_summary_table(path, recommended, title=title, unit=settings.office.unit, defective=defective)
    return path, {"recommended": len(recommended), "defective": len(defective), "over_quota": 0}
