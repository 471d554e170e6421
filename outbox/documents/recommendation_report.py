"""The draft 推荐报告 (recommendation report, .docx) that goes with a packet; officers complete it.

It states what the notice asks the recommending unit to report (三（一）: the 推荐报告 with the
汇总表): the unit, how many projects were received, checked and are recommended in which order,
and leaves marked blanks (【请填写…】) for the review process and the seal.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from outbox.documents.packet import PacketPlan

BLANK = "【请填写】"
DRAFT_MARK = "（草稿）"


def unfilled(path: Path) -> list[str]:
    """What still marks the report as a draft: each paragraph or table cell holding a 【请填写…】
    blank, and a title still ending in （草稿）. Empty when the officers completed it."""
    from docx import Document

    doc = Document(str(path))
    texts = [p.text for p in doc.paragraphs]
    texts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return [t.strip() for t in texts if "【请填写" in t or t.rstrip().endswith(DRAFT_MARK)]


def write_report(path: Path, plan: PacketPlan) -> Path:
    """Write the draft report for ``plan`` to ``path`` (.docx) and return ``path``."""
    from docx import Document

    doc = Document()
    doc.add_heading(f"{plan.unit}关于推荐{plan.campaign_name}项目的报告{DRAFT_MARK}", level=1)
    n_rec = len(plan.recommended)
    n_all = n_rec + len(plan.not_recommended) + len(plan.defective)
    doc.add_paragraph(
        f"根据{plan.campaign_name}申报通知要求，{plan.unit}组织开展了项目申报和审核推荐工作。"
        f"共收到申报项目 {n_all} 个，经形式审查，推荐 {n_rec} 个项目（排序见汇总表），"
        f"超出推荐名额未推荐 {len(plan.not_recommended)} 个，材料存在问题未推荐 {len(plan.defective)} 个。"
    )
    doc.add_heading("一、推荐项目", level=2)
    table = doc.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("序号", "项目名称", "申报单位名称", "受理编号"), strict=True):
        cell.text = text
    for i, e in enumerate(plan.recommended, 1):
        cells = table.add_row().cells
        for cell, text in zip(cells, (str(i), e.row.project_name, e.row.applicant, e.tracking), strict=True):
            cell.text = text
    doc.add_heading("二、组织审核情况", level=2)
    doc.add_paragraph(f"{BLANK}审核程序、专家评审情况、推荐排序依据。")
    doc.add_heading("三、其他说明", level=2)
    doc.add_paragraph(f"{BLANK}如无，请删除本节。")
    doc.add_paragraph("")
    doc.add_paragraph(f"推荐单位（盖章）：{plan.unit}")
    doc.add_paragraph(f"日期：{BLANK}")
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path
