"""One mail says one thing (issue 17, item 5): a 回执 never says 予以受理 while its LATE_SUBMISSION
warning says an officer has still to decide (a video sent as a link: tests of cloud links); and
``config check`` warns when the deadline has passed with no pinned clock."""

from __future__ import annotations

from typer.testing import CliRunner

from bot.cli.app import app
from outbox.mail.compose import compose_receipt
from rules.finding import Finding
from tests.outbox_builders import TRACKING, make_ctx, make_dossier

STEPS = ["请于2023年12月1日前将项目申报书纸质版装订成册一式七套报送武汉市经济和信息化局。",
         "电子版光盘一式两份：刻录5-10分钟项目相关视频证明材料。",
         "申报单位对单位资质、项目申报书内容的真实性负责。"]


def _late() -> Finding:
    return Finding(code="LATE_SUBMISSION", severity="warning", clause="三（一）；省、市通知",
                   message="收到时间 2026-12-03 16:09（北京时间），晚于市级截止日期 2023-12-01",
                   where="", fix="材料已登记；是否受理由经办人决定，如有正当理由请来电说明")


def _text(findings) -> tuple[str, str]:
    msg = compose_receipt(make_ctx(next_steps=STEPS), make_dossier(), findings, TRACKING, to="a@example.com")
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def test_a_late_receipt_does_not_also_say_accepted_nor_ask_for_paper_by_the_passed_deadline():
    for body in _text([_late()]):
        assert "是否受理由经办人决定" in body
        assert "予以受理" not in body and "不影响受理" not in body
        assert "请于2023年12月1日前" not in body
        assert "经办人决定受理后，请按其通知报送纸质材料和光盘" in body


def test_an_ordinary_receipt_still_accepts():
    for body in _text([]):
        assert "材料齐全，" in body and "予以受理" in body
        assert "请于2023年12月1日前" in body


def test_config_check_warns_that_the_deadline_has_passed_without_a_pinned_clock(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[drop]\nfolders = ["{drop}"]\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["config", "check", str(cfg)])
    assert "warning: campaign.now: not set, and the city deadline" in res.stderr
    assert "2023-12-01" in res.stderr
    cfg.write_text(f'[drop]\nfolders = ["{drop}"]\n[campaign]\nnow = 2023-11-29T10:00:00+08:00\n',
                   encoding="utf-8")
    res = CliRunner().invoke(app, ["config", "check", str(cfg)])
    assert "campaign.now" not in res.stderr


def _over_limit() -> Finding:
    return Finding(code="APPLICANT_OVER_LIMIT", severity="error", clause="二（四）",
                   message="申报单位「东湖示例集团」已申报 2 个项目，本项目为第 3 个",
                   where="", fix="如需以本项目替换已申报的项目，请联系我局经办人员说明撤回哪一个；否则本项目不予受理")


def _defect(findings) -> tuple[str, str]:
    from outbox.mail.compose import compose_defect_notice

    msg = compose_defect_notice(make_ctx(), make_dossier(), findings, TRACKING, to="a@example.com")
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def test_how_to_correct_fits_a_defect_no_file_can_cure():
    """GIVEN a third project of one applicant (APPLICANT_OVER_LIMIT), alone or with a video defect
    WHEN the 补正通知 is written
    THEN alone it never says to reply with corrected files; mixed it says which problem needs the
    officer and that the others are fixed by files."""
    from tests.outbox_builders import video_finding

    for body in _defect([_over_limit()]):
        assert "附上修改后的文件" not in body and "补正截止" not in body
        assert "无法通过补发文件解决" in body and "办理截止" in body
        assert "刻录光盘" not in body  # the large-file note is about files: left out
    for body in _defect([video_finding(), _over_limit()]):
        assert "第 2 项无法通过补发文件解决" in body and "附上修改后的文件" in body
    for body in _defect([video_finding()]):
        assert "无法通过补发文件解决" not in body and "补正截止" in body
