"""read_table on the C11 WPS workbook and on summary tables in the notice's layout (xlsx, csv, HTML)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from parsers.tables import read_table
from tests.factories import SUMMARY_HEADERS, make_summary_xlsx

CASES = Path(__file__).resolve().parent / "cases"
C11 = CASES / "C11"
KEYS = {"序号": "seq", "项目名称": "project_name"}  # notice columns get canonical keys


@pytest.fixture(scope="module")
def c11():
    expected = json.loads((C11 / "expected.json").read_text(encoding="utf-8"))
    return expected, read_table(C11 / "input" / expected["workbook"])


def test_c11_records_exact(c11) -> None:
    """GIVEN the WPS workbook with <dimension ref="A1"/>, a two-row merged header, floats for
    phones, a 合计 row and a styled empty row WHEN read THEN exactly the 3 data rows, cleaned."""
    expected, facts = c11
    assert (facts.readable, facts.real_format, facts.header_row) == (True, "xlsx", 3)
    assert len(facts.records) == expected["data_rows"]
    got = [
        {name: r.cells[KEYS.get(name, name)] for name in expected["records"][0]}
        for r in facts.records
    ]
    want = [
        {k: (None if v is None else str(v)) for k, v in rec.items()} for rec in expected["records"]
    ]
    assert got == want
    assert [r.excel_row for r in facts.records] == [4, 5, 6]
    assert facts.records[0].positions["姓名"] == "C4"


def test_c11_sum_and_totals_row_excluded(c11) -> None:
    expected, facts = c11
    assert (
        sum(float(r.cells["申请经费（万元）"]) for r in facts.records) == expected["sum_申请经费"]
    )
    assert all(not (r.cells["seq"] or "").startswith("合计") for r in facts.records)


def test_c11_precision_lost_id_is_reported_not_repaired(c11) -> None:
    expected, facts = c11
    got = [(p.row, p.field, p.value_seen, p.kind, p.cell) for p in facts.cell_problems]
    want = [
        (d["row"], d["field"], d["value_seen"], "precision_lost", "E5") for d in expected["defects"]
    ]
    assert got == want


def test_c11_forbidden_outputs_never_appear(c11) -> None:
    expected, facts = c11
    seen = {v for r in facts.records for v in r.cells.values() if v} | {
        p.value_seen for p in facts.cell_problems
    }
    assert not seen & set(expected["forbidden_outputs"])


def test_notice_layout_with_unit(tmp_path: Path) -> None:
    rows = [
        (
            "智能工厂项目",
            "工厂类/5G全连接工厂",
            "武汉示例智能制造有限公司",
            "王小明",
            "13800138000 wang@example.com",
        ),
        ("平台项目", "平台类/行业平台", "湖北某科技有限公司", "李　雷", "13900001111"),
    ]
    facts = read_table(
        make_summary_xlsx(tmp_path / "汇总表.xlsx", rows, unit="武汉市东湖新技术开发区管委会")
    )
    assert (facts.title, facts.unit, facts.header_row) == (
        "2023年工业互联网试点示范推荐项目汇总表",
        "武汉市东湖新技术开发区管委会",
        3,
    )
    assert facts.missing_columns == []
    assert facts.columns == dict(
        zip(
            ("seq", "project_name", "category_direction", "applicant", "contact_name", "contact"),
            "ABCDEF",
            strict=True,
        )
    )
    assert [
        (r.cells["seq"], r.cells["applicant"], r.cells["contact_name"]) for r in facts.records
    ] == [
        ("1", "武汉示例智能制造有限公司", "王小明"),
        ("2", "湖北某科技有限公司", "李雷"),
    ]


def test_renamed_xlsx_is_read_as_xlsx(tmp_path: Path) -> None:
    src = make_summary_xlsx(tmp_path / "a.xlsx", [("项目", "工厂类", "单位", "王", "138")])
    renamed = tmp_path / "汇总表.xls"
    shutil.copyfile(src, renamed)
    facts = read_table(renamed, kind="xls")
    assert (facts.real_format, len(facts.records), facts.records[0].cells["project_name"]) == (
        "xlsx",
        1,
        "项目",
    )


def test_gb18030_csv_with_floats_and_text_numbers(tmp_path: Path) -> None:
    text = (
        "2023年工业互联网试点示范推荐项目汇总表,,,,,\n"
        "推荐单位（盖章）：某区经信局,,,,,\n" + ",".join(SUMMARY_HEADERS) + ",身份证号码,手机\n"
        "１,项目甲,工厂类,甲公司,张三,a@x.cn,3.10104198807154E+17,13912345678.0\n"
        "2,项目乙,平台类,乙公司,李四,b@x.cn,110105198506120001,1.39E+10\n"
        "合计,,,,,,,\n"
    )
    path = tmp_path / "汇总表.csv"
    path.write_bytes(text.encode("gb18030"))
    facts = read_table(path)
    assert (facts.real_format, facts.unit, facts.missing_columns) == ("csv", "某区经信局", [])
    assert [(r.cells["seq"], r.cells["手机"], r.cells["身份证号码"]) for r in facts.records] == [
        ("1", "13912345678", None),
        ("2", None, "110105198506120001"),
    ]
    assert [(p.cell, p.kind, p.value_seen) for p in facts.cell_problems] == [
        ("G4", "precision_lost", "310104198807154000"),
        ("H5", "precision_lost", "13900000000"),
    ]


def test_html_table_pretending_to_be_xls(tmp_path: Path) -> None:
    html = (
        '<html xmlns:x="urn:schemas-microsoft-com:office:excel"><body><table>'
        '<tr><td colspan="6">推荐项目汇总表</td></tr>'
        "<tr><td>序号</td><td>项目名称</td><td>项目类别和方向</td><td>申报单位名称</td>"
        "<td>联系人</td><td>联系方式（手机与邮箱）</td></tr>"
        "<tr><td>1</td><td> 项目丙&nbsp;</td><td>安全类</td><td>丙公司</td><td>王　五</td>"
        "<td>138 0013 8000</td></tr>"
        "<tr><td></td><td></td><td></td><td></td><td></td><td></td></tr>"
        "<tr><td>总计</td><td>1</td><td></td><td></td><td></td><td></td></tr>"
        "</table></body></html>"
    )
    path = tmp_path / "汇总表.xls"
    path.write_text(html, encoding="utf-8")
    facts = read_table(path, kind="html")
    assert (facts.real_format, facts.title, facts.header_row) == ("html", "推荐项目汇总表", 2)
    assert [r.cells for r in facts.records] == [
        {
            "seq": "1",
            "project_name": "项目丙",
            "category_direction": "安全类",
            "applicant": "丙公司",
            "contact_name": "王五",
            "contact": "13800138000",
        }
    ]


def test_merged_contact_header_over_phone_and_mail(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["序号", "项目名称", "申报单位名称", "联系人", "联系方式", None])
    ws.append([None, None, None, None, "手机", "邮箱"])
    ws.append([1, "项目丁", "丁公司", "赵六", 13800138000, "z@x.cn"])
    for col in "ABCD":
        ws.merge_cells(f"{col}1:{col}2")
    ws.merge_cells("E1:F1")
    path = tmp_path / "汇总表.xlsx"
    wb.save(path)
    facts = read_table(path)
    assert (facts.header_row, facts.missing_columns) == (2, ["category_direction"])
    assert facts.records[0].cells == {
        "seq": "1",
        "project_name": "项目丁",
        "applicant": "丁公司",
        "contact_name": "赵六",
        "手机": "13800138000",
        "邮箱": "z@x.cn",
    }


@pytest.mark.parametrize(("content", "problem"), [(b"", "empty"), (b"PK\x03\x04broken", "corrupt")])
def test_unreadable_tables_are_facts(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "汇总表.xlsx"
    path.write_bytes(content)
    facts = read_table(path)
    assert (facts.readable, facts.problem) == (False, problem)


def test_table_without_notice_header_lists_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "其他.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    facts = read_table(path)
    assert (facts.readable, facts.header_row, facts.records) == (True, None, [])
    assert len(facts.missing_columns) == 6
