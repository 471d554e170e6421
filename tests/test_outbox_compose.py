"""Receipts and defect notices as a recipient reads them: case C20, bodies, threading, headers."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import sqlite3
from email.header import decode_header
from email.utils import collapse_rfc2231_value

from imap_tools import MailMessage

from bot.store.schema import migrate
from outbox.delivery import queue
from outbox.delivery.sender import deliver_pending
from outbox.delivery.smtp import SmtpTransport
from outbox.mail.compose import (
    compose_defect_notice,
    compose_receipt,
    deadline_text,
    format_duration,
    reply_subject,
)
from outbox.mail.headers import encoded_words, text_header, to_bytes
from parsers.mime import parse_message
from tests.outbox_builders import (
    CASES,
    NOW,
    TRACKING,
    make_ctx,
    make_dossier,
    phone_warning,
    video_finding,
)
from tests.servers.smtp import SmtpTestServer, smtp_server  # noqa: F401

ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=")


def header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def all_header_blocks(raw: bytes) -> list[bytes]:
    """The top-level header block and each MIME part's header block."""
    msg = email.message_from_bytes(raw)
    blocks = [header_block(raw)]
    for part in msg.walk():
        if part is not msg:
            blocks.append(part.as_bytes().split(b"\n\n", 1)[0])
    return blocks


def assert_standalone_words(block: bytes) -> int:
    """Every encoded-word decodes on its own into whole characters; returns how many there were."""
    words = ENCODED_WORD.findall(block)
    for word in words:
        [(data, charset)] = decode_header(word.decode("ascii"))
        text = data.decode(charset, errors="strict")  # raises on a split character
        assert text and "\ufffd" not in text, word
    return len(words)


def test_c20_reply_read_as_a_recipient_would(smtp_server: SmtpTestServer) -> None:  # noqa: F811
    """GIVEN the Foxmail submission of case C20 (long gb18030 subject in two words)
    WHEN the bot answers it with a defect notice carrying 审核意见.pdf through the queue and SMTP
    THEN the bytes the server received meet every expectation of tests/cases/C20/expected.json."""
    case = CASES / "C20"
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))["reply"]
    original = parse_message((case / "input" / "original.eml").read_bytes())
    msg = compose_defect_notice(
        make_ctx(),
        make_dossier("揭榜挂帅科技攻关项目"),
        [video_finding()],
        TRACKING,
        to=original.reply_to or original.from_addr,
        original=original,
        attachments=[("审核意见.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")],
    )
    conn = sqlite3.connect(":memory:")
    migrate(conn)
    queue.enqueue(conn, msg, kind="defect", tracking=TRACKING, dedupe_key="defect:1", now=NOW)
    transport = SmtpTransport("127.0.0.1", smtp_server.port, security="plain", timeout_s=5)
    report = asyncio.run(deliver_pending(conn, transport, now=NOW))
    assert report.sent == [1]
    [captured] = smtp_server.messages
    raw = captured.data

    assert captured.rcpts == [expected["to"]]
    head = header_block(raw)
    assert all(b < 128 for b in head) is expected["header_bytes_7bit_ascii"]
    lines = head.split(b"\r\n")
    assert max(map(len, lines)) <= expected["recommended_header_line_octets"]
    assert max(map(len, raw.split(b"\r\n"))) <= expected["max_header_line_octets"]
    assert sum(assert_standalone_words(b) for b in all_header_blocks(raw)) >= 5

    parsed = MailMessage.from_bytes(raw)  # imap-tools on the whole message
    assert parsed.subject.startswith(tuple(expected["subject_decoded_startswith_one_of"]))
    assert expected["subject_decoded_contains"] in parsed.subject
    assert parsed.subject == (
        "回复：【补正通知】关于报送《2024年度“揭榜挂帅”科技攻关项目申报书》及配套材料的函"
        f" [{TRACKING}]"
    )
    assert parsed.to == (expected["to"],)
    assert parsed.from_values.name == "武汉市经信局申报受理"
    assert parsed.headers["in-reply-to"] == (expected["in_reply_to"],)
    assert expected["references_contains"] in parsed.headers["references"][0]
    assert parsed.headers["auto-submitted"] == (expected["auto_submitted"],)
    assert [a.filename for a in parsed.attachments] == [expected["attachment_filename_if_any"]]

    part = next(
        p for p in email.message_from_bytes(raw).walk() if p.get_content_type() == "application/pdf"
    )
    rfc2231 = collapse_rfc2231_value(part.get_param("filename", header="content-disposition"))
    [(data, charset)] = decode_header(part.get_param("name"))  # RFC 2047 reader of name=
    assert (rfc2231, data.decode(charset)) == ("审核意见.pdf", "审核意见.pdf")
    assert part.get_payload(decode=True) == b"%PDF-1.4\n%%EOF\n"


