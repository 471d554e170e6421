"""Mail fidelity, round 2: one test per kind of fault that other mail parsers' test suites catch
(raw bytes and sloppy encoded words, BOM-less UTF-16/32, TNEF bytes, library chatter on stdout,
base64 off by one, malformed headers, a bare address after a name, charset labels, ``file=``)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from bot.cli.main import app
from parsers.charsets import decode_text, decode_words
from parsers.mime import parse_message, parse_message_file
from tests.mail_makers import b64_lines, damaged_xls, mime_mail, tnef_stream

HEAD = [b"From: a@example.com", b"To: intake@example.org", b"Message-ID: <f@example.com>",
        b"Date: Tue, 28 Nov 2023 09:30:00 +0800"]


def _file(header_lines: list[bytes], data: bytes) -> tuple[list[bytes], bytes]:
    return [*header_lines, b"Content-Transfer-Encoding: base64"], b64_lines(data)


def _b64(text: str, codec: str) -> str:
    return base64.b64encode(text.encode(codec)).decode()


def test_raw_8bit_bytes_inside_an_encoded_word_are_in_the_word_charset() -> None:
    """GIVEN raw GBK bytes inside a Q word (a client that did not encode the name) and raw
    Latin-1 inside an iso-8859-1 word WHEN parsed THEN both decode in the word's charset
    (before: '???.doc' and 'Fr?che')."""
    name = b"=?gb2312?Q?" + "项目申报书".encode("gbk") + b".docx?="
    mail = mime_mail(
        [*HEAD, b"Subject: =?iso-8859-1?Q?Die_Hasen_und_die_Fr\xf6sche?="],
        [_file([b"Content-Type: application/octet-stream", b'Content-Disposition: attachment; filename="' + name + b'"'],
               b"PK\x03\x04form")],
    )
    facts = parse_message(mail)
    assert facts.subject == "Die Hasen und die Frösche"
    assert [a.name for a in facts.attachments] == ["项目申报书.docx"]


def test_sloppy_encoded_words_are_decoded() -> None:
    """GIVEN words with a stray '=' before '?=', spaces and '?' inside WHEN decoded THEN the
    text, not the raw word (before: '申报书.docx=' broke the file type check)."""
    stray = "=?GBK?Q?" + "".join(f"={b:02X}" for b in "申报书".encode("gbk")) + ".docx=?="
    assert decode_words(stray) == "申报书.docx"
    assert decode_words("=?UTF-8?Q?=E7=94=B3=E6=8A=A5 =E6=9D=90=E6=96=99??=") == "申报 材料?"
    assert decode_words("=?iso-8859-1?Q?Hello World?_-_How are you??=") == "Hello World? - How are you?"
    # Still strict where it must be: adjacent words, and text between them.
    assert decode_words("=?utf-8?Q?a?= =?utf-8?Q?b?= c =?utf-8?Q?d?=") == "ab c d"
    assert decode_words("=?utf-8?B?QUJDR?=") == "=?utf-8?B?QUJDR?="  # 5 symbols: not base64


def test_utf16_and_utf32_without_bom_are_big_endian() -> None:
    """RFC 2781 section 4.3: UTF-16 with no byte-order mark is big-endian (before: read as
    little-endian, '申报' came out as other CJK characters)."""
    assert decode_words(f"=?UTF-16?B?{_b64('申报书', 'utf-16-be')}?=") == "申报书"
    assert decode_words(f"=?UTF-32?B?{_b64('申报书', 'utf-32-be')}?=") == "申报书"
    assert decode_text("申报书".encode("utf-16"), "utf-16") == "申报书"  # with a BOM: as marked
    assert decode_text("申报书".encode("utf-16-be"), "UTF-16") == "申报书"


def test_tnef_attachment_bytes_are_exact_and_a_cut_one_is_flagged(tmp_path: Path) -> None:
    """GIVEN a winmail.dat whose .doc (stored in PR_ATTACH_DATA_OBJ) ends in NUL bytes, as .doc
    files do WHEN parsed THEN the bytes are exact (tnefparse 1.4.0 stripped the NULs: 61,952 B
    became 61,534 B); GIVEN the stream cut short THEN a mail_tnef_truncated problem names it."""
    doc = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 3 + b"\0" * 418
    part = _file([b'Content-Type: application/ms-tnef; name="winmail.dat"'], tnef_stream([("项目说明.doc", doc)]))
    facts = parse_message(mime_mail([*HEAD, b"Subject: t"], [part]))
    assert [(a.name, a.sha256) for a in facts.attachments] == [("项目说明.doc", hashlib.sha256(doc).hexdigest())]
    assert facts.problems == []
    cut = _file([b'Content-Type: application/ms-tnef; name="winmail.dat"'], tnef_stream([("项目说明.doc", doc)], cut=100))
    facts = parse_message(mime_mail([*HEAD, b"Subject: t"], [cut]))
    assert [a.name for a in facts.attachments] == ["项目说明.doc"]
    assert [(p.kind, p.where) for p in facts.problems] == [("mail_tnef_truncated", "项目说明.doc")]
    eml = tmp_path / "cut.eml"
    eml.write_bytes(mime_mail([*HEAD, b"Subject: t"], [cut]))
    res = CliRunner().invoke(app, ["check", "--json", str(eml)])
    findings = json.loads(res.stdout)["dossiers"][0]["findings"]
    assert [(f["code"], f["where"]) for f in findings if f["code"] == "FILE_UNREADABLE"] == [
        ("FILE_UNREADABLE", "项目说明.doc")]
    assert any("不完整" in f["message"] for f in findings if f["code"] == "FILE_UNREADABLE")


def test_a_winmail_dat_full_of_files_counts_against_the_parts_cap(monkeypatch) -> None:
    """GIVEN MAX_PARTS = 3 and a winmail.dat holding five files WHEN parsed THEN three are kept
    and mail_too_many_parts says the rest were not read (a TNEF stream had no cap of its own)."""
    import parsers.mime

    monkeypatch.setattr(parsers.mime, "MAX_PARTS", 3)
    files = [(f"附件{i}.txt", f"file {i}".encode()) for i in range(5)]
    part = _file([b'Content-Type: application/ms-tnef; name="winmail.dat"'], tnef_stream(files))
    facts = parse_message(mime_mail([*HEAD, b"Subject: t"], [part]))
    assert [a.name for a in facts.attachments] == ["附件0.txt", "附件1.txt", "附件2.txt"]
    assert [p.kind for p in facts.problems] == ["mail_too_many_parts"]


def test_check_json_stdout_is_the_json_object_alone(tmp_path: Path) -> None:
    """GIVEN a mail with a damaged .xls (xlrd prints a warning to stdout) WHEN `intake check
    --json` runs as a process THEN stdout is exactly one JSON object, the warning is on stderr."""
    eml = tmp_path / "m.eml"
    eml.write_bytes(mime_mail([*HEAD, b"Subject: xls"], [_file(
        [b"Content-Type: application/vnd.ms-excel",
         b"Content-Disposition: attachment; filename*=UTF-8''%E6%B1%87%E6%80%BB%E8%A1%A8.xls"], damaged_xls())]))
    intake = Path(sys.executable).with_name("intake")
    res = subprocess.run([str(intake), "check", "--json", str(eml)], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode in (0, 1), res.stderr
    result = json.loads(res.stdout)  # the whole of stdout
    assert [m["name"] for m in result["dossiers"][0]["materials"]] == ["汇总表.xls"]
    assert "not 512 + multiple of sector size" in res.stderr


def test_check_json_lists_each_mail_input_with_subject_and_sender(tmp_path: Path) -> None:
    eml = tmp_path / "m.eml"
    eml.write_bytes(b"From: =?UTF-8?B?" + _b64("王小明", "utf-8").encode() + b"?= <WXM@Example.com>\r\n"
                    b"Subject: =?UTF-8?B?" + _b64("项目申报材料", "utf-8").encode() + b"?=\r\n\r\nhi\r\n")
    res = CliRunner().invoke(app, ["check", "--json", str(eml)])
    assert json.loads(res.stdout)["inputs"] == [{"path": str(eml), "kind": "mail", "subject": "项目申报材料",
                                                 "from_name": "王小明", "from_address": "wxm@example.com"}]


def test_base64_body_one_character_too_long_or_short_is_decoded() -> None:
    """GIVEN base64 bodies whose symbol count is one more than a multiple of 4 (a stray symbol
    at the end, or one symbol lost) WHEN parsed THEN the bytes that decode are kept (before:
    the undecoded base64 text was kept as the file)."""
    data = bytes(range(201))
    text = base64.b64encode(data)  # 268 symbols, no padding
    cut = base64.b64encode(data[:199]).rstrip(b"=")[:-1]  # 266 symbols less one
    facts = parse_message(mime_mail([*HEAD, b"Subject: b"], [
        ([b'Content-Type: application/pdf; name="a.pdf"', b"Content-Transfer-Encoding: base64"], text + b"A"),
        ([b'Content-Type: application/pdf; name="b.pdf"', b"Content-Transfer-Encoding: base64"], cut),
    ]))
    assert [(a.name, a.data) for a in facts.attachments] == [("a.pdf", data), ("b.pdf", data[:198])]


def test_malformed_headers_do_not_lose_later_headers_or_parts(tmp_path: Path) -> None:
    """GIVEN a header block with a stray line, 'Subject :' (obsolete syntax), a multipart
    Content-Type and a name parameter without ';', and a message/rfc822 part that is no mail
    WHEN parsed THEN every header, every file, and the not-a-mail part as a file."""
    subject = b"=?GBK?B?" + _b64("申报材料", "gbk").encode() + b"?="
    mail = (
        b"Received: from mx.example.com\r\n\\tby mx.example.com with LMTP\r\n"
        b"From : =?UTF-8?B?" + _b64("王小明", "utf-8").encode() + b"?= <w@example.com>\r\n"
        b"Subject : " + subject + b"\r\n"
        b"Content-Type: multipart/mixed\r\n\tboundary=\"B\"\r\n\r\n"
        b"--B\r\nContent-Type: application/octet-stream;\r\n name=\"=?GBK?B?" + _b64("申报书.docx", "gbk").encode()
        + b"?=\"\r\n x-mac-type=0\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64_lines(b"PK\x03\x04") + b"\r\n"
        b"--B\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"note.eml\"\r\n\r\n"
        b"this is not a mail, only a note\r\n--B--\r\n"
    )
    facts = parse_message(mail)
    assert (facts.subject, facts.from_name, facts.from_addr) == ("申报材料", "王小明", "w@example.com")
    assert [a.name for a in facts.attachments] == ["申报书.docx", "note.eml"]
    assert facts.attachments[1].data.strip() == b"this is not a mail, only a note"
    path = tmp_path / "m.eml"
    path.write_bytes(mail)
    assert [a.name for a in parse_message_file(path).attachments] == ["申报书.docx", "note.eml"]
    res = CliRunner().invoke(app, ["check", "--json", str(path)])
    names = [m["name"] for m in json.loads(res.stdout)["dossiers"][0]["materials"]]
    assert "note.eml" in names  # the not-a-mail file is a material, not silently dropped


def test_encoded_name_followed_by_a_bare_address() -> None:
    """GIVEN `From: =?GBK?B?…张三?= zhangsan@163.com` (no <>) WHEN parsed THEN the name and the
    address are split (before: no name, and the encoded text as the address: no receipt)."""
    raw = b"From: =?GBK?B?" + _b64("张三", "gbk").encode() + b"?= ZhangSan@163.com\r\nSubject: x\r\n\r\nhi\r\n"
    facts = parse_message(raw)
    assert (facts.from_name, facts.from_addr) == ("张三", "zhangsan@163.com")
    plain = parse_message(b"From: zhangsan@163.com (Zhang San)\r\nTo: a@b.cn, c@d.cn\r\n\r\nhi\r\n")
    assert (plain.from_name, plain.from_addr, plain.to) == ("Zhang San", "zhangsan@163.com", ["a@b.cn", "c@d.cn"])


def test_charset_labels_python_does_not_know() -> None:
    """iso-8859-8-i (WHATWG label) is ISO-8859-8; ISO-2022-JP holding NEC row 13 symbols (№, ①)
    decodes through the Windows table (before: raw escape sequences or U+FFFD)."""
    assert decode_words(f"=?iso-8859-8-i?B?{_b64('שלום', 'iso8859-8')}?=") == "שלום"
    jis = "申請書№1".encode("cp932")  # to ISO-2022-JP by hand: № is not in Python's codec
    sjis_to_jis = {"申": "\x3f\x3d", "請": "\x40\x41", "書": "\x3d\x71", "№": "\x2d\x62"}
    body = b"\x1b$B" + "".join(sjis_to_jis[c] for c in "申請書№").encode() + b"\x1b(B1"
    assert jis  # cp932 knows the text; ISO-2022-JP below must give it back
    assert decode_words(f"=?ISO-2022-JP?B?{base64.b64encode(body).decode()}?=") == "申請書№1"
    assert decode_text(body, "iso-2022-jp") == "申請書№1"


def test_non_standard_file_parameter_names_the_attachment() -> None:
    name = b"=?GBK?B?" + _b64("项目申报书.docx", "gbk").encode() + b"?="
    facts = parse_message(mime_mail([*HEAD, b"Subject: f"], [_file(
        [b'Content-Type: application/octet-stream; file="' + name + b'"'], b"PK\x03\x04")]))
    assert [a.name for a in facts.attachments] == ["项目申报书.docx"]
