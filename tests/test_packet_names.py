"""Packet folder names tell one applicant's projects apart, and the office's 简称 keeps its place
(issue 17, item 19)."""

from __future__ import annotations

from outbox.documents.packet import PacketEntry, folder_names, unit_short_name
from outbox.documents.summary_table import SummaryRow


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
