"""Makers of real input files for tests and the bundled examples: .docx forms, scanned PDFs,
tiny videos, summary tables, dossier folders and mails.

Every maker writes a real file that the real libraries (python-docx, pypdf, ffprobe, openpyxl)
read back; nothing here is a mock. Videos need ``ffmpeg`` on PATH.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

# A valid 统一社会信用代码 (GB 32100-2015 check character correct) and helpers to make more.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a USCC."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def make_uscc(body17: str) -> str:
    """A valid USCC from 17 characters (e.g. ``"91420100MA4K00001"``)."""
    return body17 + uscc_check_char(body17)


def break_uscc(uscc: str) -> str:
    """The same USCC with a wrong check character."""
    good = uscc[-1]
    bad = next(c for c in USCC_ALPHABET if c != good)
    return uscc[:-1] + bad


@dataclass
class FormData:
    """The basic-information table of a 申报书."""

    project_name: str = "基于工业互联网平台的智能工厂建设项目"
    applicant: str = "武汉示例智能制造有限公司"
    uscc: str = field(default_factory=lambda: make_uscc("91420100MA4K00001"))
    category: str = "工厂类"
    direction: str = "5G全连接工厂"
    contact_name: str = "王小明"
    mobile: str = "13800138000"
    email: str = "wangxm@example.com"
    priority_text: str = ""


def make_form_docx(path: Path, data: FormData | None = None, *, layout: str = "table") -> Path:
    """Write an application form (申报书) .docx with a basic-information table.

    ``layout``: ``"table"`` (label cell | value cell), or ``"paragraphs"`` (``标签：值`` lines).
    """
    from docx import Document

    d = data or FormData()
    doc = Document()
    doc.add_heading("2023年工业互联网试点示范项目申报书", level=1)
    rows = [
        ("项目名称", d.project_name),
        ("申报单位名称", d.applicant),
        ("统一社会信用代码", d.uscc),
        ("项目类别", d.category),
        ("项目方向", d.direction),
        ("联系人", d.contact_name),
        ("手机", d.mobile),
        ("邮箱", d.email),
    ]
    if layout == "table":
        doc.add_paragraph("一、基本信息")
        table = doc.add_table(rows=0, cols=2)
        for label, value in rows:
            cells = table.add_row().cells
            cells[0].text = label
            cells[1].text = value
    else:
        for label, value in rows:
            doc.add_paragraph(f"{label}：{value}")
    doc.add_paragraph("二、项目概况")
    doc.add_paragraph("本项目建设内容略。" + d.priority_text)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


SEAL_RED = (215, 30, 35)  # seal ink as scanned: a strong red on white paper


def draw_seal(draw, cx: float, cy: float, radius: float, width: int = 3) -> None:  # noqa: ANN001
    """A round red seal impression (ring, star, a band of characters) centred on (cx, cy), pixels."""
    import math

    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], outline=SEAL_RED, width=width)
    star = []
    for k in range(10):
        r = radius * (0.32 if k % 2 == 0 else 0.13)
        a = math.pi / 2 + k * math.pi / 5
        star.append((cx + r * math.cos(a), cy - r * math.sin(a)))
    draw.polygon(star, fill=SEAL_RED)
    for k in range(9):  # the unit's name around the ring, as short strokes
        a = math.radians(200 - k * 25)
        x, y = cx + radius * 0.72 * math.cos(a), cy - radius * 0.72 * math.sin(a)
        draw.rectangle([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=SEAL_RED)


def make_scan_pdf(path: Path, pages: int = 3, *, seal_pages: tuple[int, ...] = (1,)) -> Path:
    """Write a 'scanned copy' PDF whose pages are images (as a scanner makes them), with a red
    round seal (42 mm) stamped on the 1-based ``seal_pages`` (the cover, by default)."""
    from PIL import Image, ImageDraw

    images = []
    for i in range(pages):
        img = Image.new("RGB", (248, 351), "white")  # A4 at 30 dpi: small but real
        draw = ImageDraw.Draw(img)
        draw.rectangle([20, 20, 228, 60], outline="black")
        draw.text((30, 30), f"page {i + 1}", fill="black")
        for y in range(80, 330, 12):
            draw.line([(24, y), (224, y)], fill=(90, 90, 90))
        if i + 1 in seal_pages:
            draw_seal(draw, 170, 280, 42 / 25.4 * 30 / 2)
        images.append(img)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, "PDF", save_all=True, append_images=images[1:], resolution=30.0)
    return path


def make_video(path: Path, seconds: float, *, fmt: str = "mp4") -> Path:
    """Write a tiny real video (64x36, 1 fps, H.264 + AAC) of ``seconds`` seconds with ffmpeg."""
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        raise RuntimeError("ffmpeg is needed to make test videos (apt-get install ffmpeg)")
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        ffmpeg, "-nostdin", "-y", "-loglevel", "error",
        "-f", "lavfi", "-i", f"testsrc2=size=64x36:rate=1:duration={seconds}",
        "-f", "lavfi", "-i", "anullsrc=channel_layout=mono:sample_rate=8000",
        "-t", str(seconds),
    ]
    if fmt == "webm":
        cmd += ["-c:v", "libvpx", "-b:v", "20k", "-c:a", "libopus", "-b:a", "8k"]
    else:
        cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "60",
                "-c:a", "aac", "-b:a", "16k", "-movflags", "+faststart"]
    cmd += ["-shortest", str(path)]
    subprocess.run(cmd, check=True, timeout=120)
    return path


SUMMARY_HEADERS = ("序号", "项目名称", "项目类别和方向", "申报单位名称", "联系人", "联系方式（手机与邮箱）")


def make_summary_xlsx(path: Path, rows: list[tuple[str, str, str, str, str]], *, unit: str = "") -> Path:
    """Write a 汇总表 in the notice's layout (附件3): title, unit row, header, numbered rows.

    ``rows``: (项目名称, 项目类别和方向, 申报单位名称, 联系人, 联系方式).
    """
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "汇总表"
    ws.append(["2023年工业互联网试点示范推荐项目汇总表"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
    ws.append([f"推荐单位（盖章）：{unit}"])
    ws.append(list(SUMMARY_HEADERS))
    for i, r in enumerate(rows, 1):
        ws.append([i, *r])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def make_dossier_dir(
    folder: Path,
    data: FormData | None = None,
    *,
    video_s: float | None = 372.0,
    scan: bool = True,
    form: bool = True,
) -> Path:
    """Write a dossier folder: 申报书.docx, 全套扫描件.pdf and 项目视频.mp4 (each optional)."""
    folder.mkdir(parents=True, exist_ok=True)
    if form:
        make_form_docx(folder / "申报书.docx", data)
    if scan:
        make_scan_pdf(folder / "全套扫描件.pdf")
    if video_s is not None:
        make_video(folder / "项目视频.mp4", video_s)
    return folder


def zip_folder(folder: Path, out: Path, *, cp936_names: bool = True) -> Path:
    """Zip a folder the way Windows' built-in zipper does: GBK member names, no UTF-8 flag.

    With ``cp936_names=False`` the names are UTF-8 with the flag set (macOS, 7-Zip).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(folder.parent).as_posix())
    data = buf.getvalue()
    if cp936_names:
        data = _rewrite_zip_names_cp936(data)
    out.write_bytes(data)
    return out


