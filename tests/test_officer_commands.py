"""Officers' command lines: verbs in Chinese and English, full-width input, problems named."""

from __future__ import annotations

import pytest

from bot.officers.commands import Command, CommandProblem, command_lines, parse_commands, parse_line
from outbox.mail.tracking import make_tracking

T = make_tracking("IIP2023", "420100", 17)  # IIP2023-420100-0017-8
T2 = make_tracking("IIP2023", "420100", 18)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"豁免 {T} USCC_INVALID 原因：老证照代码，经核实合法",
         ("waive", T, "USCC_INVALID", "老证照代码，经核实合法")),
        (f"waive {T.lower()} video_too_short reason: 4分59秒，科长同意",
         ("waive", T, "VIDEO_TOO_SHORT", "4分59秒，科长同意")),
        (f"不予推荐 {T} 理由：项目已获2022年试点示范", ("reject", T, None, "项目已获2022年试点示范")),
        (f"Reject: [{T}] duplicate of last year", ("reject", T, None, "duplicate of last year")),
        (f"恢复 {T}", ("restore", T, None, "")),
        (f"恢复推荐 {T} 说明：复核后同意", ("restore", T, None, "复核后同意")),
        (f"备注 {T} 企业电话确认视频将重新刻盘", ("note", T, None, "企业电话确认视频将重新刻盘")),
        (f"note {T} called back", ("note", T, None, "called back")),
        (f"查询 {T}", ("show", T, None, "")),
        (f"show【{T}】", ("show", T, None, "")),
    ],
)  # fmt: skip
def test_commands_parse_into_verb_tracking_code_and_text(line, expected):
    parsed = parse_line(line)
    assert isinstance(parsed, Command)
    assert (parsed.verb, parsed.tracking, parsed.code, parsed.text) == expected
    assert parsed.line == line


def test_full_width_input_and_list_markers_and_glued_verb():
    """A Chinese input method gives full-width letters, digits, hyphens, spaces and colons."""
    full = T.replace("-", "－").translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    parsed = parse_line(f"1、豁免{full}\u3000ｕｓｃｃ＿ｉｎｖａｌｉｄ\u3000原因：老代码")
    assert isinstance(parsed, Command)
    assert (parsed.verb, parsed.tracking, parsed.code, parsed.text) == (
        "waive", T, "USCC_INVALID", "老代码",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("豁免 USCC_INVALID 原因：忘了写编号", "missing_tracking"),
        ("恢复正常", "missing_tracking"),
        (f"豁免 {T[:-1]}{'Z' if T[-1] != 'Z' else 'Y'} USCC_INVALID 原因：x", "bad_tracking"),
        (f"豁免 {T} 原因：忘了写代码", "missing_code"),
        (f"waive {T}", "missing_code"),
    ],
)
def test_malformed_commands_are_problems_with_a_kind(line, kind):
    parsed = parse_line(line)
    assert isinstance(parsed, CommandProblem)
    assert parsed.kind == kind and parsed.message


@pytest.mark.parametrize(
    "line",
    [
        "您好，附件是汇总表",
        "shows nothing",
        "noted, thanks",
        "",
        "   ",
        "> 豁免 " + T + " USCC_INVALID x",
    ],
)
def test_ordinary_lines_are_not_commands(line):
    assert parse_line(line) is None


def test_reply_to_a_digest_carries_several_commands_above_the_quote():
    """GIVEN a reply to a digest with three command lines, a greeting and the quoted digest
    WHEN parsed THEN exactly the three commands come out, in order; quoted lines are ignored."""
    body = (
        "收到，处理如下：\n"
        f"豁免 {T} USCC_INVALID 原因：老代码\n"
        f"不予推荐 {T2} 原因：已获2022年试点示范\n"
        f"备注 {T} 已电话核实\n"
        "\n"
        "------------------ 原始邮件 ------------------\n"
        f"豁免 {T2} VIDEO_TOO_SHORT 原因：不应执行\n"
    )
    parsed = parse_commands("回复：【每日汇总】2023年11月29日", body)
    assert [(p.verb, p.tracking) for p in parsed] == [("waive", T), ("reject", T2), ("note", T)]


@pytest.mark.parametrize(
    "quote",
    ["> 豁免 {t} VIDEO_TOO_SHORT x", "-----Original Message-----", "On Wed, 29 Nov 2023 zhang wrote:",
     "在 2023年11月29日 10:00，申报受理 写道：", "发件人：申报受理 <intake@example.org>"],
)  # fmt: skip
def test_quoted_parts_end_the_command_lines(quote):
    body = f"查询 {T}\n" + quote.format(t=T2) + f"\n豁免 {T2} VIDEO_TOO_SHORT 原因：不应执行\n"
    assert [(p.verb, p.tracking) for p in parse_commands("", body)] == [("show", T)]


def test_subject_counts_only_without_a_reply_prefix_when_repeated_in_body():
    """A command in the subject repeated in the body counts once (the first wording kept)."""
    parsed = parse_commands(
        f"豁免 {T} USCC_INVALID 原因：老代码", f"豁免 {T} USCC_INVALID 原因：另一种说法"
    )
    assert [(p.verb, p.code, p.text) for p in parsed] == [("waive", "USCC_INVALID", "老代码")]


def test_a_reply_to_our_confirmation_does_not_run_the_subject_again():
    """GIVEN our confirmation's subject ``回复：豁免 …`` WHEN the officer answers it ("谢谢")
    THEN the subject (now ``回复：回复：豁免 …``) holds no command: nothing is carried out twice."""
    assert parse_commands(f"回复：回复：豁免 {T} USCC_INVALID 原因：老代码", "谢谢") == []
    assert command_lines(f"Re: 查询 {T}", "") == []
