"""The officers' digest: data per category and officer, the rendering, the mail, the schedule."""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes
from email import policy as email_policy

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.daemon import Intake
from bot.digest.build import gather, queue_digests
from bot.digest.scheduler import build_scheduler
from outbox.documents.digest import chart_png, render
from tests.conftest import SAMPLES, copy_into, make_settings

OFFICERS = [
    {"name": "张处长", "email": "lead@bureau.example.org", "lead": True},
    {"name": "李科员", "email": "factory@bureau.example.org", "categories": ["工厂类"]},
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """An instance that took four of the bundled samples: 1 complete, 1 short video, 1 without
    scan, 1 with a wrong USCC check character."""
    root = tmp_path_factory.mktemp("digest")
    settings = make_settings(root, office={"officers": OFFICERS})
    for name in ("01-武汉示例智能制造-完整材料", "02-江城示例数据-视频过短",
                 "03-汉阳示例装备-缺扫描件", "04-光谷示例安全-信用代码错误"):
        copy_into(SAMPLES / name, settings.drop.folders[0])
    intake = Intake(settings)
    intake.run_once()
    yield intake
    intake.close()


def test_counts_defects_and_deadline(demo):
    """GIVEN one accepted and three defective dossiers WHEN the digest is gathered THEN the totals,
    the outstanding defects and the days to the city's deadline (2023-12-01) are right."""
    data = gather(demo.settings, demo.store, demo.campaign)
    t = data.total
    assert (t.received, t.accepted, t.defective, t.awaiting) == (4, 1, 3, 3)
    assert len(data.defects) == 3 and all(errors for _, _, _, errors in data.defects)
    assert data.days_left == 2 and data.deadline == "2023年12月1日"
    assert set(data.counts) >= {c.name for c in demo.campaign.categories}


def test_officer_sees_only_their_categories(demo):
    """GIVEN an officer for 工厂类 WHEN their digest is gathered THEN only 工厂类 is counted."""
    data = gather(demo.settings, demo.store, demo.campaign, categories=["工厂类"])
    assert list(data.counts) == ["工厂类"]
    assert data.total.received == sum(
        1 for d in demo.store.dossiers() if d.category == "工厂类")


def test_render_text_html_and_chart(demo):
    """The text and HTML carry the counts table and sections; the chart is a PNG referenced by cid."""
    data = gather(demo.settings, demo.store, demo.campaign)
    text, page, png = render(data, inline_cid="chart.1@x")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "合计：收到 4，受理 1，需补正 3" in text
    assert 'src="cid:chart.1@x"' in page and "<td>4</td>" in page
    assert "本级截止日期：2023年12月1日，还剩 2 天" in text


def test_chart_without_cjk_font_uses_ascii_codes():
    """Without a CJK font the bars are labelled C1.. and the legend maps them to categories."""
    png, legend = chart_png({"工厂类": (2, 1), "平台类": (0, 3)}, font=None)
    assert png.startswith(b"\x89PNG")
    assert legend == {"C1": "工厂类", "C2": "平台类"}


def test_digest_mails_per_officer_with_inline_chart_and_changes(tmp_path):
    """GIVEN two officers WHEN digests are queued twice with a new dossier in between THEN each
    officer gets one mail per run with the chart inline (Content-ID), and the second lists the
    new dossier under the changes."""
    settings = make_settings(tmp_path, office={"officers": OFFICERS})
    copy_into(SAMPLES / "01-武汉示例智能制造-完整材料", settings.drop.folders[0])
    intake = Intake(settings)
    try:
        intake.run_once()
        assert queue_digests(intake) == 2
        copy_into(SAMPLES / "03-汉阳示例装备-缺扫描件", settings.drop.folders[0])
        intake.run_once()
        assert queue_digests(intake) == 2
        rows = intake.store.conn.execute(
            "SELECT rcpts, raw FROM outgoing WHERE kind='digest' ORDER BY id").fetchall()
    finally:
        intake.close()
    assert len(rows) == 4
    last_lead = message_from_bytes(bytes(rows[2]["raw"]), policy=email_policy.default)
    assert "lead@bureau.example.org" in rows[2]["rcpts"]
    html = last_lead.get_body(("html",))
    image = next(p for p in last_lead.walk() if p.get_content_type() == "image/png")
    cid = image["Content-ID"].strip("<>")
    assert f"cid:{cid}" in html.get_content()
    body = last_lead.get_body(("plain",)).get_content()
    assert "新收到：[" in body and "装备制造行业工业互联网平台项目" in body
    assert last_lead["Auto-Submitted"] == "auto-generated"


def test_schedule_times_and_deadline_day(tmp_path):
    """The schedule has one job per configured time (Asia/Shanghai) and one on the deadline day."""
    settings = make_settings(tmp_path, digest={"times": ["08:30", "16:00"]})
    intake = Intake(settings)
    try:
        from rules.campaign import Level

        future = intake.campaign.model_copy(update={"levels": {"city": Level(
            label="市级", deadline=datetime.now().date().replace(year=datetime.now().year + 1))}})
        intake.campaign = future
        scheduler = build_scheduler(intake)
        jobs = {j.id: j for j in scheduler.get_jobs()}
    finally:
        intake.close()
    assert set(jobs) == {"digest-0830", "digest-1600", "digest-deadline-day"}
    assert str(jobs["digest-0830"].trigger.timezone) == "Asia/Shanghai"
    run = jobs["digest-deadline-day"].trigger.run_date
    assert (run.hour, run.minute, run.year) == (17, 0, datetime.now().year + 1)


def test_cli_digest_out_and_packet_build(demo, tmp_path):
    """``intake digest --out`` writes .html/.txt/.png; ``intake packet build`` writes the packet."""
    cfg = tmp_path / "c.toml"
    s = demo.settings
    cfg.write_text(
        f'[store]\ndata_dir = "{s.store.data_dir}"\n[campaign]\nnow = 2023-11-29T10:00:00+08:00\n'
        f'[packet]\nout_dir = "{tmp_path / "packets"}"\n', encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["--config", str(cfg), "digest", "--out", str(tmp_path / "d.html")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "d.png").read_bytes().startswith(b"\x89PNG")
    assert "申报受理汇总" in (tmp_path / "d.html").read_text(encoding="utf-8")
    res = runner.invoke(app, ["--config", str(cfg), "packet", "build"])
    assert res.exit_code == 0, res.output
    packet = next((tmp_path / "packets").iterdir())
    assert (packet / "汇总表.xlsx").is_file() and (packet / "manifest.json").is_file()
    assert "recommended 1" in res.output.replace("\n", " ")


def test_an_officers_digest_shows_decisions_only_on_their_categories_dossiers(tmp_path):
    """GIVEN a 工厂类 dossier and a 安全类 one, each with an officer's internal note (备注)
    WHEN the digest of the 工厂类 officer and the lead's are gathered
    THEN the 工厂类 officer's shows the note on the 工厂类 dossier only; the lead's shows both."""
    from bot.store.decisions import note, reject, restore

    settings = make_settings(tmp_path, office={"officers": OFFICERS})
    for name in ("01-武汉示例智能制造-完整材料", "04-光谷示例安全-信用代码错误"):
        copy_into(SAMPLES / name, settings.drop.folders[0])
    intake = Intake(settings)
    try:
        intake.run_once()
        by_category = {d.category: d.tracking for d in intake.store.dossiers()}
        factory, safety = by_category["工厂类"], by_category["安全类"]
        note(intake.store, factory, "电话核实过视频", officer="李科员")
        note(intake.store, safety, "企业称信用代码已变更", officer="张处长")
        reject(intake.store, safety, officer="张处长", reason="重复申报")
        restore(intake.store, safety, officer="张处长")  # no reason given
        mine = gather(settings, intake.store, intake.campaign, categories=["工厂类"], recipient="f")
        lead = gather(settings, intake.store, intake.campaign, recipient="l")
    finally:
        intake.close()
    assert [factory in d for d in mine.decisions] == [True]
    assert not any(safety in d or "信用代码已变更" in d for d in mine.decisions)
    assert sorted(d.split("[")[1].split("]")[0] for d in lead.decisions) == sorted([factory, safety] + [safety] * 2)
    assert lead.decisions[-1].endswith(f"恢复 [{safety}]")  # no reason: no dangling "："


def test_a_category_digest_shows_the_units_quota_use_not_its_categorys(demo):
    """GIVEN a unit with a quota (unit_kind) and one accepted dossier, of 工厂类
    WHEN the 安全类 officer's digest is gathered and rendered THEN it counts the unit's one
    accepted dossier against the quota (none of its own category is accepted), and says so."""
    office = demo.settings.office.model_copy(update={"unit_kind": "provincial_miit"})
    settings = demo.settings.model_copy(update={"office": office})
    mine = gather(settings, demo.store, demo.campaign, categories=["安全类"], recipient="s")
    assert mine.total.accepted == 0 and mine.quota is not None and mine.quota[0] == 1
    text = render(mine, inline_cid=None)[0]
    assert "本单位（全部类别）已受理 1 个" in text
