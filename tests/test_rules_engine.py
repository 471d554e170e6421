"""Engine semantics: boundaries, findings' wording and places, cross-dossier attachment, tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parsers.facts import IntakeProblem
from rules.campaign import load_campaign
from rules.engine import evaluate, quota_findings, table_findings
from rules.verdict import verdict
from tests.rules_builders import (
    USCC,
    USCC_B,
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


def run(*ds, **kw):
    return evaluate(list(ds), IIP, **kw)


def only(d, **kw):
    return [(f.code, f.where) for f in run(d, **kw).per_dossier[0]]


def with_video(*videos):
    return dossier(materials=[form_material(default_fields()), scan_material(), *videos])


@pytest.mark.parametrize(
    ("seconds", "codes"),
    [
        (299.6, ["VIDEO_TOO_SHORT"]),
        (300.0, []),
        (600.9, []),
        (601.0, ["VIDEO_TOO_LONG"]),
        (59.0, ["VIDEO_TOO_SHORT"]),
    ],
)
def test_video_window_is_whole_seconds_rounded_down(seconds: float, codes: list[str]) -> None:
    assert [c for c, _ in only(with_video(video_material(seconds)))] == codes


def test_video_duration_message_names_actual_and_expected() -> None:
    (f,) = run(with_video(video_material(272.4, name="宣传片.mp4"))).per_dossier[0]
    assert (f.code, f.severity, f.where, f.message) == (
        "VIDEO_TOO_SHORT",
        "error",
        "宣传片.mp4",
        "视频时长 4分32秒，要求 5–10 分钟",
    )
    assert "5–10 分钟" in f.fix


@pytest.mark.parametrize(
    "facts",
    [
        {"truncated": True},
        {"has_video": False},
        {"readable": False, "problem": "moov_missing"},
        {"duration_s": None, "problem": "no_duration"},
    ],
)
def test_unreadable_video_says_resend(facts) -> None:
    (f,) = run(with_video(video_material(**({"duration_s": 372.5} | facts)))).per_dossier[0]
    assert (f.code, f.where) == ("VIDEO_UNREADABLE", "项目视频.mp4")
    assert f.message.startswith("视频文件不完整或已损坏，请重新发送")


def test_missing_video_makes_submission_invalid() -> None:
    (f,) = run(with_video()).per_dossier[0]
    assert f.code == "VIDEO_MISSING" and "视为无效申报材料" in f.message


def test_ffprobe_missing_is_not_the_applicants_fault() -> None:
    assert only(with_video(video_material(None, readable=False, problem="ffprobe_missing"))) == []


def test_unreadable_form_is_a_warning_and_the_form_is_missing_on_its_own() -> None:
    broken = form_material(default_fields())
    broken.readable, broken.problem = False, "corrupt"
    d = dossier(materials=[broken, scan_material(), video_material()])
    assert only(d) == [("FORM_MISSING", ""), ("FILE_UNREADABLE", "申报书.docx")]
    assert verdict(run(d).per_dossier[0]) == "defective"


def test_forbidden_and_unsafe_archive_places() -> None:
    d = dossier(problems=[IntakeProblem("archive_link", "材料.zip!/材料/链接")])
    assert only(d) == [("ARCHIVE_UNSAFE", "材料.zip!/材料/链接")]


def test_field_missing_names_the_field_in_chinese() -> None:
    fs = run(dossier(fields=default_fields(uscc="", mobile=""))).per_dossier[0]
    assert [(f.code, f.message, f.where) for f in fs] == [
        ("FORM_FIELD_MISSING", "申报书未填写「统一社会信用代码」", "申报书.docx"),
        ("FORM_FIELD_MISSING", "申报书未填写「联系人手机」", "申报书.docx"),
    ]


def test_no_form_means_no_field_findings() -> None:
    d = dossier(materials=[scan_material(), video_material()])
    assert [c for c, _ in only(d)] == ["FORM_MISSING"]


def test_category_direction_in_one_field_is_split() -> None:
    f = default_fields(category="工厂类-5G全连接工厂", direction="")
    assert only(dossier(fields=f)) == []


def test_uscc_message_gives_expected_check_character() -> None:
    bad = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")
    (f,) = run(dossier(fields=default_fields(uscc=bad))).per_dossier[0]
    assert (
        f.message
        == f"统一社会信用代码「{bad}」无效：校验位应为 {USCC[-1]}，实为 {bad[-1]}；要求 18 位有效代码（GB 32100-2015）"
    )


def test_late_boundary_is_end_of_day_beijing() -> None:
    on_time = datetime(2023, 12, 1, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Beijing
    late = datetime(2023, 12, 1, 16, 0, 0, tzinfo=UTC)  # 00:00 on 2 Dec in Beijing
    assert only(dossier(received_at=on_time)) == []
    (f,) = run(dossier(received_at=late)).per_dossier[0]
    assert (f.code, f.severity, f.message) == (
        "LATE_SUBMISSION",
        "warning",
        "收到时间 2023-12-02 00:00（北京时间），晚于市级截止日期 2023-12-01",
    )
    assert verdict([f]) == "accepted"


def test_late_depends_on_level_and_policy() -> None:
    d = dossier(received_at=at(2023, 12, 5))
    assert only(d, level="province") == [] and only(d, level="district") == []
    strict = IIP.model_copy(
        update={"late_policy": IIP.late_policy.model_copy(update={"severity": "error"})}
    )
    assert [f.severity for f in evaluate([d], strict).per_dossier[0]] == ["error"]


def test_over_limit_attaches_to_the_excess_project_and_joins_uscc_and_name() -> None:
    """GIVEN three projects of one applicant: two by USCC, one by name only (another spelling)
    WHEN the intake is judged THEN the third received carries APPLICANT_OVER_LIMIT (the first two
    stand, so the 回执 they got stays true); a stranger none."""
    a = project("项目一", category="工厂类")
    b = project("项目二", category="平台类", applicant="别名")
    c = project("项目三", category="安全类", applicant=" 武汉示例智能制造有限责任公司", uscc="")
    other = project("项目四", applicant="另一家有限公司", uscc=USCC_B)
    ev = run(a, b, c, other)
    assert [[f.code for f in fs if f.code != "FORM_FIELD_MISSING"] for fs in ev.per_dossier] == [
        [], [], ["APPLICANT_OVER_LIMIT"], []
    ]
    (over,) = [f for f in ev.per_dossier[2] if f.code == "APPLICANT_OVER_LIMIT"]
    assert "本项目为第 3 个" in over.message and "「项目一」、「项目二」" in over.message


def test_duplicate_by_same_form_file() -> None:
    a = project("甲项目", source="a")
    b = dossier("b", materials=[a.materials[0], scan_material(), video_material()])
    assert [[f.code for f in fs] for fs in run(a, b).per_dossier] == [[], ["PROJECT_DUPLICATE"]]


def test_resubmitted_version_alone_is_not_a_duplicate() -> None:
    """The store passes only the current version, so a resubmission meets no earlier self."""
    assert run(project("甲项目", source="v2")).per_dossier == [[]]


def test_waiver_drops_the_overridden_finding() -> None:
    bad = dossier(
        "legacy",
        fields=default_fields(uscc=USCC[:-1] + "0" if USCC[-1] != "0" else USCC[:-1] + "1"),
    )
    assert [f.code for f in run(bad).per_dossier[0]] == ["USCC_INVALID"]
    assert run(bad, waived={("legacy", "USCC_INVALID")}).per_dossier == [[]]
    assert run(bad, waived={("*", "USCC_INVALID")}).per_dossier == [[]]


def test_table_findings_in_a_packet() -> None:
    a, b = (
        project("甲项目", source="a"),
        project("乙项目", applicant="乙公司", uscc=USCC_B, source="b"),
    )
    t = table([table_row(a), table_row(a, project_name="丙项目", contact="")])
    ev = table_findings(t, [a, b], IIP)
    assert [(f.code, f.where) for f in ev.general] == [
        ("TABLE_ROW_MISMATCH", "汇总表!B5"),
        ("TABLE_ROW_INCOMPLETE", "汇总表!F5"),
    ]
    assert [[f.code for f in fs] for fs in ev.per_dossier] == [[], ["TABLE_ROW_MISMATCH"]]
    assert ev.general[1].message == "汇总表第 2 行「联系方式（手机与邮箱）」未填写"


def test_table_carried_by_a_dossier_is_checked_in_evaluate() -> None:
    d = dossier()
    d.table = table([table_row(d, contact="wangxm@example.com")])
    assert only(d) == [("TABLE_ROW_INCOMPLETE", "汇总表!F4")]


def test_cover_with_only_a_table_is_not_a_project() -> None:
    a = project("甲项目", source="a")
    cover = dossier("cover", materials=[], table=table([table_row(a)]))
    assert run(a, cover).per_dossier == [[], []]


def test_quota_marks_those_ranked_beyond_the_limit() -> None:
    ranked = [project(f"项目{i}", applicant=f"单位{i}", uscc="") for i in range(12)]
    out = quota_findings(ranked, IIP, "ministry", "central_soe")
    assert [i for i, fs in enumerate(out) if fs] == [10, 11]
    assert (
        out[10][0].message
        == "推荐项目共 12 个，中央企业推荐名额原则上不超过 10 个；本项目排序第 11 位，列为不推荐"
    )
    assert quota_findings(ranked, IIP, "ministry", "unknown") == [[]] * 12


def test_every_finding_has_message_and_fix_in_chinese() -> None:
    d = dossier(
        fields=default_fields(email="x", mobile="1", category="怪类"),
        received_at=at(2024, 1, 1),
        links=["https://pan.baidu.com/s/1"],
    )
    fs = run(d, project("甲项目"), project("甲项目")).per_dossier
    for f in (f for group in fs for f in group):
        assert f.message and f.fix and any("\u4e00" <= ch <= "\u9fff" for ch in f.message + f.fix)
    assert verdict([]) == "accepted"


def test_rows_kept_judges_as_without_and_reads_each_dossier_once(monkeypatch) -> None:
    """GIVEN three projects of one applicant and a stranger, judged one input at a time against
    the ones before (as the pipeline does) WHEN inside ``rows_kept`` THEN every finding is the
    same as without it, and each dossier's form fields are read once, not once per input."""
    from rules import cross_dossier

    ds = [project("项目一"), project("项目二", category="平台类"),
          project("项目三", category="安全类"), project("项目四", applicant="另一家有限公司", uscc=USCC_B)]

    def one_at_a_time():
        return [evaluate(ds[: i + 1], IIP, targets=[i]).per_dossier[i] for i in range(len(ds))]

    without = one_at_a_time()
    reads: list[int] = []
    real = cross_dossier.form_fields
    monkeypatch.setattr(cross_dossier, "form_fields", lambda d, c: reads.append(id(d)) or real(d, c))
    with cross_dossier.rows_kept():
        kept = one_at_a_time()
    assert [[f.code for f in fs] for fs in kept] == [[f.code for f in fs] for fs in without]
    assert "APPLICANT_OVER_LIMIT" in [f.code for f in kept[2]]
    assert sorted(reads) == sorted(id(d) for d in ds)  # once each
