"""Campaign profiles: the shipped one from any directory, and a made-up one needing no code."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from rules.campaign import CampaignError, load_campaign
from rules.engine import evaluate, quota_findings
from rules.winners import read_winners
from tests.rules_builders import DATA, USCC_B, at, default_fields, dossier, project, video_material

ROOT = Path(__file__).parents[1]


def test_shipped_profile_matches_the_notice() -> None:
    c = load_campaign()
    assert (c.name, c.code, c.notice, c.year) == (
        "2023年工业互联网试点示范",
        "IIP2023",
        "工信厅信管函〔2023〕319号",
        2023,
    )
    assert [x.name for x in c.categories] == [
        "新技术类",
        "工厂类",
        "载体类",
        "园区类",
        "网络类",
        "平台类",
        "安全类",
    ]
    assert all(x.directions == [] for x in c.categories)
    assert (c.video.min_s, c.video.max_s, c.demonstration_years) == (300, 600, 2)
    assert {k: v.deadline for k, v in c.levels.items()} == {
        "district": None,
        "city": date(2023, 12, 1),
        "province": date(2023, 12, 10),
        "ministry": date(2023, 12, 20),
    }
    assert {k: q.limit for k, q in c.quotas.items()} == {
        "provincial_miit": 30,
        "provincial_comms": 30,
        "plan_city": 15,
        "central_soe": 10,
    }
    assert (
        c.levels["city"].form_sets,
        c.levels["city"].discs,
        c.levels["province"].form_sets,
        c.levels["ministry"].form_sets,
    ) == (7, 2, 6, 5)
    assert (c.limits.projects_per_applicant, c.late_policy.severity, c.winners) == (
        2,
        "warning",
        None,
    )


def test_shipped_profile_found_from_any_cwd(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from rules.campaign import load_campaign; print(load_campaign().code)",
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "IIP2023"


def test_bad_profiles_raise_campaign_error(tmp_path: Path) -> None:
    with pytest.raises(CampaignError, match="cannot read"):
        load_campaign(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("name = [", encoding="utf-8")
    with pytest.raises(CampaignError, match="not valid TOML"):
        load_campaign(tmp_path / "bad.toml")
    (tmp_path / "typo.toml").write_text(
        'name="x"\ncode="X"\nnotice="n"\nyear=2024\ncategories=[]\nvidoe={}\n', encoding="utf-8"
    )
    with pytest.raises(CampaignError, match="vidoe"):
        load_campaign(tmp_path / "typo.toml")
    (tmp_path / "w.toml").write_text(
        'name="x"\ncode="X"\nnotice="n"\nyear=2024\ncategories=[]\nwinners="missing.csv"\n',
        encoding="utf-8",
    )
    with pytest.raises(CampaignError, match="winners list"):
        load_campaign(tmp_path / "w.toml")


def test_made_up_campaign_needs_no_code() -> None:
    """GIVEN a second profile with its own categories, directions, window, limits, late policy, quotas
    WHEN dossiers are judged against it
    THEN every number comes from the TOML, not from code."""
    c = load_campaign(DATA / "made-up-2031.toml")
    base = default_fields(
        category="灯塔类", direction="黑灯工厂", mobile="", email="", contact_name=""
    )
    ok = dossier(
        fields=base,
        materials=[m for m in dossier(fields=base).materials if m.role != "scanned_copy"],
    )
    ok.materials = [m for m in ok.materials if m.role != "video"] + [video_material(150.0)]
    ev = evaluate([ok], c, now=at(2031, 6, 1))
    assert ev.per_dossier == [
        []
    ]  # no scan required, 150 s fits 120–180 s, few form fields required
    late = evaluate([dossier(fields=base, received_at=at(2031, 7, 1))], c).per_dossier[0]
    assert [(f.code, f.severity) for f in late] == [
        ("VIDEO_TOO_LONG", "error"),
        ("LATE_SUBMISSION", "error"),
    ]
    assert late[0].message == "视频时长 6分12秒，要求 2–3 分钟"
    two = [
        project("甲", category="灯塔类", direction="黑灯工厂", video_s=150),
        project("乙", category="生态类", direction="随便", video_s=150),
    ]
    # this campaign allows one project per applicant: the second received is the excess
    assert [[f.code for f in fs] for fs in evaluate(two, c).per_dossier] == [[], ["APPLICANT_OVER_LIMIT"]]
    quota = quota_findings(
        [project(str(i), applicant=str(i), uscc="") for i in range(3)], c, "city", "city_bureau"
    )
    assert [[f.code for f in fs] for fs in quota] == [[], [], ["QUOTA_EXCEEDED"]]


def test_made_up_winners_within_three_year_period() -> None:
    c = load_campaign(DATA / "made-up-2031.toml")
    assert [w.year for w in read_winners(c.winners)] == [2029, 2027]
    hit = project("老厂房改造示范项目", category="生态类", direction="x", video_s=150)
    stale = project(
        "很久以前的项目", category="生态类", direction="x", video_s=150
    )  # 2027 + 3 < 2031
    other = project(
        "老厂房改造示范项目",
        category="生态类",
        direction="x",
        uscc=USCC_B,
        applicant="别家公司",
        video_s=150,
    )
    per = [evaluate([d], c).per_dossier[0] for d in (hit, stale, other)]
    assert [[f.code for f in fs] for fs in per] == [["PREVIOUSLY_SELECTED"], [], []]
    assert (
        per[0][0].message
        == "项目「老厂房改造示范项目」已列入 2029 年试点示范，示范期 3 年（至 2032 年）内不可重复申报"
    )