def test_receipt_headers_and_body() -> None:
    msg = compose_receipt(
        make_ctx(), make_dossier(), [phone_warning()], TRACKING, to="wangxm@example.com"
    )
    raw = to_bytes(msg)
    assert msg["Subject"] == f"【回执】基于工业互联网平台的智能工厂建设项目 [{TRACKING}]"
    assert [
        msg[h] for h in ("X-Intake-Tracking", "X-Intake-Verdict", "X-Intake-Loop", "Auto-Submitted")
    ] == [TRACKING, "accepted", "wuhan-city-a1b2", "auto-replied"]
    assert str(msg["Message-ID"]).endswith("@intake.example.org>")
    assert msg["In-Reply-To"] is None
    assert all(b < 128 for b in raw)
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for needle in (
        TRACKING,
        "项目视频.mp4（项目视频，时长 04:32，12.0 MB）",
        "申报书.docx（申报书，35.2 KB）",
        "联系方式为座机 027-12345678",
        "一式7份",
        "张科长 027-85550000",
    ):
        assert needle in text, needle
    assert "项目视频.mp4" in html and "时长 04:32" in html and "<li>" in html


def test_defect_notice_lists_each_finding_with_deadline() -> None:
    msg = compose_defect_notice(
        make_ctx(),
        make_dossier(),
        [video_finding(), phone_warning()],
        TRACKING,
        to="wangxm@example.com",
        version=2,
    )
    text = msg.get_body(("plain",)).get_content()
    assert msg["X-Intake-Verdict"] == "defective"
    assert msg["X-Intake-Version"] == "2"
    assert (
        "1. 视频时长 4分32秒，要求 5–10 分钟\n   依据：通知二（四）\n   文件：项目视频.mp4\n"
        in text
    )
    assert "补正截止：2023年12月1日（星期五），还剩 11 天" in text
    assert "请直接回复本邮件，附上修改后的文件即可；未改动的材料无需重发" in text
    assert "第 2 版" in text and "存在以下 1 个问题" in text
    assert "二、提示（不影响受理，建议一并处理）\n1. 联系方式为座机" in text


def _headings(text: str) -> list[str]:
    return re.findall(r"^([一二三四五六七八九十])、(\S+)", text, re.M)


def test_sections_without_warnings_are_left_out_and_renumbered() -> None:
    """GIVEN a dossier with no warnings WHEN its 回执 and 补正通知 are composed THEN neither shows
    a 提示 section saying 无, and the remaining sections are numbered without a gap."""
    receipt = compose_receipt(make_ctx(), make_dossier(), [], TRACKING, to="a@example.com")
    defect = compose_defect_notice(
        make_ctx(), make_dossier(), [video_finding()], TRACKING, to="a@example.com"
    )
    with_warning = compose_receipt(
        make_ctx(), make_dossier(), [phone_warning()], TRACKING, to="a@example.com"
    )
    heads = [_headings(m.get_body(("plain",)).get_content()) for m in (receipt, defect, with_warning)]
    assert heads == [
        [("一", "收到的材料"), ("二", "后续事项"), ("三", "联系方式")],
        [("一", "需要补正的问题"), ("二", "收到的材料"), ("三", "如何补正"), ("四", "联系方式")],
        [("一", "收到的材料"), ("二", "提示（不影响受理，请留意）"), ("三", "后续事项"),
         ("四", "联系方式")],
    ]  # fmt: skip
    html = receipt.get_body(("html",)).get_content()
    assert "提示" not in html and "二、后续事项</h3>" in html and "三、联系方式</h3>" in html
    html = defect.get_body(("html",)).get_content()
    assert "提示" not in html and "四、联系方式</h3>" in html


def test_html_escapes_dossier_values() -> None:
    dossier = make_dossier("A<b>&项目")
    msg = compose_receipt(make_ctx(), dossier, [], TRACKING, to="a@example.com")
    html = msg.get_body(("html",)).get_content()
    assert "A&lt;b&gt;&amp;项目" in html and "A<b>&项目" not in html


def test_reply_subject_layouts() -> None:
    """The tag comes right after 回复： (a phone shows the start of a subject), then the exact
    original subject, then the tracking tag."""
    assert [
        reply_subject("receipt", "智能工厂", TRACKING, "申报材料"),
        reply_subject("defect", "智能工厂", TRACKING, "智能工厂申报"),
        reply_subject("receipt", "智能工厂", TRACKING, "RE: 回复：申报"),
        reply_subject("receipt", "智能工厂", TRACKING, "Re:"),
        reply_subject("receipt", "智能工厂", TRACKING, "申报", prefix="Re: "),
    ] == [
        f"回复：【回执】申报材料 [{TRACKING}]",
        f"回复：【补正通知】智能工厂申报 [{TRACKING}]",
        f"回复：【回执】申报 [{TRACKING}]",
        f"回复：【回执】智能工厂 [{TRACKING}]",
        f"Re: 【回执】申报 [{TRACKING}]",
    ]
    # a resubmission answering our notice: no 回复：回复：【补正通知】… pile-up
    resub = f"回复：【补正通知】智能工厂 [{TRACKING}]"
    assert (
        reply_subject("receipt", "智能工厂", TRACKING, resub)
        == f"回复：【回执】智能工厂 [{TRACKING}]"
    )
    assert (
        reply_subject("defect", "智能工厂", TRACKING, None) == f"【补正通知】智能工厂 [{TRACKING}]"
    )


