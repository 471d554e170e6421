"""Rules on a summary table (汇总表, 附件3) checked against the dossiers of the same packet."""

from __future__ import annotations

from collections.abc import Iterator

from parsers.facts import DossierFacts, TableFacts, TableRecord
from rules.campaign import TABLE_COLUMN_LABELS
from rules.contacts import find_email, find_mobile
from rules.context import Context
from rules.dossier_view import form_fields
from rules.names import normalise_name
from rules.rule import Hit, Rule

# Cell problems a parser reports that are not defects (a formula with its cached value is fine).
_HARMLESS_CELL_PROBLEMS = ("formula",)
_CELL_PROBLEM_TEXT = {
    "precision_lost": "以数值形式存储，末尾数字已丢失",
    "bad_phone": "电话号码格式有误",
}


def _label(key: str) -> str:
    return TABLE_COLUMN_LABELS.get(key, key)


def _cell(table: TableFacts, rec: TableRecord, key: str) -> str:
    pos = rec.positions.get(key)
    if not pos and key in table.columns:
        pos = f"{table.columns[key]}{rec.excel_row}"
    return f"{rec.sheet}!{pos or f'A{rec.excel_row}'}"


def check_header(table: TableFacts, dossiers: list[DossierFacts], ctx: Context) -> Iterator[Hit]:
    if not table.readable:
        return  # FILE_UNREADABLE says it
    wanted = [k for k in ctx.campaign.table.columns if k in TABLE_COLUMN_LABELS]
    missing = [
        k
        for k in wanted
        if k in table.missing_columns or (table.columns and k not in table.columns)
    ]
    if missing:
        yield {
            "where": f"{table.sheet or ''}!A{table.header_row or 1}",
            "column": "」「".join(_label(k) for k in dict.fromkeys(missing)),
            "expected": " | ".join(_label(k) for k in wanted),
        }


def _row_matches(rec: TableRecord, fields: dict[str, str]) -> bool:
    project = normalise_name(rec.cells.get("project_name"))
    if not project or project != normalise_name(fields.get("project_name")):
        return False
    row_applicant = normalise_name(rec.cells.get("applicant"))
    applicant = normalise_name(fields.get("applicant"))
    return not row_applicant or not applicant or row_applicant == applicant


def check_rows_match(
    table: TableFacts, dossiers: list[DossierFacts], ctx: Context
) -> Iterator[Hit]:
    if not table.readable:
        return
    fields = [form_fields(d, ctx.campaign) for d in dossiers]
    for rec in table.records:
        if not any(_row_matches(rec, f) for f in fields):
            yield {
                "where": _cell(table, rec, "project_name"),
                "row": rec.row,
                "project": rec.cells.get("project_name") or "（空）",
                "actual": f"汇总表第 {rec.row} 行项目「{rec.cells.get('project_name') or '（空）'}」没有对应的申报材料",
            }
    for i, f in enumerate(fields):
        if f.get("project_name") and not any(_row_matches(rec, f) for rec in table.records):
            yield {
                "dossier": i,
                "where": "",
                "row": "",
                "project": f["project_name"],
                "actual": f"项目「{f['project_name']}」在汇总表中没有对应行",
            }


def check_rows_complete(
    table: TableFacts, dossiers: list[DossierFacts], ctx: Context
) -> Iterator[Hit]:
    if not table.readable:
        return
    keys = [k for k in ctx.campaign.table.columns if k != "seq" and k in table.columns]
    for rec in table.records:
        for key in keys:
            value = (rec.cells.get(key) or "").strip()
            problem = "未填写" if not value else ""
            if value and key == "contact":
                lacks = [
                    n
                    for n, ok in (("手机号码", find_mobile(value)), ("邮箱", find_email(value)))
                    if not ok
                ]
                problem = "缺少" + "和".join(lacks) if lacks else ""
            if problem:
                yield {
                    "where": _cell(table, rec, key),
                    "row": rec.row,
                    "column": _label(key),
                    "problem": problem,
                }


def check_cells(table: TableFacts, dossiers: list[DossierFacts], ctx: Context) -> Iterator[Hit]:
    for p in table.cell_problems:
        if p.kind in _HARMLESS_CELL_PROBLEMS:
            continue
        yield {
            "where": f"{p.sheet}!{p.cell}",
            "row": p.row,
            "column": _label(p.field),
            "reason": _CELL_PROBLEM_TEXT.get(p.kind, p.kind),
            "value": p.value_seen,
        }


RULES: tuple[Rule, ...] = (
    Rule(
        "TABLE_HEADER_INVALID",
        "附件3",
        "error",
        "汇总表表头与通知格式不符",
        "汇总表缺少列「{column}」；要求的列为：{expected}",
        "请使用通知附件3的汇总表格式（{expected}）重新填写后发送",
        check_header,
        "table",
    ),
    Rule(
        "TABLE_ROW_MISMATCH",
        "附件3",
        "error",
        "汇总表与申报材料不对应",
        "{actual}；要求汇总表每一行对应一份申报材料",
        "请核对汇总表的项目名称、申报单位与申报书一致，补齐或删除相应行后重新发送",
        check_rows_match,
        "table",
    ),
    Rule(
        "TABLE_ROW_INCOMPLETE",
        "附件3",
        "error",
        "汇总表行未填写完整",
        "汇总表第 {row} 行「{column}」{problem}",
        "请补全汇总表第 {row} 行「{column}」（联系方式须含手机与邮箱）后重新发送",
        check_rows_complete,
        "table",
    ),
    Rule(
        "TABLE_CELL_INVALID",
        "附件3",
        "error",
        "汇总表单元格内容失真",
        "汇总表第 {row} 行「{column}」{reason}（显示为 {value}）",
        "请将该列设置为文本格式，重新填写第 {row} 行「{column}」后发送",
        check_cells,
        "table",
    ),
)
