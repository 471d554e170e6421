"""The rules over facts the real parsers read from real files (public cases and factory-made dossiers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers.inputs import read_input
from parsers.materials import read_material
from rules.campaign import load_campaign
from rules.engine import evaluate
from rules.verdict import verdict
from tests.factories import FormData, break_uscc, make_dossier_dir, make_summary_xlsx, make_uscc
from tests.rules_builders import dossier, form_material, scan_material

CASES = Path(__file__).parent / "cases"
IIP = load_campaign()


def _with_video_file(path: Path):
    video = read_material(path.name, path)
    return dossier(
        materials=[form_material(dossier().materials[0].form.fields), scan_material(), video]
    )


@pytest.mark.parametrize(
    ("case", "name", "codes"),
    [
        ("C15", "a_完整_moov在末尾.mp4", []),
        ("C15", "b_截断_moov在末尾.mp4", ["VIDEO_UNREADABLE"]),
        ("C15", "c_截断_faststart.mp4", ["VIDEO_UNREADABLE"]),
        ("C13", "项目展示_浏览器录制.webm", []),
        ("C13", "直播回放.flv", []),
    ],
)
def test_case_videos(case: str, name: str, codes: list[str]) -> None:
    fs = evaluate([_with_video_file(CASES / case / "input" / name)], IIP).per_dossier[0]
    assert [(f.code, f.where) for f in fs] == [(c, name) for c in codes]
    if codes:
        assert fs[0].message.startswith("视频文件不完整或已损坏，请重新发送")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dossiers")
    return {
        "good": make_dossier_dir(root / "good", video_s=305),
        "short": make_dossier_dir(root / "short", video_s=290),
        "bad": make_dossier_dir(
            root / "bad",
            FormData(
                uscc=break_uscc(make_uscc("91420100MA4K00005")),
                mobile="010-1234",
                email="x@",
                category="奇怪类",
            ),
            video_s=None,
            scan=False,
        ),
    }


def _judge(folder: Path, tmp_path: Path) -> list[str]:
    ds = read_input(folder, tmp_path / "work")
    return [f.code for f in evaluate(ds, IIP).per_dossier[0]]


def test_factory_dossier_is_accepted(folders: dict[str, Path], tmp_path: Path) -> None:
    codes = _judge(folders["good"], tmp_path)
    assert codes == [] and verdict([]) == "accepted"


def test_factory_short_video(folders: dict[str, Path], tmp_path: Path) -> None:
    assert _judge(folders["short"], tmp_path) == ["VIDEO_TOO_SHORT"]


def test_factory_bad_form_and_missing_materials(folders: dict[str, Path], tmp_path: Path) -> None:
    assert _judge(folders["bad"], tmp_path) == [
        "SCAN_MISSING",
        "VIDEO_MISSING",
        "USCC_INVALID",
        "MOBILE_INVALID",
        "EMAIL_INVALID",
        "CATEGORY_UNKNOWN",
    ]


def test_factory_summary_table_against_its_dossier(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    d = read_input(folders["good"], tmp_path / "w1")[0]
    xlsx = make_summary_xlsx(
        tmp_path / "汇总表.xlsx",
        [
            (
                "基于工业互联网平台的智能工厂建设项目",
                "工厂类-5G全连接工厂",
                "武汉示例智能制造有限公司",
                "王小明",
                "13800138000",
            )
        ],
    )
    d.materials.append(read_material("汇总表.xlsx", xlsx))
    fs = evaluate([d], IIP).per_dossier[0]
    assert [(f.code, f.where) for f in fs] == [("TABLE_ROW_INCOMPLETE", "汇总表!F4")]


def test_case_c11_precision_lost_is_a_defect_at_its_cell() -> None:
    """C11: a WPS table whose ID column lost digits: row 2 is a defect at E5; its layout is not 附件3."""
    from parsers.facts import DossierFacts

    m = read_material("项目申报汇总表.xlsx", CASES / "C11" / "input" / "项目申报汇总表.xlsx")
    fs = evaluate([DossierFacts(source="c11", materials=[m])], IIP).per_dossier[0]
    cell = [f for f in fs if f.code == "TABLE_CELL_INVALID"]
    assert [(f.where, f.severity) for f in cell] == [("Sheet1!E5", "error")]
    assert "第 2 行「身份证号码」" in cell[0].message and "310104198807154000" in cell[0].message
    header = [f for f in fs if f.code == "TABLE_HEADER_INVALID"]
    assert len(header) == 1 and "「申报单位名称」" in header[0].message
