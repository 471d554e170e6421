"""parse_message on hand-built mails: split encoded words, GB labels, inline images, links, bounds."""

from __future__ import annotations

import base64
import hashlib

from parsers.charsets import decode_words, normalize_charset
from parsers.junk import is_junk_name
from parsers.mime import MAX_DEPTH, parse_message

HEAD = (
    "From: =?UTF-8?B?{name}?= <Applicant@Example.com>\r\n"
    "To: intake@example.org\r\n"
    "Message-ID: <t1@example.com>\r\n"
    "Date: Tue, 28 Nov 2023 09:30:00 +0800\r\n"
    "MIME-Version: 1.0\r\n"
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_subject_encoded_words_splitting_one_character_decode_whole() -> None:
    """GIVEN a Subject in two gb18030 B-words cut inside 《 (two bytes in GB18030)
    WHEN parsed THEN the subject is exact, with no U+FFFD."""
    subject = "关于报送《2024年度“揭榜挂帅”科技攻关项目申报书》的函"
    raw = subject.encode("gb18030")
    cut = subject.index("《") * 2 + 1  # every character here is two bytes: cut inside 《
    words = f"=?gb18030?B?{_b64(raw[:cut])}?=\r\n =?gb18030?B?{_b64(raw[cut:])}?="
    mail = (HEAD.format(name=_b64("王小明".encode())) + f"Subject: {words}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n").encode()
    facts = parse_message(mail)
    assert facts.subject == subject
    assert (facts.from_name, facts.from_addr) == ("王小明", "applicant@example.com")
    assert facts.headers["subject"] == subject and facts.headers["message-id"] == "<t1@example.com>"
    assert facts.date is not None and facts.date.utcoffset().total_seconds() == 8 * 3600


def test_gb2312_labelled_body_with_characters_outside_gb2312() -> None:
    """GIVEN a body labelled gb2312 holding 喆, 镕, 堃 (GBK/GB18030 only) WHEN parsed
    THEN they decode (gb2312 labels read as GB18030) and there is no U+FFFD."""
    text = "联系人：李喆、王镕堃，网盘链接 https://pan.baidu.com/s/1AbC-dEf 提取码 8x8x。"
    mail = (HEAD.format(name=_b64(b"x")) + "Subject: =?gb2312?B?" + _b64("申报".encode("gb18030")) + "?=\r\n"
            "Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + _b64(text.encode("gb18030")) + "\r\n").encode()
    facts = parse_message(mail)
    assert facts.body_text == text
    assert facts.subject == "申报"
    assert facts.links == ["https://pan.baidu.com/s/1AbC-dEf"]
    assert normalize_charset("GB2312") == normalize_charset("gbk") == "gb18030"


def test_inline_cid_image_is_not_a_material_and_html_links_are_collected() -> None:
    """GIVEN an HTML body showing a logo by cid:, plus a real PDF attachment
    WHEN parsed THEN only the PDF is an attachment; the HTML's links (and a bare 坚果云 address)
    are collected and its text is the body."""
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    pdf = b"%PDF-1.4\n%test\n"
    html = ('<html><body><p>材料见附件，视频：<a href="https://www.jianguoyun.com/p/DAbc123">坚果云</a></p>'
            '<p>备用 pan.baidu.com/s/1Zz9 </p><img src="cid:logo@x"></body></html>')
    mail = (HEAD.format(name=_b64(b"x")) + "Subject: t\r\n"
            'Content-Type: multipart/mixed; boundary="M"\r\n\r\n'
            '--M\r\nContent-Type: multipart/related; boundary="R"\r\n\r\n'
            '--R\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            + _b64(html.encode()) + "\r\n"
            "--R\r\nContent-Type: image/png; name=\"logo.png\"\r\nContent-ID: <logo@x>\r\n"
            "Content-Disposition: inline; filename=\"logo.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + _b64(png) + "\r\n--R--\r\n"
            "--M\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
            "filename*=utf-8''%E5%85%A8%E5%A5%97%E6%89%AB%E6%8F%8F%E4%BB%B6.pdf\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + _b64(pdf) + "\r\n--M--\r\n").encode()
    facts = parse_message(mail)
    assert [(a.name, a.sha256, a.inline) for a in facts.attachments] == [
        ("全套扫描件.pdf", hashlib.sha256(pdf).hexdigest(), False)
    ]
    assert facts.links == ["https://www.jianguoyun.com/p/DAbc123", "https://pan.baidu.com/s/1Zz9"]
    assert "材料见附件" in facts.body_text


def test_raw_utf8_name_and_nameless_pdf_and_loop_headers() -> None:
    """GIVEN a raw UTF-8 (unlabelled) attachment name, a nameless PDF part and auto-reply headers
    WHEN parsed THEN the name is UTF-8 (strict UTF-8 before GB18030), the PDF gets a made-up
    name, and the loop headers are in ``headers``."""
    mail = (HEAD.format(name=_b64(b"x")) + "Subject: t\r\nAuto-Submitted: auto-replied\r\n"
            "Precedence: bulk\r\nX-Autoreply: yes\r\n"
            'Content-Type: multipart/mixed; boundary="M"\r\n\r\n'
            "--M\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
            '--M\r\nContent-Type: application/octet-stream; name="项目视频.mp4"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n"
            "--M\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n"
            '--M\r\nContent-Type: application/pdf; name="扫描件.pdf"\r\nContent-Disposition: inline\r\n\r\n%PDF\r\n'
            "--M--\r\n").encode("utf-8")
    facts = parse_message(mail)
    assert [(a.name, a.size, a.inline) for a in facts.attachments] == [
        ("项目视频.mp4", 3, False), ("attachment-2.pdf", 4, False), ("扫描件.pdf", 4, False)]
    assert (facts.headers["auto-submitted"], facts.headers["precedence"], facts.headers["x-autoreply"]) == (
        "auto-replied", "bulk", "yes")


def test_unreadable_tnef_is_kept_as_attachment_with_a_problem() -> None:
    mail = (HEAD.format(name=_b64(b"x")) + "Subject: t\r\n"
            'Content-Type: multipart/mixed; boundary="M"\r\n\r\n'
            '--M\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n" + _b64(b"\x78\x9f\x3e\x22garbage") + "\r\n--M--\r\n").encode()
    facts = parse_message(mail)
    assert [a.name for a in facts.attachments] == ["winmail.dat"]
    assert [p.kind for p in facts.problems] == ["mail_tnef_unreadable"]


def test_deep_nesting_and_garbage_are_facts_not_exceptions() -> None:
    """GIVEN 200 nested multiparts, and plain garbage WHEN parsed THEN a mail_too_deep problem
    (or mail_unreadable), never an exception."""
    depth = 200
    head = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth))
    tail = "".join(f"\r\n--b{i}--" for i in reversed(range(depth)))
    mail = (HEAD.format(name=_b64(b"x")) + "Subject: deep\r\n" + head
            + "Content-Type: application/pdf; name=a.pdf\r\n\r\nx" + tail + "\r\n").encode()
    facts = parse_message(mail)
    assert facts.subject == "deep"
    assert {p.kind for p in facts.problems} & {"mail_too_deep", "mail_unreadable"}
    assert facts.attachments == []
    assert MAX_DEPTH == 10
    garbage = parse_message(b"\xff\xfe\x00=?gbk?B?###?=\r\n\r\n\x80")
    assert garbage.attachments == [] and isinstance(garbage.subject, str)


def test_decode_words_keeps_text_between_words_and_literal_broken_words() -> None:
    assert decode_words("=?utf-8?Q?a_b?= =?utf-8?B?5Lit?= x =?utf-8?B?5paH?=") == "a b中 x 文"
    assert decode_words("=?x-unknown?Q?abc?=") == "abc"


def test_junk_names() -> None:
    junk = ["__MACOSX/材料/._申报书.docx", ".DS_Store", "材料/Thumbs.db", "desktop.ini", "~$申报书.docx",
            "~WRD0001.tmp", ".~lock.汇总表.xlsx#", "项目视频.mp4.part", "视频.mp4.crdownload"]
    real = ["申报书.docx", "材料/汇总表.xlsx", "partners.pdf", "~申报书.docx", "lock.xlsx"]
    assert [n for n in junk if not is_junk_name(n)] == []
    assert [n for n in real if is_junk_name(n)] == []


def test_raw_gbk_headers_without_any_encoding() -> None:
    """GIVEN From, To and Subject as bare GBK bytes (no RFC 2047) WHEN parsed
    THEN they decode as GB18030 and the addresses are still split right."""
    raw = ("From: 王小明 <A@B.cn>\r\nTo: 张三 <x@y.cn>, =?utf-8?B?5p2O5Zub?= <l@y.cn>\r\n"
           "Subject: 项目申报 材料\r\nContent-Type: text/plain\r\n\r\n正文\r\n").encode("gbk")
    facts = parse_message(raw)
    assert (facts.subject, facts.from_name, facts.from_addr, facts.to, facts.body_text) == (
        "项目申报 材料", "王小明", "a@b.cn", ["x@y.cn", "l@y.cn"], "正文")
