"""The 汇总表 (summary table) in the layout of the notice's 附件3, written with openpyxl.

Layout (sheet ``汇总表``): row 1 the title merged across the six columns; row 2
``推荐单位（盖章）：<unit>`` merged likewise; row 3 the header ``序号 | 项目名称 | 项目类别和方向 |
申报单位名称 | 联系人 | 联系方式（手机与邮箱）``; from row 4 one row per recommended project in
priority order, 序号 1..n, 联系方式 ``mobile / email``. Thin borders, wrapped text, A4 landscape
fitted to one page wide, rows 1–3 repeated on every printed page, print area set; each data row
as tall as its most-wrapped cell needs (neither Excel nor LibreOffice grows rows on opening).
Extra sheets: ``未推荐（超出名额）`` (beyond the quota, notice 二（五）) and ``存在问题`` (defective
dossiers with their outstanding defects), when given.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from outbox.documents.cell_text import put_text
from parsers.facts import DossierFacts

if TYPE_CHECKING:  # openpyxl (~0.2 s to import, numpy with it) is loaded when a table is written
    from openpyxl.worksheet.worksheet import Worksheet

HEADERS = ("序号", "项目名称", "项目类别和方向", "申报单位名称", "联系人", "联系方式（手机与邮箱）")
WIDTHS = (7, 38, 22, 32, 10, 34)  # characters; a CJK character counts about 2
HEADER_ROW = 3
SHEET_MAIN = "汇总表"
SHEET_NOT_RECOMMENDED = "未推荐（超出名额）"
SHEET_DEFECTIVE = "存在问题"

_FONT = "宋体"
# Row heights (points) for wrapped text: neither Excel nor LibreOffice grows a row on opening a
# file, so each data row is given the height its tallest cell needs. One line of 11 pt 宋体 takes
# about 15 pt; a full-width (CJK) character is about 2.2 column-width units wide, others 1.1.
LINE_PT = 15.0
PAD_PT = 6.0
MIN_ROW_PT = 20.0


@dataclass(frozen=True)
class SummaryRow:
    """One project line of the 汇总表; ``mobile``/``email`` may be empty strings."""

    project_name: str
    category_direction: str
    applicant: str
    contact_name: str
    mobile: str
    email: str

    @property
    def contact(self) -> str:
        """``mobile / email``; only the one present when the other is empty."""
        parts = [p.strip() for p in (self.mobile, self.email) if p and p.strip()]
        return " / ".join(parts)


def write_summary_table(
    path: Path,
    rows: list[SummaryRow],
    *,
    title: str,
    unit: str,
    not_recommended: Sequence[SummaryRow] = (),
    defective: Sequence[tuple[SummaryRow, list[str]]] = (),
) -> Path:
    """Write the 汇总表 .xlsx to ``path`` (parent folders created) and return ``path``.

    ``rows`` are the recommended projects in priority order; ``not_recommended`` the ones beyond
    the quota; ``defective`` pairs of a row and its outstanding defects (one text each). All
    values are written as text (a mobile number never becomes a float). Raises ``OSError``.
    """
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_MAIN
    _fill(ws, rows, title=title, unit_line=f"推荐单位（盖章）：{unit}")
    if not_recommended:
        extra = wb.create_sheet(SHEET_NOT_RECOMMENDED)
        _fill(
            extra,
            list(not_recommended),
            title=f"{title}（未推荐：超出名额）",
            unit_line=f"推荐单位：{unit}",
        )
    if defective:
        sheet = wb.create_sheet(SHEET_DEFECTIVE)
        _fill(
            sheet,
            [row for row, _ in defective],
            title=f"{title}（存在问题，未推荐）",
            unit_line=f"推荐单位：{unit}",
            extra_header=("存在问题", 60),
            extra_values=["\n".join(problems) for _, problems in defective],
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _fill(
    ws: Worksheet,
    rows: list[SummaryRow],
    *,
    title: str,
    unit_line: str,
    extra_header: tuple[str, int] | None = None,
    extra_values: list[str] | None = None,
) -> None:
    from openpyxl.styles import Alignment, Border, Font, Side

    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    headers = HEADERS + ((extra_header[0],) if extra_header else ())
    widths = WIDTHS + ((extra_header[1],) if extra_header else ())
    ncols = len(headers)
    last_col = chr(ord("A") + ncols - 1)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    left = Alignment(horizontal="left", vertical="center", wrap_text=True)

    put_text(ws, 1, 1, title).font = Font(name=_FONT, size=16, bold=True)
    ws.cell(row=1, column=1).alignment = center
    ws.merge_cells(f"A1:{last_col}1")
    ws.row_dimensions[1].height = 36
    put_text(ws, 2, 1, unit_line).font = Font(name=_FONT, size=12)
    ws.cell(row=2, column=1).alignment = Alignment(horizontal="left", vertical="center")
    ws.merge_cells(f"A2:{last_col}2")
    ws.row_dimensions[2].height = 24

    for col, (text, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=text)
        cell.font = Font(name=_FONT, size=11, bold=True)
        cell.alignment = center
        cell.border = border
        ws.column_dimensions[chr(ord("A") + col - 1)].width = width
    ws.row_dimensions[HEADER_ROW].height = 30

    for i, row in enumerate(rows, start=1):
        r = HEADER_ROW + i
        values: list[object] = [
            i,
            row.project_name,
            row.category_direction,
            row.applicant,
            row.contact_name,
            row.contact,
        ]
        if extra_values is not None:
            values.append(extra_values[i - 1])
        ws.row_dimensions[r].height = row_height(values, widths)
        for col, value in enumerate(values, start=1):
            cell = put_text(ws, r, col, value)  # applicant text: a string cell, never a formula
            cell.font = Font(name=_FONT, size=11)
            cell.alignment = center if col in (1, 5) else left
            cell.border = border
            if col > 1:
                cell.number_format = "@"  # text: keeps 11-digit mobiles exact

    last_row = HEADER_ROW + max(len(rows), 0)
    ws.print_area = f"A1:{last_col}{last_row}"
    ws.print_title_rows = f"1:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.freeze_panes = f"A{HEADER_ROW + 1}"


def summary_row(facts: DossierFacts) -> SummaryRow:
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


def text_units(text: str) -> float:
    """Width of ``text`` in column-width units (the width of ``0``): full-width characters 2.2,
    others 1.1 (11 pt 宋体 against the default 11 pt font the unit is measured in)."""
    return sum(2.2 if unicodedata.east_asian_width(ch) in "WF" else 1.1 for ch in text)


def wrapped_lines(text: str, width: float) -> int:
    """How many lines ``text`` takes in a wrapped cell ``width`` units wide (each ``\\n`` starts
    a line; about one unit is cell padding)."""
    usable = max(1.0, width - 1.0)
    return sum(max(1, math.ceil(text_units(part) / usable)) for part in str(text).split("\n"))


def row_height(values: Sequence[object], widths: Sequence[float]) -> float:
    """Points a data row needs so that its tallest wrapped cell shows whole."""
    lines = max(wrapped_lines(str(v), w) for v, w in zip(values, widths, strict=False))
    return max(MIN_ROW_PT, lines * LINE_PT + PAD_PT)
