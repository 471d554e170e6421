"""Packet folder names tell one applicant's projects apart, and the office's 简称 keeps its place
(issue 17, item 19)."""

from __future__ import annotations

import zipfile

import pytest

from bot.daemon import Intake
from bot.upstream.manifest_check import manifest_problem
from bot.upstream.packets import build
from outbox.documents.packet import PacketEntry, folder_names, unit_short_name
from outbox.documents.summary_table import SummaryRow
from parsers.safe_names import is_safe_relative_path
from tests.conftest import make_settings
from tests.two_level_builders import ENTERPRISES, enterprise_folder


def _entry(applicant_short: str, project: str, tracking: str) -> PacketEntry:
    row = SummaryRow(project, "平台类", applicant_short + "有限公司", "张三", "13800000000", "")
    return PacketEntry(tracking=tracking, row=row, short_name=applicant_short, materials=[], facts={})


def test_one_applicants_projects_get_their_project_in_the_folder_name():
    entries = [_entry("示例智能制造", "基于5G的智能工厂项目", "T1"),
               _entry("东湖示例", "东湖集团智能工厂项目", "T5"),
               _entry("东湖示例", "东湖集团企业级平台项目", "T6")]
    assert folder_names(entries) == ["01-示例智能制造", "02-东湖示例-智能工厂项目", "03-东湖示例-企业级平台项目"]


def test_the_office_short_name_keeps_its_place():
    assert unit_short_name("示例市经济和信息化局") == "示例市经信局"
    assert unit_short_name("湖北省经济和信息化厅") == "湖北省经信厅"
    assert unit_short_name("某区科技局") == "某区科技局"


def test_a_control_character_in_an_applicants_name_never_reaches_a_folder_name():
    (name,) = folder_names([_entry("示例\x01智能..", "项目", "T1")])
    assert name == "01-示例_智能" and is_safe_relative_path(name)


@pytest.mark.parametrize("suffix", [".pdf ", ".pdf\u3000", ".PDF.", ".pdf:1"])
def test_an_applicants_odd_file_name_gives_a_packet_the_level_above_accepts(tmp_path, video_6min, suffix):
    """GIVEN a city whose one dossier's 全套扫描件 arrived with an odd extension (a trailing blank or
    ideographic space, a trailing dot, an NTFS stream suffix), accepted as usual
    WHEN the city builds its packet
    THEN every file name in it passes the province's manifest rule (which refuses a whole packet
    over one name), and the scanned copy is there under a cleaned name."""
    settings = make_settings(tmp_path, office={"level": "city", "unit": "武汉市经济和信息化局",
                                               "division_code": "420100"},
                             packet={"out_dir": tmp_path / "packets"})
    folder = enterprise_folder(tmp_path / "made", ENTERPRISES[0], video_6min)
    with zipfile.ZipFile(settings.drop.folders[0] / f"{folder.name}.zip", "w") as z:
        for f in folder.iterdir():  # a zip keeps a member's name as written
            z.write(f, f"全套扫描件{suffix}" if f.name == "全套扫描件.pdf" else f.name)
    intake = Intake(settings)
    try:
        intake.run_once()
        result = build(settings, intake.store, intake.campaign)
    finally:
        intake.close()
    assert manifest_problem(result.manifest) is None
    (dossier,) = result.manifest["dossiers"]
    paths = [f["path"] for f in dossier["files"]]
    assert all(is_safe_relative_path(p) for p in paths), paths
    scans = [f for f in dossier["files"] if f["role"] == "scanned_copy"]
    assert [f["name"].rsplit("!/", 1)[-1] for f in scans] == [f"全套扫描件{suffix}"]
    assert (result.path / scans[0]["path"]).is_file()