def test_encoded_words_never_split_a_character() -> None:
    text = "𠀀喆镕堃" * 40 + "ABC" + "【回执】" * 30  # 4-byte and 3-byte UTF-8 characters
    words = encoded_words(text, first_room=20)
    assert "".join(decode_header(w)[0][0].decode("utf-8") for w in words) == text
    assert max(map(len, words)) <= 75
    folded = text_header("Subject", text).fold(policy=to_bytes.__globals__["OUTGOING_POLICY"])
    assert max(len(line) for line in folded.split("\r\n")) <= 78
    assert (
        str(email.message_from_string(folded + "\r\n", policy=email.policy.default)["Subject"])
        == text
    )


def test_ascii_header_is_not_encoded() -> None:
    assert (
        str(text_header("Subject", "Re: report [IIP2023-420100-0017-8]"))
        == "Re: report [IIP2023-420100-0017-8]"
    )


def test_deadline_and_duration_wording() -> None:
    from datetime import date

    assert deadline_text(date(2023, 11, 20), NOW) == "2023年11月20日（星期一），今天截止"
    assert deadline_text(date(2023, 11, 18), NOW).endswith("已过截止日期 2 天，请尽快联系经办人")
    assert deadline_text(None, NOW) == "请尽快补正"
    assert [format_duration(s) for s in (272.4, 600, 59.6, 4325)] == [
        "04:32",
        "10:00",
        "01:00",
        "72:05",
    ]


def test_references_chain_keeps_earlier_ids() -> None:
    original = parse_message((CASES / "C20" / "input" / "original.eml").read_bytes())
    original.references = ["<a@x>", "<b@x>"]
    msg = compose_receipt(
        make_ctx(), make_dossier(), [], TRACKING, to="a@example.com", original=original
    )
    assert msg["References"].split() == ["<a@x>", "<b@x>", "<c20.20240415093000@mail.example.com>"]


def test_a_finished_reply_reads_as_parsed_and_its_wire_form_is_stable() -> None:
    """GIVEN a 回执 with a long Chinese project name and attachment-free parts
    WHEN it is finished (no longer written out and parsed again: issue 16)
    THEN its headers read decoded, as a parsed message's do; written out twice it gives the same
    bytes; those bytes parse back to the same decoded headers; no line passes 78 octets."""
    dossier = make_dossier("基于5G+工业互联网的离散制造全流程协同智能工厂建设与推广应用示范项目（二期）")
    msg = compose_receipt(make_ctx(), dossier, [], TRACKING, to="clerk@example.com")
    assert str(msg["Subject"]).startswith("【回执】基于5G+工业互联网")
    assert "=?" not in str(msg["Subject"]) and "=?" not in str(msg["From"])
    raw = to_bytes(msg)
    assert to_bytes(msg) == raw
    again = email.message_from_bytes(raw, policy=email.policy.default)
    for name in ("Subject", "From", "To", "Message-ID", "X-Intake-Tracking", "Content-Language"):
        assert str(again[name]) == str(msg[name]), name
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert again.get_body(("plain",)).get_content() == msg.get_body(("plain",)).get_content()


def test_the_compose_policy_reads_and_writes_headers_as_the_standard_one():
    """GIVEN the same headers set under ``COMPOSE_POLICY`` (its registry makes each header
    name's class once) and under ``email.policy.default`` WHEN read back and written out THEN
    they read the same, with the same header classes' behaviour, and write the same bytes."""
    import email.policy
    from email.message import EmailMessage

    from outbox.mail.headers import COMPOSE_POLICY, OUTGOING_POLICY

    def made(policy):
        msg = EmailMessage(policy=policy)
        msg["From"] = "申报受理 <intake@example.org>"
        msg["To"] = '"王, 小明" <wxm@corp.example.cn>, li@corp.example.cn'
        msg["Subject"] = "回复：【回执】工业互联网试点示范项目 [IIP2023-420100-0001-O]"
        msg["Message-ID"] = "<a.b@example.org>"
        msg.set_content("您好，\n材料已收到。", charset="utf-8")
        msg.add_alternative("<p>您好，材料已收到。</p>", subtype="html", charset="utf-8")
        return msg

    ours, standard = made(COMPOSE_POLICY), made(email.policy.default)
    for name in ("From", "To", "Subject", "Message-ID", "Content-Type"):
        assert str(ours[name]) == str(standard[name])
    assert [a.addr_spec for a in ours["To"].addresses] == ["wxm@corp.example.cn", "li@corp.example.cn"]
    assert type(ours["To"]) is type(made(COMPOSE_POLICY)["To"])  # one class per header name
    ours.set_boundary("=BB="), standard.set_boundary("=BB=")
    assert ours.as_bytes(policy=OUTGOING_POLICY) == standard.as_bytes(policy=OUTGOING_POLICY)