def _rewrite_zip_names_cp936(data: bytes) -> bytes:
    """Re-encode every member name as GBK with the UTF-8 flag (bit 11) clear.

    zipfile always flags non-ASCII names as UTF-8, so members are written under ASCII placeholders
    of the same byte length, which are then replaced by the GBK bytes in the local and central
    headers (the lengths, and so every offset, stay the same).
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    swaps: list[tuple[bytes, bytes]] = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for i, info in enumerate(src.infolist()):
            gbk = info.filename.encode("gbk")
            tag = f"@{i}@".encode()
            placeholder = tag + b"_" * (len(gbk) - len(tag)) if len(gbk) > len(tag) else gbk
            new = zipfile.ZipInfo(placeholder.decode("ascii", "replace"), date_time=info.date_time)
            new.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(new, src.read(info))
            swaps.append((placeholder, gbk))
    out = buf.getvalue()
    for placeholder, gbk in swaps:
        out = out.replace(placeholder, gbk)
    return out


def make_submission_eml(
    files: list[Path],
    *,
    sender: str = "applicant@example.com",
    sender_name: str = "申报企业",
    to: str = "intake@example.org",
    subject: str = "2023年工业互联网试点示范项目申报材料",
    body: str = "您好，附件是我单位的申报材料，请查收。",
    message_id: str | None = None,
    date: datetime | None = None,
) -> bytes:
    """A real submission mail (multipart/mixed) with the files attached, names RFC 2231-encoded."""
    from email.headerregistry import Address  # noqa: F401  (documents the header API used)

    msg = EmailMessage()
    msg["From"] = f"{sender_name} <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime(2023, 11, 28, 9, 30, tzinfo=UTC))
    msg["Message-ID"] = message_id or make_msgid(domain="example.com")
    msg.set_content(body)
    for f in files:
        maintype, subtype = _guess_type(f.name)
        msg.add_attachment(f.read_bytes(), maintype=maintype, subtype=subtype, filename=f.name)
    return msg.as_bytes()


def _guess_type(name: str) -> tuple[str, str]:
    import mimetypes

    ctype, _ = mimetypes.guess_type(name)
    if not ctype:
        return "application", "octet-stream"
    main, sub = ctype.split("/", 1)
    return main, sub


def make_scan_ofd(path: Path, pages: int = 2, *, seal_pages: tuple[int, ...] = (1,),
                  signed_pages: tuple[int, ...] = ()) -> Path:
    """Write an OFD scanned copy (GB/T 33190-2016 package: OFD.xml, Doc_0/Document.xml, one JPEG
    per page in Doc_0/Res/), with a red seal on ``seal_pages`` and an electronic seal (Signs/,
    a StampAnnot) on ``signed_pages`` (1-based)."""
    import io
    import zipfile

    from PIL import Image, ImageDraw

    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    signs = '<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures>' if signed_pages else ""
    parts: dict[str, bytes] = {
        "OFD.xml": (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" DocType="OFD">'
                    f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>test</ofd:DocID></ofd:DocInfo>"
                    f"<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>{signs}</ofd:DocBody></ofd:OFD>").encode(),
    }
    page_refs = "".join(f'<ofd:Page ID="{10 + n}" BaseLoc="Pages/Page_{n}/Content.xml"/>' for n in range(pages))
    parts["Doc_0/Document.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:CommonData>'
        "<ofd:MaxUnitID>100</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox>"
        "</ofd:PageArea><ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes></ofd:CommonData>"
        f"<ofd:Pages>{page_refs}</ofd:Pages></ofd:Document>").encode()
    media = "".join(f'<ofd:MultiMedia ID="{50 + n}" Type="Image"><ofd:MediaFile>page_{n}.jpg</ofd:MediaFile>'
                    "</ofd:MultiMedia>" for n in range(pages))
    parts["Doc_0/DocumentRes.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {ns} BaseLoc="Res">'
                                      f"<ofd:MultiMedias>{media}</ofd:MultiMedias></ofd:Res>").encode()
    for n in range(pages):
        img = Image.new("RGB", (1240, 1754), "white")  # A4 at 150 dpi, as a scanner makes it
        draw = ImageDraw.Draw(img)
        for y in range(200, 1600, 50):
            draw.line([(120, y), (1120, y)], fill=(70, 70, 70), width=3)
        if n + 1 in seal_pages:
            draw_seal(draw, 850, 1400, 42 / 25.4 * 150 / 2, width=12)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        parts[f"Doc_0/Res/page_{n}.jpg"] = buf.getvalue()
        parts[f"Doc_0/Pages/Page_{n}/Content.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="{70 + n}">'
            f'<ofd:ImageObject ID="{80 + n}" ResourceID="{50 + n}" Boundary="0 0 210 297" '
            'CTM="210 0 0 297 0 0"/></ofd:Layer></ofd:Content></ofd:Page>').encode()
    if signed_pages:
        sigs = "".join(f'<ofd:Signature ID="{n}" Type="Seal" BaseLoc="Sign_{n}/Signature.xml"/>'
                       for n in range(len(signed_pages)))
        parts["Doc_0/Signs/Signatures.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?>'
                                               f"<ofd:Signatures {ns}>{sigs}</ofd:Signatures>").encode()
        for n, page in enumerate(signed_pages):
            parts[f"Doc_0/Signs/Sign_{n}/Signature.xml"] = (
                f'<?xml version="1.0" encoding="UTF-8"?><ofd:Signature {ns}><ofd:SignedInfo>'
                "<ofd:Provider ProviderName=\"test\"/><ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>"
                f'<ofd:StampAnnot ID="s{n}" PageRef="{10 + page - 1}" Boundary="120 200 40 40"/>'
                "</ofd:SignedInfo><ofd:SignedValue>SignedValue.dat</ofd:SignedValue></ofd:Signature>").encode()
            parts[f"Doc_0/Signs/Sign_{n}/SignedValue.dat"] = b"\x30\x03\x02\x01\x00"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def make_signed_pdf(path: Path, pages: int = 2, *, signed_page: int = 2) -> Path:
    """A text PDF whose ``signed_page`` (1-based) carries a signed signature field: a widget
    annotation whose field is ``/FT /Sig`` with a ``/V`` signature dictionary and ``/ByteRange``
    (ISO 32000-1 §12.8; the signature bytes are placeholders: present, not verifiable)."""
    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        ByteStringObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    sig_value = DictionaryObject({
        NameObject("/Type"): NameObject("/Sig"),
        NameObject("/Filter"): NameObject("/Adobe.PPKLite"),
        NameObject("/SubFilter"): NameObject("/adbe.pkcs7.detached"),
        NameObject("/ByteRange"): ArrayObject([NumberObject(0), NumberObject(10), NumberObject(20), NumberObject(5)]),
        NameObject("/Contents"): ByteStringObject(b"\x00" * 16),
    })
    page = writer.pages[signed_page - 1]
    widget = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"),
        NameObject("/Subtype"): NameObject("/Widget"),
        NameObject("/FT"): NameObject("/Sig"),
        NameObject("/T"): TextStringObject("Signature1"),
        NameObject("/Rect"): ArrayObject([FloatObject(400), FloatObject(100), FloatObject(520), FloatObject(220)]),
        NameObject("/V"): writer._add_object(sig_value),
        NameObject("/P"): page.indirect_reference,
    })
    ref = writer._add_object(widget)
    page[NameObject("/Annots")] = ArrayObject([ref])
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({
        NameObject("/Fields"): ArrayObject([ref]), NameObject("/SigFlags"): NumberObject(3)})
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        writer.write(fh)
    return path
