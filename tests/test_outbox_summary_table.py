"""The 汇总表 in the notice's 附件3 layout, checked cell by cell with openpyxl."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from outbox.documents.summary_table import SummaryRow, write_summary_table

TITLE = "2023年工业互联网试点示范推荐项目汇总表"
UNIT = "武汉市经济和信息化局"


def rows() -> list[SummaryRow]:
    return [
        SummaryRow(
            "5G全连接智能工厂",
            "工厂类/5G全连接工厂",
            "武汉甲制造有限公司",
            "王小明",
            "13800138000",
            "wxm@example.com",
        ),
        SummaryRow(
            "园区工业互联网平台",
            "平台类/园区级平台",
            "武汉乙科技有限公司",
            "李喆",
            "13912345678",
            "",
        ),
    ]


def test_main_sheet_cell_by_cell(tmp_path: Path) -> None:
    path = write_summary_table(tmp_path / "out" / "汇总表.xlsx", rows(), title=TITLE, unit=UNIT)
    ws = load_workbook(path)["汇总表"]
    assert [ws["A1"].value, ws["A2"].value] == [TITLE, f"推荐单位（盖章）：{UNIT}"]
    assert sorted(str(r) for r in ws.merged_cells.ranges) == ["A1:F1", "A2:F2"]
    assert [c.value for c in ws[3]] == [
        "序号",
        "项目名称",
        "项目类别和方向",
        "申报单位名称",
        "联系人",
        "联系方式（手机与邮箱）",
    ]
    assert [[c.value for c in r] for r in ws.iter_rows(min_row=4)] == [
        [
            1,
            "5G全连接智能工厂",
            "工厂类/5G全连接工厂",
            "武汉甲制造有限公司",
            "王小明",
            "13800138000 / wxm@example.com",
        ],
        [2, "园区工业互联网平台", "平台类/园区级平台", "武汉乙科技有限公司", "李喆", "13912345678"],
    ]
    assert ws.max_row == 5
    assert ws["B4"].alignment.wrap_text and ws["F5"].border.bottom.style == "thin"
    assert ws["A3"].font.b and ws.column_dimensions["B"].width == 38
    assert ws.print_area == "'汇总表'!$A$1:$F$5"
    assert ws.print_title_rows == "$1:$3"
    assert (ws.page_setup.orientation, ws.page_setup.paperSize, ws.page_setup.fitToWidth) == (
        "landscape",
        9,
        1,
    )


def test_extra_sheets_for_quota_and_defects(tmp_path: Path) -> None:
    over = rows()[1:]
    bad = [(rows()[0], ["视频时长 4分32秒，要求 5–10 分钟", "缺少全套扫描件"])]
    path = write_summary_table(
        tmp_path / "t.xlsx", rows()[:1], title=TITLE, unit=UNIT, not_recommended=over, defective=bad
    )
    wb = load_workbook(path)
    assert wb.sheetnames == ["汇总表", "未推荐（超出名额）", "存在问题"]
    assert [c.value for c in wb["未推荐（超出名额）"][4]][:2] == [1, "园区工业互联网平台"]
    defects = wb["存在问题"]
    assert defects["G3"].value == "存在问题"
    assert defects["G4"].value == "视频时长 4分32秒，要求 5–10 分钟\n缺少全套扫描件"
    assert sorted(str(r) for r in defects.merged_cells.ranges) == ["A1:G1", "A2:G2"]


def test_reads_back_with_the_project_table_reader(tmp_path: Path) -> None:
    """GIVEN a table we wrote WHEN the next level reads it with parsers/tables.py THEN same records."""
    from parsers.tables import read_table

    path = write_summary_table(tmp_path / "汇总表.xlsx", rows(), title=TITLE, unit=UNIT)
    facts = read_table(path)
    assert facts.readable and facts.unit == UNIT and facts.missing_columns == []
    assert [(r.cells["project_name"], r.cells["contact"]) for r in facts.records] == [
        ("5G全连接智能工厂", "13800138000 / wxm@example.com"),
        ("园区工业互联网平台", "13912345678"),
    ]
