"""Write the golden corpus inputs (run once; the outputs are committed with their expected.json).

Each entry is a folder ``tests/corpus/<name>/`` holding one input file and ``expected.json``
(what ``intake check --json`` must report: decoded material names and roles, codes, verdict).
Usage: ``python tests/corpus/make_corpus.py`` (needs ffmpeg). Existing inputs are overwritten.
``python tests/corpus/make_corpus.py mail`` writes only the ``mail_*`` entries (one per kind of
mail fault other parsers' test suites catch), with the form taken from ``gb2312_split_words``.
"""

from __future__ import annotations

import base64
import io
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.factories import FormData, make_form_docx, make_scan_pdf, make_video, zip_folder  # noqa: E402
from tests.mail_makers import b64_lines, damaged_xls, mime_mail, tnef_stream  # noqa: E402

CRLF = "\r\n"


def _b64(data: bytes) -> str:
    text = base64.b64encode(data).decode()
    return CRLF.join(text[i : i + 76] for i in range(0, len(text), 76))


def _mail(headers: list[str], parts: list[tuple[list[str], bytes]], boundary: str = "=_b1") -> bytes:
    out = [*headers, "MIME-Version: 1.0", f'Content-Type: multipart/mixed; boundary="{boundary}"', ""]
    for part_headers, payload in parts:
        out.append(f"--{boundary}")
        out.extend(part_headers)
        out.append("")
        out.append(payload.decode("ascii"))
    out.append(f"--{boundary}--")
    return (CRLF.join(out) + CRLF).encode("ascii")


def _text_part(text: str, charset: str) -> tuple[list[str], bytes]:
    return (
        [f"Content-Type: text/plain; charset={charset}", "Content-Transfer-Encoding: base64"],
        _b64(text.encode("gb18030" if charset.lower() in ("gb2312", "gbk") else charset)).encode(),
    )


def _file_part(header_lines: list[str], data: bytes) -> tuple[list[str], bytes]:
    return ([*header_lines, "Content-Transfer-Encoding: base64"], _b64(data).encode())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        form = make_form_docx(t / "form.docx", FormData(applicant="武汉喆镕堃科技有限公司", email="a@example.com"))
        scan = make_scan_pdf(t / "scan.pdf", pages=1)
        video = make_video(t / "v.mp4", 372)

        # 1. gb2312-labelled Subject and body holding characters outside GB2312 (喆, 镕, 堃);
        #    attachment names as RFC 2047 words that split one character across two words.
        name = "项目申报书.docx".encode("gb18030")
        w1 = base64.b64encode(name[:3]).decode()
        w2 = base64.b64encode(name[3:]).decode()
        subject = base64.b64encode("喆镕堃公司申报材料".encode("gb18030")).decode()
        eml = _mail(
            [
                "From: =?gb2312?B?" + base64.b64encode("王喆".encode("gb18030")).decode() + "?= <wz@example.com>",
                "To: intake@example.org",
                f"Subject: =?gb2312?B?{subject}?=",
                "Date: Tue, 28 Nov 2023 09:30:00 +0800",
                "Message-ID: <corpus-gb2312@mail.example.com>",
            ],
            [
                _text_part("附件为武汉喆镕堃科技有限公司的申报材料。", "gb2312"),
                _file_part(
                    ["Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;"
                     f' name="=?GBK?B?{w1}?= =?GBK?B?{w2}?="',
                     f'Content-Disposition: attachment; filename="=?GBK?B?{w1}?= =?GBK?B?{w2}?="'],
                    form.read_bytes(),
                ),
                _file_part(['Content-Type: application/pdf; name="=?UTF-8?B?'
                            + base64.b64encode("全套扫描件.pdf".encode()).decode() + '?="'],
                           scan.read_bytes()),
                _file_part(["Content-Type: video/mp4", "Content-Disposition: attachment;"
                            " filename*=UTF-8''%E9%A1%B9%E7%9B%AE%E8%A7%86%E9%A2%91.mp4"],
                           video.read_bytes()),
            ],
        )
        _write("gb2312_split_words", "message.eml", eml)

        # 2. A mail carrying one zip with GBK member names (Windows' zipper) holding the dossier.
        folder = t / "材料"
        folder.mkdir()
        (folder / "申报书.docx").write_bytes(form.read_bytes())
        (folder / "扫描件.pdf").write_bytes(scan.read_bytes())
        (folder / "视频.mp4").write_bytes(video.read_bytes())
        z = zip_folder(folder, t / "申报材料.zip")
        eml = _mail(
            ["From: a@example.com", "To: intake@example.org", "Subject: zip",
             "Date: Tue, 28 Nov 2023 09:30:00 +0800", "Message-ID: <corpus-zip@mail.example.com>"],
            [_file_part(["Content-Type: application/zip", "Content-Disposition: attachment;"
                         " filename*=UTF-8''%E7%94%B3%E6%8A%A5%E6%9D%90%E6%96%99.zip"], z.read_bytes())],
        )
        _write("mail_with_gbk_zip", "message.eml", eml)

        # 3. A folder-less zip from macOS: UTF-8 names with the flag, __MACOSX and .DS_Store junk.
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("申报材料/申报书.docx", form.read_bytes())
            zf.writestr("申报材料/扫描件.pdf", scan.read_bytes())
            zf.writestr("申报材料/视频.mp4", video.read_bytes())
            zf.writestr("__MACOSX/申报材料/._申报书.docx", b"\0\5\x16\7junk")
            zf.writestr("申报材料/.DS_Store", b"\0\0\0\1Bud1")
        _write("macos_zip", "申报材料.zip", buf.getvalue())

        # 4. An executable posing as a PDF and a video sent as a link only.
        eml = _mail(
            ["From: a@example.com", "To: intake@example.org", "Subject: files",
             "Date: Tue, 28 Nov 2023 09:30:00 +0800", "Message-ID: <corpus-exe@mail.example.com>"],
            [
                _text_part("视频太大，请从百度网盘下载：https://pan.baidu.com/s/1corpus 提取码 abcd", "utf-8"),
                _file_part(["Content-Type: application/pdf", 'Content-Disposition: attachment; filename="scan.pdf"'],
                           b"MZ\x90\x00" + b"\0" * 200 + b"This program cannot be run in DOS mode"),
                _file_part(["Content-Type: application/octet-stream",
                            'Content-Disposition: attachment; filename="form.docx"'], form.read_bytes()),
            ],
        )
        _write("exe_as_pdf_and_link", "message.eml", eml)
        mail_entries(form.read_bytes())


