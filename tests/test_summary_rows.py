"""The 汇总表 stays readable where text wraps (issue 17, item 3): every data row, on every sheet, is
tall enough for its wrapped cells, in the .xlsx and in the 汇总表.pdf LibreOffice prints from it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from outbox.documents.summary_table import (
    HEADER_ROW,
    SHEET_DEFECTIVE,
    SHEET_MAIN,
    SHEET_NOT_RECOMMENDED,
    SummaryRow,
    write_summary_table,
)
from parsers.office_convert import find_soffice

LONG_CATEGORY = "平台类-特色专业型工业互联网平台"  # wraps in the 22-wide 项目类别和方向 column


def _row(n: int) -> SummaryRow:
    return SummaryRow(
        project_name=f"基于5G的离散制造智能工厂建设项目及配套工业互联网平台示范应用 END{n}",
        category_direction=LONG_CATEGORY, applicant=f"武汉示例智能制造有限公司{n}号",
        contact_name="张三", mobile=f"1380000000{n}", email=f"user{n}@example.com",
    )


def _table(path: Path) -> Path:
    rows = [_row(1), _row(2), _row(3)]
    return write_summary_table(
        path, rows, title="2023年工业互联网试点示范项目汇总表", unit="示例市经济和信息化局",
        not_recommended=[_row(4)],
        defective=[(_row(5), ["视频时长 2分10秒，短于通知要求的 5–10 分钟",
                              "缺少盖章扫描件（申报书封面须加盖公章），请补充后重新提交全部材料"]),
                   (_row(6), ["统一社会信用代码校验位错误"])],
    )


def test_every_data_row_of_every_sheet_is_tall_enough_for_its_wrapped_text(tmp_path):
    """GIVEN projects whose name, category (平台类-特色专业型工业互联网平台) and defects wrap
    WHEN the 汇总表.xlsx is written
    THEN each data row has an explicit height of at least 15 pt per wrapped line: two lines for the
    category, three for the 存在问题 cell with two defects, one of them long."""
    wb = load_workbook(_table(tmp_path / "汇总表.xlsx"))
    for name in (SHEET_MAIN, SHEET_NOT_RECOMMENDED, SHEET_DEFECTIVE):
        ws = wb[name]
        for r in range(HEADER_ROW + 1, ws.max_row + 1):
            height = ws.row_dimensions[r].height
            assert height is not None and height >= 2 * 15, (name, r, height)
    ws = wb[SHEET_DEFECTIVE]
    assert ws.row_dimensions[HEADER_ROW + 1].height >= 3 * 15
    assert ws.row_dimensions[HEADER_ROW + 2].height < ws.row_dimensions[HEADER_ROW + 1].height


def _calc_pdf(xlsx: Path) -> Path:
    soffice = find_soffice()
    if soffice is None or shutil.which("pdftotext") is None:
        pytest.skip("LibreOffice or poppler-utils absent (tools/install-system-deps.sh installs them)")
    profile = xlsx.parent / "lo-profile"
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                    "--convert-to", "pdf", "--outdir", str(xlsx.parent), str(xlsx)],
                   capture_output=True, timeout=180)
    pdf = xlsx.with_suffix(".pdf")
    if not pdf.is_file():
        pytest.skip("this LibreOffice cannot open .xlsx (libreoffice-calc-nogui absent)")
    return pdf


def test_pdf_rows_do_not_print_over_the_row_below(tmp_path):
    """GIVEN the 汇总表.xlsx converted by LibreOffice (as ``packet build`` does)
    WHEN its words are located on the page (pdftotext -bbox)
    THEN the last line of each wrapped project name (END<n>) ends above the next row's mobile
    number: no row prints over the row below."""
    pdf = _calc_pdf(_table(tmp_path / "汇总表.xlsx"))
    html = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-bbox", str(pdf), "-"],
                          capture_output=True, text=True, check=True, timeout=60).stdout
    boxes = {m.group(5): (float(m.group(2)), float(m.group(4)))  # word: (yMin, yMax), y downwards
             for m in re.finditer(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]+)<', html)}
    for n in (1, 2):
        end, below = boxes.get(f"END{n}"), boxes.get(f"1380000000{n + 1}")
        assert end is not None and below is not None, sorted(boxes)[:40]
        assert end[1] <= below[0], (n, end, below)
