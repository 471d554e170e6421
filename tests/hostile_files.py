"""Small versions of issue 15's hostile files, made by the tests (and bench/hostile.py).

Each one is cheap to make and costly to read: the desk must spend at most its budget on it.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


def heavy_pdf(path: Path, *, pages: int = 40, ops: int = 30_000) -> Path:
    """A small PDF whose ``pages`` pages all draw one shared, text-heavy content stream
    (``ops`` text operations, Flate-compressed): tiny on disk, seconds of pypdf text extraction
    per page (issue 15: 68 KB, 400 pages, ~27 min)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    content = DecodedStreamObject()
    content.set_data(b"BT /F1 12 Tf 10 10 Td " + b"(W) Tj 0.01 0 Td " * ops + b"ET")
    content = content.flate_encode()
    content_ref = writer._add_object(content)
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
    })  # fmt: skip
    font_ref = writer._add_object(font)
    for _ in range(pages):
        page = writer.add_blank_page(595, 842)
        page[NameObject("/Contents")] = content_ref
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})}
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        writer.write(f)
    return path


def fake_adts_video(path: Path, *, frames: int = 625_000) -> Path:
    """``frames`` 8-byte ADTS frames (7-byte header, one payload byte) named like a video:
    5 MB by default; issue 15's 50 MB made ffprobe's packet list 2.7 GB."""
    size = 8
    header = bytes([0xFF, 0xF1, 0x50, 0x80 | ((size >> 11) & 3), (size >> 3) & 0xFF, ((size & 7) << 5) | 0x1F, 0xFC])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((header + b"\x00") * frames)
    return path


def amplifying_zip(path: Path, *, members: int = 40, member_bytes: int = 1024 * 1024) -> Path:
    """A zip of ``members`` distinct, compressible members, each about 100:1 (under the 200:1
    ratio limit): issue 15's 6 MB of 250 such members added 1,008 MB to the archive."""
    import random

    rng = random.Random(15)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for i in range(members):
            block = bytearray(f"附件{i:04d}".encode().ljust(2048, b"."))
            data = bytearray()
            while len(data) < member_bytes:  # a few random bytes per 2 KB keep the ratio near 100:1
                block[rng.randrange(16, 2048)] = rng.randrange(256)
                data += block
            z.writestr(f"材料/附件{i:04d}.dat", bytes(data[:member_bytes]))
    return path


def huge_subject_mail(path: Path, *, subject_bytes: int = 4 * 1024 * 1024, attachment: Path | None = None) -> Path:
    """A mail whose Subject is ``subject_bytes`` of encoded words (issue 15: 40 MB)."""
    import base64

    word = "=?UTF-8?B?" + base64.b64encode("申报材料".encode() * 10).decode() + "?="
    subject = " ".join([word] * (subject_bytes // (len(word) + 1)))
    lines = [
        "From: 申报人 <applicant@example.com>",
        "To: intake@example.org",
        f"Subject: {subject}",
        "Message-ID: <huge-subject@example.com>",
        "MIME-Version: 1.0",
    ]
    if attachment is None:
        body = "\r\n".join([*lines, "Content-Type: text/plain; charset=utf-8", "", "见附件"]) + "\r\n"
    else:
        data = base64.encodebytes(attachment.read_bytes()).decode()
        body = "\r\n".join([
            *lines, 'Content-Type: multipart/mixed; boundary="b1"', "", "--b1",
            "Content-Type: text/plain; charset=utf-8", "", "见附件", "--b1",
            f'Content-Type: application/octet-stream; name="{attachment.name}"',
            "Content-Transfer-Encoding: base64", "", data, "--b1--", "",
        ])  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body.encode())
    return path


def slow_docx(path: Path, *, rows: int = 300, cols: int = 30) -> Path:
    """A 申报书-named .docx holding one ``rows`` × ``cols`` table of tiny cells: a few KB
    zipped, seconds to minutes of python-docx table walking (issue 15: 62 KB took 10 min)."""
    from docx import Document

    doc = Document()
    doc.add_paragraph("工业互联网试点示范项目申报书")
    base = io.BytesIO()
    doc.save(base)
    cell = "<w:tc><w:tcPr><w:tcW w:w=\"100\" w:type=\"dxa\"/></w:tcPr><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:tc>"
    grid = "<w:tblGrid>" + "<w:gridCol w:w=\"100\"/>" * cols + "</w:tblGrid>"
    body_rows = "".join(
        "<w:tr>" + "".join(cell.format(f"{r}.{c}") for c in range(cols)) + "</w:tr>" for r in range(rows)
    )
    table = f"<w:tbl><w:tblPr/>{grid}{body_rows}</w:tbl>"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(base.getvalue())) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(b"<w:sectPr", table.encode() + b"<w:p/><w:sectPr", 1)
            out.writestr(item, data)
    return path
