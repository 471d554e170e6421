"""The packet: 汇总表 cell by cell, ranking, manifest hashes, quota, split parts, discs."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from openpyxl import load_workbook

from bot.upstream import ranking
from bot.upstream.packets import build, candidates
from outbox.documents.packet import (
    assemble_parts,
    part_zip,
    payload_budget,
    read_manifest,
    short_name,
    split_parts,
    write_iso,
)
from tests.two_level_builders import ENTERPRISES, city_instance


@pytest.fixture
def city(tmp_path, video_6min):
    intake = city_instance(tmp_path / "city", video_6min)
    yield intake
    intake.close()


def _tracking_of(intake, applicant: str) -> str:
    return next(d.tracking for d in intake.store.dossiers() if d.applicant == applicant)


def test_summary_table_cell_by_cell_in_default_order(city):
    """GIVEN three accepted dossiers, the third claiming 革命老区 (notice 二（二）)
    WHEN the packet is built without an officer's ranking
    THEN the 汇总表 has the title, unit row and headers of 附件3, the priority project first, then
    arrival order, 联系方式 as ``mobile / email``."""
    result = build(city.settings, city.store, city.campaign)
    ws = load_workbook(result.path / "汇总表.xlsx")["汇总表"]
    assert ws["A1"].value == "2023年工业互联网试点示范推荐项目汇总表"
    assert "A1:F1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A2"].value == "推荐单位（盖章）：武汉市经济和信息化局"
    assert [c.value for c in ws[3]] == ["序号", "项目名称", "项目类别和方向", "申报单位名称", "联系人",
                                        "联系方式（手机与邮箱）"]
    third, second, first = ENTERPRISES[2], ENTERPRISES[1], ENTERPRISES[0]
    # 乙 arrived before 甲 (the drop folder is taken in name order), so it follows the priority one.
    expected = [third, second, first]
    for i, data in enumerate(expected, 1):
        row = [c.value for c in ws[3 + i]]
        assert row == [i, data.project_name, f"{data.category}-{data.direction}", data.applicant,
                       data.contact_name, f"{data.mobile} / {data.email}"]
    assert ws.max_row == 6
    assert ws.print_area == "'汇总表'!$A$1:$F$6"
    assert ws.page_setup.orientation == "landscape"
    assert result.counts == {"recommended": 3, "over_quota": 0, "defective": 0}
    assert result.manifest["findings"] == []  # the table checks clean against its own dossiers


def test_officer_ranking_orders_table_folders_and_manifest(city):
    """GIVEN an officer's ``intake rank`` order WHEN the packet is built THEN the table rows, the
    ``<序号>-<简称>`` folders and the manifest follow it, and every file's sha256 is right."""
    order = [_tracking_of(city, e.applicant) for e in (ENTERPRISES[0], ENTERPRISES[1], ENTERPRISES[2])]
    accepted, _ = candidates(city.store)
    ranking.set_ranking(city.store.conn, order, {i.tracking for i in accepted})
    result = build(city.settings, city.store, city.campaign)
    ws = load_workbook(result.path / "汇总表.xlsx")["汇总表"]
    assert [ws.cell(row=r, column=4).value for r in (4, 5, 6)] == [e.applicant for e in ENTERPRISES]
    m = result.manifest
    assert [d["tracking"] for d in m["dossiers"]] == order
    assert [d["folder"] for d in m["dossiers"]] == ["01-甲示例制造", "02-乙示例软件", "03-红安丙示例园区管理"]
    assert sorted(p.name for p in (result.path / "01-甲示例制造").iterdir()) == [
        "全套扫描件.pdf", "申报书.docx", "项目视频.mp4"]
    for f in m["files"]:
        assert hashlib.sha256((result.path / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    assert {"汇总表.xlsx", "推荐报告.docx"} <= {f["path"] for f in m["files"]}
    assert m["packet_id"] == "IIP2023-420100-P01" and m["level"] == "city"


def test_ranking_read_back_from_an_edited_table_copy(city, tmp_path):
    """GIVEN the officers' copy of the 汇总表 with a 排序 column filled in WHEN it is read back
    THEN the ranking follows the 排序 numbers, not the rows' order."""
    result = build(city.settings, city.store, city.campaign)
    wb = load_workbook(result.path / "汇总表.xlsx")
    ws = wb["汇总表"]
    ws["G3"] = "排序"
    for row, pos in zip((4, 5, 6), (3, 1, 2), strict=True):
        ws.cell(row=row, column=7, value=pos)
    edited = tmp_path / "汇总表（排序）.xlsx"
    wb.save(edited)
    accepted, _ = candidates(city.store)
    order = ranking.ranking_from_table(edited, accepted)
    names = {i.tracking: i.facts.applicant for i in accepted}
    assert [names[t] for t in order] == [ENTERPRISES[1].applicant, ENTERPRISES[0].applicant,
                                         ENTERPRISES[2].applicant]


def test_quota_beyond_limit_stays_off_the_upstream_table(tmp_path, video_6min):
    """GIVEN a unit kind whose quota (profile) is smaller than the accepted dossiers
    WHEN the packet is built THEN the ones ranked beyond it carry QUOTA_EXCEEDED in the manifest and
    stay off the 汇总表 that goes upstream (which lists the recommended projects only)."""
    intake = city_instance(tmp_path / "c", video_6min)
    try:
        from rules.campaign import Quota

        # A profile of our own with the quota "tiny" (the bundled one has no such key, which
        # the configuration would refuse at load time).
        camp = intake.campaign.model_copy(update={"quotas": {"tiny": Quota(label="测试名额", limit=2)}})
        office = intake.settings.office.model_copy(update={"unit_kind": "tiny"})
        settings = intake.settings.model_copy(update={"office": office})
        result = build(settings, intake.store, camp)
    finally:
        intake.close()
    wb = load_workbook(result.path / "汇总表.xlsx")
    assert wb["汇总表"].max_row == 5  # 2 recommended
    assert wb.sheetnames == ["汇总表"]
    assert result.manifest["not_recommended"][0]["findings"][-1]["code"] == "QUOTA_EXCEEDED"
    assert len(result.manifest["dossiers"]) == 2


def test_split_parts_stay_under_the_limit_and_reassemble(city, tmp_path):
    """GIVEN a packet of ~600 KB and a 200 KB limit per mail WHEN it is split THEN every part's
    zip fits the budget, videos are stored uncompressed, and the parts rebuild every file."""
    result = build(city.settings, city.store, city.campaign)
    m = read_manifest(result.path)
    budget = payload_budget(200_000, len(json.dumps(m, ensure_ascii=False, indent=1).encode()))
    parts = split_parts(m, budget)
    assert len(parts) >= 3
    zips = [part_zip(result.path, p) for p in parts]
    assert all(len(z) <= budget for z in zips)
    for z in zips:
        for info in zipfile.ZipFile(io.BytesIO(z)).infolist():
            if info.filename.endswith(".mp4"):
                assert info.compress_type == zipfile.ZIP_STORED
    assert assemble_parts(zips, m, tmp_path / "back") == []
    # a big file is cut into pieces when the limit is below its size
    small = split_parts(m, 60_000)
    assert any(p.member.endswith(".001") for part in small for p in part)
    assert assemble_parts([part_zip(result.path, p) for p in small], m, tmp_path / "back2") == []
    # and a part missing is reported, file by file
    assert assemble_parts(zips[:-1], m, tmp_path / "back3") != []


def test_iso_per_applicant_keeps_chinese_names(city, tmp_path):
    """GIVEN a built packet WHEN a disc image is written for one dossier THEN it is ISO 9660 +
    Joliet, the Joliet names are the Chinese file names and the volume label the short name."""
    import pycdlib

    result = build(city.settings, city.store, city.campaign)
    d = result.manifest["dossiers"][0]
    iso_path = write_iso(result.path / d["folder"], tmp_path / "disc.iso", d["short_name"])
    iso = pycdlib.PyCdlib()
    iso.open(str(iso_path))
    try:
        names = sorted(c.file_identifier().decode("utf-16_be") for c in iso.list_children(joliet_path="/")
                       if not (c.is_dot() or c.is_dotdot()))
        label = iso.joliet_vd.volume_identifier.decode("utf-16_be").strip()
        data = io.BytesIO()
        iso.get_file_from_iso_fp(data, joliet_path="/项目视频.mp4")
    finally:
        iso.close()
    assert names == ["全套扫描件.pdf", "申报书.docx", "项目视频.mp4"]
    assert label == d["short_name"] == "红安丙示例园区管理"
    assert hashlib.sha256(data.getvalue()).hexdigest() == next(
        f["sha256"] for f in d["files"] if f["role"] == "video")


def test_short_names():
    assert short_name("武汉示例智能制造有限公司") == "示例智能制造"
    assert short_name("湖北省示例集团股份有限公司") == "示例集团"
    assert short_name("") == "申报单位"


def test_a_table_whose_numbers_were_changed_in_place_is_refused_not_guessed(city, tmp_path):
    """GIVEN the officers' copy of the 汇总表 with 序号 renumbered 3, 2, 1 in place (no 排序
    column) WHEN it is read back THEN it is refused, saying what to do: rows sorted with their old
    numbers would look the same, so no order is guessed."""
    result = build(city.settings, city.store, city.campaign)
    wb = load_workbook(result.path / "汇总表.xlsx")
    ws = wb["汇总表"]
    for row, n in zip((4, 5, 6), (3, 2, 1), strict=True):
        ws.cell(row=row, column=1, value=n)
    edited = tmp_path / "汇总表（改序号）.xlsx"
    wb.save(edited)
    accepted, _ = candidates(city.store)
    with pytest.raises(ranking.RankingError, match="序号 is not in the rows' order"):
        ranking.ranking_from_table(edited, accepted)
    ws.cell(row=4, column=1, value=1), ws.cell(row=6, column=1, value=3)  # back to 1, 2, 3
    wb.save(edited)
    assert len(ranking.ranking_from_table(edited, accepted)) == 3
