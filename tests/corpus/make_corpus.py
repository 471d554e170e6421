"""Write the golden corpus inputs (run once; the outputs are committed with their expected.json).

Each entry is a folder ``tests/corpus/<name>/`` holding one input file and ``expected.json``
(what ``intake check --json`` must report: decoded material names and roles, codes, verdict).
Usage: ``python tests/corpus/make_corpus.py`` (needs ffmpeg). Existing inputs are overwritten.
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


def _write(entry: str, name: str, data: bytes) -> None:
    folder = HERE / entry
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    print(folder / name, len(data))


if __name__ == "__main__":
    main()
