"""Every code in the catalogue: one input that triggers it, one near miss that does not."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from parsers.facts import CellProblem, CloudLink, IntakeProblem, Material, SealFound
from rules.campaign import load_campaign
from rules.catalog import CODES, RULES, RULES_BY_CODE
from rules.engine import evaluate, quota_findings, table_findings
from tests.factories import break_uscc, make_uscc
from tests.rules_builders import (
    DATA,
    USCC,
    at,
    default_fields,
    dossier,
    form_material,
    project,
    scan_material,
    table,
    table_row,
    video_material,
)

IIP = load_campaign()
MADE_UP = load_campaign(DATA / "made-up-2031.toml")
IIP_WINNERS = IIP.model_copy(update={"winners": DATA / "winners-2023.csv"})


def codes(dossiers, campaign=IIP, **kw) -> list[str]:
    ev = evaluate(dossiers, campaign, **kw)
    return [f.code for fs in ev.per_dossier for f in fs] + [f.code for f in ev.general]


def table_codes(t, ds) -> list[str]:
    ev = table_findings(t, ds, IIP)
    return [f.code for fs in ev.per_dossier for f in fs] + [f.code for f in ev.general]


def quota_codes(n: int) -> list[str]:
    ranked = [project(f"项目{i}", applicant=f"单位{i}", uscc="") for i in range(n)]
    return [f.code for fs in quota_findings(ranked, IIP, "province", "provincial_miit") for f in fs]


def sent(d, sender: str):  # noqa: ANN001, ANN201 - a DossierFacts, returned
    """``d`` as if mailed by ``sender``."""
    d.sender = sender
    return d


def bad_file(problem: str, name: str = "附件.docx") -> Material:
    return Material(
        name=name,
        path=None,
        sha256="0" * 64,
        size=10,
        role="other",
        readable=False,
        problem=problem,
    )


def no_role(role: str):
    return dossier(materials=[m for m in dossier().materials if m.role != role])


LINK = "https://pan.baidu.com/s/1AbCdEf?pwd=1234"


JUDGED = datetime(2023, 11, 29, 10, 0, tzinfo=UTC)  # 18:00 in Beijing


def linked(expires: date | None):
    """A dossier whose video is only a Baidu link expiring on ``expires`` (judged on 2023-11-29)."""
    d = dossier(materials=no_role("video").materials, links=[LINK])
    d.cloud_links = [CloudLink("baidu", LINK, "1234", expires)]
    return d

# code -> (scenario that must produce it, near-miss scenario that must not)
CASES: dict[str, tuple[Callable[[], list[str]], Callable[[], list[str]]]] = {
    "FORM_MISSING": (
        lambda: codes([no_role("application_form")]),
        lambda: codes(
            [
                dossier(
                    materials=[
                        form_material(default_fields(), "申报书.wps", "wps"),
                        *no_role("application_form").materials,
                    ]
                )
            ]
        ),
    ),
    "SCAN_MISSING": (
        lambda: codes([no_role("scanned_copy")]),
        lambda: codes([dossier(extra=[bad_file("corrupt", "扫描件2.pdf")])]),
    ),
    "SCAN_SEAL_MISSING": (
        lambda: codes([dossier(materials=[*no_role("scanned_copy").materials, scan_material(seals=[])])]),
        lambda: codes([dossier(materials=[*no_role("scanned_copy").materials,
                                          scan_material(seals=[SealFound(1, "image")])])]),
    ),
    "VIDEO_LINK_EXPIRED": (
        lambda: codes([linked(date(2023, 11, 28))], now=JUDGED),
        lambda: codes([linked(date(2023, 11, 29)), linked(None)], now=JUDGED),
    ),
    "VIDEO_MISSING": (
        lambda: codes([no_role("video")]),
        lambda: codes([dossier(materials=no_role("video").materials, links=[LINK])]),
    ),
    "VIDEO_TOO_SHORT": (
        lambda: codes([dossier(materials=[*no_role("video").materials, video_material(299.6)])]),
        lambda: codes([dossier(materials=[*no_role("video").materials, video_material(300.0)])]),
    ),
    "VIDEO_TOO_LONG": (
        lambda: codes([dossier(materials=[*no_role("video").materials, video_material(601.0)])]),
        lambda: codes([dossier(materials=[*no_role("video").materials, video_material(600.9)])]),
    ),
    "VIDEO_UNREADABLE": (
        lambda: codes(
            [
                dossier(
                    materials=[*no_role("video").materials, video_material(372.5, truncated=True)]
                )
            ]
        ),
        lambda: codes([dossier(extra=[video_material(372.5, name="旧版.mp4", truncated=True)])]),
    ),
    "VIDEO_LINK_ONLY": (
        lambda: codes([dossier(materials=no_role("video").materials, links=[LINK])]),
        lambda: codes([dossier(links=[LINK, "https://www.miit.gov.cn/"])]),
    ),
    "FILE_UNREADABLE": (
        lambda: codes([dossier(extra=[bad_file("encrypted")])]),
        lambda: codes([dossier(extra=[bad_file("forbidden", "宏.docm")])]),
    ),
    "FILE_TOO_COSTLY": (
        lambda: codes([dossier(extra=[bad_file("too_costly", "申报书附件.pdf")])]),
        lambda: codes([dossier(extra=[bad_file("corrupt", "坏.pdf")])]),
    ),
    "FILE_FORBIDDEN": (
        lambda: codes([dossier(extra=[bad_file("forbidden", "setup.exe")])]),
        lambda: codes([dossier(extra=[bad_file("corrupt", "坏.docx")])]),
    ),
    "ARCHIVE_UNSAFE": (
        lambda: codes(
            [dossier(problems=[IntakeProblem("archive_traversal", "材料.zip!/../../x.txt")])]
        ),
        lambda: codes([dossier(problems=[IntakeProblem("archive_encrypted", "材料.7z")])]),
    ),
    "FORM_FIELD_MISSING": (
        lambda: codes([dossier(fields=default_fields(email=""))]),
        lambda: codes(
            [
                dossier(
                    fields=default_fields(
                        category="", direction="", category_direction="工厂类：5G全连接工厂"
                    )
                )
            ]
        ),
    ),
    "USCC_INVALID": (
        lambda: codes([dossier(fields=default_fields(uscc=break_uscc(USCC)))]),
        lambda: codes([dossier(fields=default_fields(uscc=make_uscc("Y1420100MA4K00003")))]),
    ),
    "MOBILE_INVALID": (
        lambda: codes([dossier(fields=default_fields(mobile="1380013800"))]),
        lambda: codes(
            [dossier(fields=default_fields(mobile="+86 138-0013-8000", phone="010-66022790"))]
        ),
    ),
    "EMAIL_INVALID": (
        lambda: codes([dossier(fields=default_fields(email="wangxm#example.com"))]),
        lambda: codes([dossier(fields=default_fields(email="WangXM＠example.com.cn"))]),
    ),
    "CATEGORY_UNKNOWN": (
        lambda: codes([dossier(fields=default_fields(category="智能类"))]),
        lambda: codes([dossier(fields=default_fields(category="工厂"))]),
    ),
    "DIRECTION_UNKNOWN": (
        lambda: codes(
            [dossier(fields=default_fields(category="灯塔类", direction="白灯工厂"))], MADE_UP
        ),
        lambda: codes([dossier(fields=default_fields(category="工厂类", direction="任何方向"))]),
    ),
    "APPLICANT_OVER_LIMIT": (
        lambda: codes(
            [
                project("项目一", category="工厂类"),
                project("项目二", category="平台类", applicant="武汉示例智能制造有限责任公司"),
                project("项目三", category="安全类", applicant="别名", uscc=USCC),
            ]
        ),
        lambda: codes([project("项目一", category="工厂类"), project("项目二", category="平台类")]),
    ),
    "APPLICANT_SENDER_CONFLICT": (
        lambda: codes(
            [
                sent(project("项目一", category="工厂类"), "fake@evil.example.net"),
                sent(project("项目二", category="平台类"), "clerk@wuhan-demo.com.cn"),
            ]
        ),
        lambda: codes(
            [
                sent(project("项目一", category="工厂类"), "wang@wuhan-demo.com.cn"),
                sent(project("项目二", category="平台类"), "li@wuhan-demo.com.cn"),
            ]
        ),
    ),
    "CATEGORY_REPEATED": (
        lambda: codes(
            [
                project("项目一", direction="5G全连接工厂"),
                project("项目二", direction="数字孪生工厂"),
            ]
        ),
        lambda: codes(
            [project("项目一"), project("项目二", category="平台类", direction="5G全连接工厂")]
        ),
    ),
    "PROJECT_DUPLICATE": (
        lambda: codes(
            [project("智能工厂（一期）", source="a"), project("智能工厂(一期) ", source="b")]
        ),
        lambda: codes(
            [
                project("智能工厂（一期）", source="a"),
                project(
                    "智能工厂（一期）",
                    applicant="另一家有限公司",
                    uscc=make_uscc("91420100MA4K00009"),
                    source="b",
                ),
            ]
        ),
    ),
    "PREVIOUSLY_SELECTED": (
        lambda: codes([dossier()], IIP_WINNERS),
        lambda: codes(
            [
                project(
                    "园区级工业互联网平台",
                    applicant="武汉示例园区运营有限公司",
                    uscc="",
                    category="园区类",
                )
            ],
            IIP_WINNERS,
        ),
    ),
    "LATE_SUBMISSION": (
        lambda: codes([dossier(received_at=at(2023, 12, 2, 0, 1))]),
        lambda: codes([dossier(received_at=datetime(2023, 12, 1, 15, 59, tzinfo=UTC))]),
    ),
    "QUOTA_EXCEEDED": (lambda: quota_codes(31), lambda: quota_codes(30)),
    "TABLE_HEADER_INVALID": (
        lambda: table_codes(
            table([table_row(dossier())], missing_columns=["contact"]), [dossier()]
        ),
        lambda: table_codes(table([table_row(dossier())]), [dossier()]),
    ),
    "TABLE_ROW_MISMATCH": (
        lambda: table_codes(table([table_row(dossier(), project_name="别的项目")]), [dossier()]),
        lambda: table_codes(
            table(
                [
                    table_row(
                        dossier(),
                        project_name=" 基于工业互联网平台的智能工厂建设项目　",
                        applicant="武汉示例智能制造有限责任公司",
                    )
                ]
            ),
            [dossier()],
        ),
    ),
    "TABLE_ROW_INCOMPLETE": (
        lambda: table_codes(table([table_row(dossier(), contact="13800138000")]), [dossier()]),
        lambda: table_codes(
            table([table_row(dossier(), contact="13800138000；wangxm@example.com")]), [dossier()]
        ),
    ),
    "TABLE_CELL_INVALID": (
        lambda: table_codes(
            table(
                [table_row(dossier())],
                cell_problems=[
                    CellProblem("汇总表", "F4", 1, "contact", "precision_lost", "13800138000")
                ],
            ),
            [dossier()],
        ),
        lambda: table_codes(
            table(
                [table_row(dossier())],
                cell_problems=[CellProblem("汇总表", "A9", 1, "合计", "formula", "=SUM(G4:G6)")],
            ),
            [dossier()],
        ),
    ),
}


@pytest.mark.parametrize("code", CODES)
def test_code_triggers(code: str) -> None:
    assert code in CASES[code][0]()


@pytest.mark.parametrize("code", CODES)
def test_code_does_not_trigger_on_near_miss(code: str) -> None:
    assert code not in CASES[code][1]()


def test_valid_dossier_has_no_findings() -> None:
    assert codes([dossier()]) == []
    assert codes([dossier(assembled=True)]) == []


def test_catalogue_is_unique_documented_and_tested() -> None:
    readme = (Path(__file__).parents[1] / "rules" / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z_]+)` \| (?:error|warning) \|", readme, re.M))
    assert len(CODES) == len(RULES) == len(set(CODES))
    assert set(CODES) == documented
    assert set(CODES) == set(CASES)
    assert all(re.fullmatch(r"[A-Z][A-Z_]+", c) for c in CODES)


def test_issue_codes_and_severities_are_kept() -> None:
    errors = """FORM_MISSING SCAN_MISSING VIDEO_MISSING VIDEO_TOO_SHORT VIDEO_TOO_LONG VIDEO_UNREADABLE
    ARCHIVE_UNSAFE FORM_FIELD_MISSING USCC_INVALID MOBILE_INVALID EMAIL_INVALID CATEGORY_UNKNOWN
    DIRECTION_UNKNOWN APPLICANT_OVER_LIMIT CATEGORY_REPEATED PROJECT_DUPLICATE PREVIOUSLY_SELECTED
    TABLE_HEADER_INVALID TABLE_ROW_MISMATCH TABLE_ROW_INCOMPLETE""".split()
    warnings = (
        "VIDEO_LINK_ONLY FILE_UNREADABLE FILE_TOO_COSTLY FILE_FORBIDDEN QUOTA_EXCEEDED"
        " LATE_SUBMISSION".split()
    )
    assert {c: RULES_BY_CODE[c].severity for c in errors + warnings} == {
        **dict.fromkeys(errors, "error"),
        **dict.fromkeys(warnings, "warning"),
    }
