"""Mails after an officer's decision as the applicant reads them: the updated 回执 after a
waiver and the restore notice (wording, section numbering, no internal codes)."""

from __future__ import annotations

import re

from outbox.mail.decision_mail import compose_restore_notice, compose_waiver_notice
from rules.finding import Finding
from tests.outbox_builders import TRACKING, make_ctx, make_dossier, phone_warning, video_finding


def uscc_finding() -> Finding:
    return Finding(
        code="USCC_INVALID",
        severity="error",
        clause="二（一）；GB 32100-2015",
        message="统一社会信用代码「91420100MA4K00001X」无效：校验位应为 7",
        where="申报书.docx",
        fix="请核对营业执照上的统一社会信用代码",
    )


def plain(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def headings(text: str) -> list[str]:
    return re.findall(r"^([一二三四五六七八九十])、", text, re.M)


def test_the_updated_receipt_names_the_waived_item_in_words_with_the_reason() -> None:
    """GIVEN a dossier whose only error, a wrong 统一社会信用代码, an officer waived
    WHEN the updated 回执 is composed THEN it says in words which item the bureau accepted after
    review, quotes the officer's reason, never shows the internal code, and has no empty 提示."""
    msg = compose_waiver_notice(
        make_ctx(), make_dossier(), [], TRACKING, to="a@example.com", waived=["USCC_INVALID"],
        version=1, reason="老证照代码，经核实合法", waived_findings=[uscc_finding()],
    )  # fmt: skip
    text, html = plain(msg), msg.get_body(("html",)).get_content()
    assert (
        "1. “统一社会信用代码无效”（统一社会信用代码「91420100MA4K00001X」无效：校验位应为 7）："
        "经我局审核同意，不再要求补正。审核意见：老证照代码，经核实合法\n" in text
    )
    assert "USCC_INVALID" not in text and "USCC_INVALID" not in html
    assert "审核意见：老证照代码，经核实合法" in html
    assert "提示" not in text and "无\n" not in text
    assert re.findall(r"^([一二三])、(\S+)", text, re.M) == [("一", "收到的材料"), ("二", "后续事项")]
    assert msg["X-Intake-Verdict"] == "accepted" and msg["Subject"].startswith("【回执（更新）】")
    assert "盘面标注申报单位简称。\n\n联系方式：张科长" in text  # one blank line, not two


def test_the_updated_defect_notice_lists_what_remains_numbered() -> None:
    """GIVEN a waiver that leaves a video error WHEN composed THEN the remaining error is section
    一, materials 二, and there is no 后续事项 (not accepted yet)."""
    msg = compose_waiver_notice(
        make_ctx(), make_dossier(), [video_finding(), phone_warning()], TRACKING,
        to="a@example.com", waived=["USCC_INVALID"], version=2, reason="老代码",
        waived_findings=[uscc_finding()],
    )  # fmt: skip
    text = plain(msg)
    assert re.findall(r"^([一二三])、(\S+)", text, re.M) == [
        ("一", "仍需补正的问题"), ("二", "收到的材料"),
    ]  # fmt: skip
    assert "1. 视频时长 4分32秒" in text and "联系方式为座机" not in text
    assert msg["X-Intake-Verdict"] == "defective"


def test_an_accepted_dossier_with_warnings_keeps_the_numbered_hint_section() -> None:
    msg = compose_waiver_notice(
        make_ctx(), make_dossier(), [phone_warning()], TRACKING, to="a@example.com",
        waived=["VIDEO_TOO_SHORT"], version=1, reason="",
    )  # fmt: skip
    text = plain(msg)
    assert headings(text) == ["一", "二", "三"]
    assert "一、提示（不影响受理，请留意）\n1. 联系方式为座机" in text
    # no finding passed: the item is named by the rule's title; no reason: a neutral one
    assert "1. “视频时长不足 5 分钟”：经我局审核同意，不再要求补正。审核意见：经核实，同意" in text


def test_a_restore_while_defective_says_back_in_the_list_and_what_is_outstanding() -> None:
    """GIVEN a 不予推荐 withdrawn on a dossier that still has a video error
    WHEN the restore notice is composed THEN it never says 已恢复推荐: it says the dossier is back
    in the bureau's list, lists the error to correct, how and by when."""
    msg = compose_restore_notice(
        make_ctx(), make_dossier(), TRACKING, to="a@example.com", reason="经复核，前次意见有误",
        findings=[video_finding(), phone_warning()], version=2,
    )  # fmt: skip
    text, html = plain(msg), msg.get_body(("html",)).get_content()
    assert "恢复推荐" not in text and "恢复推荐" not in html and "恢复推荐" not in msg["Subject"]
    assert msg["Subject"] == f"【复核结果通知】基于工业互联网平台的智能工厂建设项目 [{TRACKING}]"
    assert "此前的不予推荐通知作废，本项目已重新列入我局的申报受理名单" in text
    assert "说明：经复核，前次意见有误" in text
    assert "仍有以下 1 个问题需要补正" in text and "1. 视频时长 4分32秒，要求 5–10 分钟" in text
    assert "联系方式为座机" not in text  # warnings are not outstanding
    assert "补正截止：2023年12月1日（星期五），还剩 11 天" in text
    assert (msg["X-Intake-Decision"], msg["X-Intake-Verdict"]) == ("restore", "defective")


def test_a_restore_of_an_accepted_dossier_says_recommended_again() -> None:
    msg = compose_restore_notice(
        make_ctx(), make_dossier(), TRACKING, to="a@example.com", findings=[phone_warning()]
    )
    assert "已恢复推荐" in plain(msg) and msg["Subject"].startswith("【恢复推荐通知】")