DOCX = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAIL_HEAD = [b"To: intake@example.org", b"Date: Tue, 28 Nov 2023 09:30:00 +0800"]


def _gbk_b(text: str) -> bytes:
    return b"=?GBK?B?" + base64.b64encode(text.encode("gbk")) + b"?="


def _form_part(name_headers: list[bytes], form: bytes, body: bytes | None = None) -> tuple[list[bytes], bytes]:
    return [*name_headers, b"Content-Transfer-Encoding: base64"], b64_lines(form) if body is None else body


def mail_entries(form: bytes) -> None:
    """One entry per kind of mail fault (the Chinese form of each); ``form`` is the .docx sent."""
    sender = [b"From: =?UTF-8?B?" + base64.b64encode("王喆".encode()) + b"?= <wz@example.com>", *MAIL_HEAD]
    note = ("项目说明：本项目为工业互联网试点示范申报。" * 4).encode()[:201]  # 201 bytes: base64 without padding

    # 1. Raw GBK bytes inside Q-encoded words (the client did not encode them): before, '???.docx'.
    raw_name = b"=?gb2312?Q?" + "项目申报书".encode("gbk") + b".docx?="
    _write("mail_raw_gbk_in_q_word", "message.eml", mime_mail(
        [*sender, b"Subject: =?gb2312?Q?" + "申报材料".encode("gbk") + b"?=", b"Message-ID: <corpus-m1@example.com>"],
        [_form_part([b"Content-Type: " + DOCX, b'Content-Disposition: attachment; filename="' + raw_name + b'"'], form)],
    ))
    # 2. Sloppy words: a stray '=' before '?=' (before: '申报书.docx=', not a .docx), spaces in a word.
    stray = b"=?GBK?Q?" + "".join(f"={b:02X}" for b in "项目申报书".encode("gbk")).encode() + b".docx=?="
    _write("mail_sloppy_words", "message.eml", mime_mail(
        [*sender, b"Subject: =?UTF-8?Q?=E7=94=B3=E6=8A=A5 =E6=9D=90=E6=96=99?=", b"Message-ID: <corpus-m2@example.com>"],
        [_form_part([b"Content-Type: application/octet-stream; name=\"" + stray + b'"'], form)],
    ))
    # 3. UTF-16 without a byte-order mark (big-endian, RFC 2781): before, read little-endian.
    u16 = b"=?UTF-16?B?" + base64.b64encode("项目申报书.docx".encode("utf-16-be")) + b"?="
    _write("mail_utf16_no_bom", "message.eml", mime_mail(
        [*sender, b"Subject: =?UTF-16?B?" + base64.b64encode("申报材料".encode("utf-16-be")) + b"?=",
         b"Message-ID: <corpus-m3@example.com>"],
        [_form_part([b"Content-Type: " + DOCX + b'; name="' + u16 + b'"'], form)],
    ))
    # 4. Outlook winmail.dat: a file ending in NUL bytes kept whole (tnefparse stripped them).
    tail = note + b"\0" * 300
    _write("mail_tnef_nul_tail", "message.eml", mime_mail(
        [*sender, b"Subject: " + _gbk_b("申报材料"), b"Message-ID: <corpus-m4@example.com>"],
        [_form_part([b'Content-Type: application/ms-tnef; name="winmail.dat"'],
                    tnef_stream([("项目申报书.docx", form), ("项目说明.bin", tail)]))],
    ))
    # 5. A damaged .xls whose library warning must not reach stdout before the JSON.
    _write("mail_damaged_xls", "message.eml", mime_mail(
        [*sender, b"Subject: " + _gbk_b("申报材料"), b"Message-ID: <corpus-m5@example.com>"],
        [_form_part([b"Content-Type: " + DOCX, b'Content-Disposition: attachment; filename="' + _gbk_b("项目申报书.docx") + b'"'], form),
         _form_part([b'Content-Type: application/vnd.ms-excel; name="' + _gbk_b("汇总表.xls") + b'"'], damaged_xls())],
    ))
    # 6. A base64 body one symbol too long (before: the base64 text itself was the file).
    _write("mail_base64_one_too_long", "message.eml", mime_mail(
        [*sender, b"Subject: " + _gbk_b("申报材料"), b"Message-ID: <corpus-m6@example.com>"],
        [_form_part([b"Content-Type: " + DOCX + b'; name="' + _gbk_b("项目申报书.docx") + b'"'], form),
         _form_part([b'Content-Type: text/plain; charset=utf-8; name="' + _gbk_b("项目说明.txt") + b'"'], b"",
                    b64_lines(note) + b"A")],
    ))
    # 7. Malformed headers: a stray line, 'Subject :', a multipart type and a name without ';',
    #    and a message/rfc822 part that is no mail (before: subject, files and the note lost).
    eml = (
        b"Received: from mx.example.com\r\n\\tby mx.example.com with LMTP\r\n" + sender[0] + b"\r\n"
        + b"\r\n".join(MAIL_HEAD) + b"\r\nSubject : " + _gbk_b("申报材料") + b"\r\n"
        b"Message-ID: <corpus-m7@example.com>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed\r\n\tboundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: " + DOCX + b';\r\n name="' + _gbk_b("项目申报书.docx") + b'"\r\n x-mac-type=0\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + b64_lines(form) + b"\r\n"
        b'--B\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename="' + _gbk_b("转发说明.eml")
        + b'"\r\n\r\n' + "视频稍后通过网盘补交。".encode() + b"\r\n--B--\r\n"
    )
    _write("mail_malformed_headers", "message.eml", eml)
    # 8. An encoded name and an address without <> (before: no sender address, no receipt).
    _write("mail_name_bare_address", "message.eml", mime_mail(
        [b"From: " + _gbk_b("张三") + b" ZhangSan@163.com", *MAIL_HEAD, b"Subject: " + _gbk_b("申报材料"),
         b"Message-ID: <corpus-m8@example.com>"],
        [_form_part([b"Content-Type: " + DOCX + b'; name="' + _gbk_b("项目申报书.docx") + b'"'], form)],
    ))
    # 9. Charset labels Python does not know: ISO-2022-JP with NEC row 13 (№), iso-8859-8-i.
    jis = b"\x1b$B" + b"\x3f\x3d\x40\x41\x3d\x71\x2d\x62" + b"\x1b(B1.docx"  # 申請書№1.docx
    _write("mail_charset_labels", "message.eml", mime_mail(
        [*sender, b"Subject: =?iso-8859-8-i?B?" + base64.b64encode("שלום".encode("iso8859-8")) + b"?=",
         b"Message-ID: <corpus-m9@example.com>"],
        [_form_part([b"Content-Type: " + DOCX + b'; name="=?ISO-2022-JP?B?' + base64.b64encode(jis) + b'?="'], form)],
    ))
    # 10. The non-standard file= parameter (before: 'attachment-1.bin', so no form found).
    _write("mail_file_parameter", "message.eml", mime_mail(
        [*sender, b"Subject: " + _gbk_b("申报材料"), b"Message-ID: <corpus-m10@example.com>"],
        [_form_part([b"Content-Type: application/octet-stream; file=\"" + _gbk_b("项目申报书.docx") + b'"'], form)],
    ))


def _committed_form() -> bytes:
    """The .docx inside the committed gb2312_split_words entry (so ``mail`` alone changes nothing else)."""
    from parsers.mime import parse_message

    facts = parse_message((HERE / "gb2312_split_words" / "message.eml").read_bytes())
    return next(a.data for a in facts.attachments if a.name.endswith(".docx"))


def _write(entry: str, name: str, data: bytes) -> None:
    folder = HERE / entry
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    print(folder / name, len(data))


if __name__ == "__main__":
    if sys.argv[1:] == ["mail"]:
        mail_entries(_committed_form())
    else:
        main()
