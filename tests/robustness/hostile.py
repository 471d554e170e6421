"""Hostile inputs made at test time: archives, Office files, media and mails built to hurt a parser.

Every maker writes into a folder it is given and returns the path (or the raw bytes for mails);
nothing large is committed to the repository. ``ATTACKS`` names each input for the README's table.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from tests.factories import FormData, make_form_docx, make_summary_xlsx, make_video

# --- archives ----------------------------------------------------------------------------------


def _zip(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]], *, level: int = 9) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for info, data in members:
            zf.writestr(info, data)
    return path


def zip_bomb_ratio(folder: Path, mib: int = 64) -> Path:
    """One member of ``mib`` MiB of zeros (about 1000:1 deflated)."""
    return _zip(folder / "申报材料.zip", [("申报书.docx", b"\0" * (mib * 1024 * 1024))])


def zip_bomb_total(folder: Path, members: int = 6, mib: int = 1) -> Path:
    """Members of incompressible bytes whose total exceeds a small ``max_total_bytes``."""
    return _zip(folder / "材料合集.zip", [(f"part{i}.bin", os.urandom(mib * 1024 * 1024)) for i in range(members)],
                level=0)


def zip_declared_size_lie(folder: Path) -> Path:
    """A member whose central directory claims 2**31 bytes (the local data is small)."""
    path = _zip(folder / "声明过大.zip", [("视频.mp4", b"x" * 1000)])
    data = bytearray(path.read_bytes())
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (2**31).to_bytes(4, "little")  # uncompressed size in the central record
    path.write_bytes(bytes(data))
    return path


def zip_nested(folder: Path, depth: int = 12) -> Path:
    """A zip in a zip … ``depth`` levels, a small text file at the bottom."""
    data = _zip_bytes([("底层.txt", b"bottom")])
    for i in range(depth - 1):
        data = _zip_bytes([(f"level{depth - 1 - i}.zip", data)])
    path = folder / "嵌套.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def zip_nested_bomb(folder: Path, fan: int = 16) -> Path:
    """42.zip in small: ``fan`` copies of a zip that holds ``fan`` copies of 8 MiB of zeros."""
    leaf = _zip_bytes([(f"z{i}.bin", b"\0" * (8 * 1024 * 1024)) for i in range(fan)])
    mid = _zip_bytes([(f"m{i}.zip", leaf) for i in range(fan)])
    path = folder / "套娃.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(mid)
    return path


def _zip_bytes(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            zf.writestr(info, data)
    return buf.getvalue()


TRAVERSAL_NAMES: tuple[str, ...] = (
    "../escape-dotdot.txt",
    "../../../../../../tmp/escape-deep.txt",
    "/tmp/escape-absolute.txt",
    "C:\\escape-drive.txt",
    "C:escape-drive-relative.txt",
    "..\\..\\escape-backslash.txt",
    "材料/../../escape-middle.txt",
    "\\\\server\\share\\escape-unc.txt",
    "a/\\..\\..\\escape-mixed.txt",
)


def zip_traversal(folder: Path) -> Path:
    """ZIP Slip: every name of ``TRAVERSAL_NAMES`` plus one good member."""
    members: list[tuple[zipfile.ZipInfo | str, bytes]] = []
    for name in TRAVERSAL_NAMES:
        info = zipfile.ZipInfo("placeholder")
        info.filename = name  # ZipInfo() would normalise the name; set it raw
        info.orig_filename = name
        info.flag_bits |= 0x800
        members.append((info, b"escaped"))
    members.append(("正常.txt", b"fine"))
    return _zip(folder / "路径穿越.zip", members)


def zip_special_members(folder: Path) -> Path:
    """A symlink to /etc/passwd, a symlink folder then a file through it, a char device, a FIFO."""

    def special(name: str, mode: int, data: bytes) -> tuple[zipfile.ZipInfo, bytes]:
        info = zipfile.ZipInfo(name)
        info.create_system = 3  # Unix
        info.external_attr = (mode | 0o777) << 16
        return info, data

    return _zip(folder / "链接设备.zip", [
        special("passwd-link", stat.S_IFLNK, b"/etc/passwd"),
        special("dirlink", stat.S_IFLNK, b"/tmp"),
        ("dirlink/through-link.txt", b"written through a link?"),
        special("null-device", stat.S_IFCHR, b""),
        special("pipe", stat.S_IFIFO, b""),
        ("正常.txt", b"fine"),
    ])


def zip_many_members(folder: Path, count: int = 100_000) -> Path:
    """``count`` tiny stored members (central directory of several MB)."""
    path = folder / "十万文件.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(count):
            zf.writestr(f"f/{i}.txt", b"")
    return path


def zip_encrypted(folder: Path) -> Path:
    """A ZipCrypto archive made by Info-ZIP ``zip -P``."""
    src = folder / "enc-src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "申报书.docx").write_bytes(b"secret form")
    out = folder / "加密.zip"
    subprocess.run(["zip", "-q", "-j", "-P", "secret", str(out), str(src / "申报书.docx")], check=True)
    shutil.rmtree(src)
    return out


def sevenz_encrypted(folder: Path) -> Path:
    """A 7z archive with encrypted names and data (``7z -p -mhe=on``)."""
    src = folder / "enc7-src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "申报书.docx").write_bytes(b"secret form")
    out = folder / "加密.7z"
    subprocess.run(["7z", "a", "-bso0", "-bsp0", "-psecret", "-mhe=on", str(out), str(src / "申报书.docx")],
                   check=True)
    shutil.rmtree(src)
    return out


# --- Office files ------------------------------------------------------------------------------

LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
    + "]>"
).replace("&lol0;", "&lol;")


def _rewrite_member(src: Path, dest: Path, member: str, edit: Callable[[bytes], bytes],
                    extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info.filename, edit(data) if info.filename == member else data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dest


def _with_dtd(xml: bytes, dtd: str, use: str, after_tag: bytes) -> bytes:
    """Put ``dtd`` after the XML declaration and ``use`` as text inside the first ``after_tag``."""
    decl_end = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
    xml = xml[:decl_end] + dtd.encode() + xml[decl_end:]
    i = xml.index(after_tag)
    j = xml.index(b">", i) + 1
    return xml[:j] + use.encode() + xml[j:]


def docx_billion_laughs(folder: Path) -> Path:
    base = make_form_docx(folder / "base-laughs.docx")
    out = _rewrite_member(base, folder / "申报书-实体膨胀.docx", "word/document.xml",
                          lambda x: _with_dtd(x, LAUGHS, "", b"<w:body").replace(b"<w:t>", b"<w:t>&lol9;", 1))
    base.unlink()
    return out


def docx_external_entity(folder: Path, secret: Path) -> Path:
    """A form whose first text run is ``&xxe;``, an entity naming the local file ``secret``."""
    base = make_form_docx(folder / "base-xxe.docx")
    dtd = f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    out = _rewrite_member(base, folder / "申报书-外部实体.docx", "word/document.xml",
                          lambda x: _with_dtd(x, dtd, "", b"<w:body").replace(b"<w:t>", b"<w:t>&xxe;", 1))
    base.unlink()
    return out


def docx_bomb(folder: Path, mib: int = 300) -> Path:
    """A form whose document.xml declares ``mib`` MiB (comment padding, highly compressible)."""
    base = make_form_docx(folder / "base-bomb.docx")
    pad = b"<!--" + b" " * (mib * 1024 * 1024) + b"-->"
    out = _rewrite_member(base, folder / "申报书-解压炸弹.docx", "word/document.xml",
                          lambda x: x.replace(b"?>", b"?>" + pad, 1))
    base.unlink()
    return out


def docm_with_macro(folder: Path) -> Path:
    base = make_form_docx(folder / "base-docm.docx")
    out = _rewrite_member(
        base, folder / "申报书.docm", "[Content_Types].xml",
        lambda x: x.replace(b"wordprocessingml.document.main+xml",
                            b"ms-word.document.macroEnabled.main+xml"),
        extra={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0 fake VBA project"},
    )
    base.unlink()
    return out


def _table(folder: Path, name: str) -> Path:
    return make_summary_xlsx(folder / name, [("项目", "类别", "单位", "联系人", "13800000000 a@example.com")],
                             unit="某区经信局")


def xlsx_billion_laughs(folder: Path) -> Path:
    base = _table(folder, "base-laughs.xlsx")
    out = _rewrite_member(base, folder / "汇总表-实体膨胀.xlsx", "xl/worksheets/sheet1.xml",
                          lambda x: _with_dtd(x, LAUGHS.replace("lolz", "worksheet"), "", b"<worksheet"))
    base.unlink()
    return out


def xlsx_external_entity(folder: Path, secret: Path) -> Path:
    base = _table(folder, "base-xxe.xlsx")
    dtd = f'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file://{secret}">]>'

    def edit(x: bytes) -> bytes:
        x = _with_dtd(x, dtd, "", b"<worksheet")
        return re.sub(rb'<c r="A1"[^>]*>.*?</c>', b'<c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c>', x, count=1)

    out = _rewrite_member(base, folder / "汇总表-外部实体.xlsx", "xl/worksheets/sheet1.xml", edit)
    base.unlink()
    return out


def xlsx_far_cell(folder: Path) -> Path:
    """A table with one extra cell at XFD1048576 (the last cell of a sheet): a 17-billion-cell grid."""
    base = _table(folder, "base-far.xlsx")

    def edit(x: bytes) -> bytes:
        return x.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')

    out = _rewrite_member(base, folder / "汇总表-远端单元格.xlsx", "xl/worksheets/sheet1.xml", edit)
    base.unlink()
    return out


def xlsx_cell_bomb(folder: Path, rows: int = 400_000) -> Path:
    """A sheet of ``rows`` × 8 numeric cells (some 60 MB of XML, under 1 MB zipped)."""
    base = _table(folder, "base-cells.xlsx")
    row = b"".join(b'<c t="n"><v>1</v></c>' for _ in range(8))
    body = b"".join(b'<row r="%d">%s</row>' % (i, row) for i in range(100, 100 + rows))

    def edit(x: bytes) -> bytes:
        return x.replace(b"</sheetData>", body + b"</sheetData>")

    out = _rewrite_member(base, folder / "汇总表-单元格炸弹.xlsx", "xl/worksheets/sheet1.xml", edit)
    base.unlink()
    return out


def xlsm_with_macro(folder: Path) -> Path:
    base = _table(folder, "base-xlsm.xlsx")
    out = _rewrite_member(
        base, folder / "汇总表.xlsm", "[Content_Types].xml",
        lambda x: x.replace(b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml"),
        extra={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 fake VBA project"},
    )
    base.unlink()
    return out


def type_liars(folder: Path) -> list[Path]:
    """Files whose name claims one type and whose bytes are another."""
    folder.mkdir(parents=True, exist_ok=True)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    made = {
        "申报书.docx": pdf,  # a PDF named as the form
        "全套扫描件.pdf": b"MZ\x90\x00" + b"\0" * 60 + b"PE\0\0" + b"\0" * 200,  # a Windows executable
        "项目视频.mp4": _zip_bytes([("a.txt", b"zip named mp4")]),
        "汇总表.xlsx": "<html><body><table><tr><td>序号</td></tr></table></body></html>".encode(),
        "说明.txt": b"#!/bin/sh\nrm -rf /\n",
    }
    out = []
    for name, data in made.items():
        (folder / name).write_bytes(data)
        out.append(folder / name)
    return out


# --- media -------------------------------------------------------------------------------------


def video_random_bytes(folder: Path, seed: int | None = None) -> Path:
    """256 KiB of random bytes named .mp4 (``seed``: the same bytes each run).

    ffprobe 5.1 takes most such files for nothing, about 1 in 100 for one raw H.263 frame of
    0.04 s (seed 37: "0x0"; seed 68: 1408x1152) and some for LRC lyrics (seed 131)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "项目视频-乱码.mp4"
    data = os.urandom(256 * 1024) if seed is None else random.Random(seed).randbytes(256 * 1024)
    path.write_bytes(data)
    return path


def video_truncated(folder: Path, good: Path) -> Path:
    """The first 40 % of a real video (an upload cut short)."""
    data = good.read_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "项目视频-截断.mp4"
    path.write_bytes(data[: len(data) * 2 // 5])
    return path


def video_text(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "项目视频.mp4"
    path.write_text("这不是视频，只是一段文字。\n" * 100, encoding="utf-8")
    return path


def video_fifo(folder: Path) -> Path:
    """A FIFO named .mp4: opening it blocks forever (nobody writes)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "项目视频-管道.mp4"
    os.mkfifo(path)
    return path


def video_sparse(folder: Path, gib: int = 2) -> Path:
    """A sparse file of ``gib`` GiB of zeros named .mp4 (costs no disk)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "项目视频-稀疏.mp4"
    with open(path, "wb") as fh:
        fh.truncate(gib * 1024**3)
    return path


def video_many_streams(folder: Path, streams: int = 120) -> Path:
    """A real 2-second mp4 with ``streams`` video streams."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "项目视频-多流.mp4"
    cmd = ["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-f", "lavfi",
           "-i", "testsrc2=size=16x16:rate=1:duration=2"]
    for _ in range(streams):
        cmd += ["-map", "0:v"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", str(path)]
    subprocess.run(cmd, check=True, timeout=120)
    return path


def video_absurd_duration(folder: Path, good: Path) -> Path:
    """A real video whose mvhd/tkhd/mdhd durations are patched to 0xFFFFFFFF."""
    data = bytearray(good.read_bytes())
    for box, offset in ((b"mvhd", 20), (b"tkhd", 24), (b"mdhd", 20)):
        start = 0
        while (i := data.find(box, start)) >= 0:
            if data[i + 4] == 0:  # version 0: 32-bit fields
                data[i + offset : i + offset + 4] = b"\xff\xff\xff\xff"
            start = i + 4
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "项目视频-时长异常.mp4"
    path.write_bytes(bytes(data))
    return path


def real_video(folder: Path, seconds: float = 6) -> Path:
    return make_video(folder / "good.mp4", seconds)


# --- mails -------------------------------------------------------------------------------------

FROM = "applicant@example.com"


def _mail_head(subject: str = "申报材料", sender: str = FROM, extra: str = "") -> bytes:
    return (
        f"From: 申报企业 <{sender}>\r\nTo: intake@example.org\r\nSubject: {subject}\r\n"
        f"Date: Tue, 28 Nov 2023 09:30:00 +0800\r\nMessage-ID: <{hashlib.sha1((subject + extra).encode()).hexdigest()[:16]}@example.com>\r\n"
        f"MIME-Version: 1.0\r\n{extra}"
    ).encode()


def _part(name: str, data: bytes, ctype: str = "application/octet-stream") -> bytes:
    import base64

    return (
        f'Content-Type: {ctype}; name="{name}"\r\nContent-Disposition: attachment; filename="{name}"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(data) + b"\r\n"


def _multipart(parts: list[bytes], boundary: str = "b0undary") -> bytes:
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p for p in parts)
    return body + b"--" + boundary.encode() + b"--\r\n"


def mail_many_parts(parts: int = 10_000) -> bytes:
    head = _mail_head("一万个附件", extra='Content-Type: multipart/mixed; boundary="b0undary"\r\n\r\n')
    return head + _multipart([_part(f"f{i}.txt", b"x", "text/plain") for i in range(parts)])


def mail_huge_header(mib: int = 10) -> bytes:
    folded = "\r\n ".join(["=?utf-8?B?5pWw5o2u?="] * (mib * 1024 * 1024 // 22))
    return _mail_head("超长头") + f"X-Junk: {folded}\r\nContent-Type: text/plain\r\n\r\nbody\r\n".encode()


def mail_huge_subject(mib: int = 10) -> bytes:
    return _mail_head("申" * (mib * 1024 * 1024 // 3)) + b"Content-Type: text/plain\r\n\r\nbody\r\n"


def mail_deep_multipart(depth: int = 2000) -> bytes:
    inner = _part("申报书.docx", b"PK fake")
    for i in range(depth):
        inner = f'Content-Type: multipart/mixed; boundary="d{i}"\r\n\r\n'.encode() + _multipart([inner], f"d{i}")
    return _mail_head("深层嵌套") + inner


def mail_deep_rfc822(depth: int = 200) -> bytes:
    inner = _mail_head("最内层") + b'Content-Type: multipart/mixed; boundary="z"\r\n\r\n' + _multipart(
        [_part("申报书.docx", b"PK fake")], "z")
    for i in range(depth):
        inner = _mail_head(f"转发{i}") + b"Content-Type: message/rfc822\r\n\r\n" + inner
    return inner


def mail_bad_boundaries() -> list[bytes]:
    """Boundaries that are missing, never used, empty, 2,000 characters long, or unterminated."""
    att = _part("申报书.docx", b"PK fake form")
    long_b = "x" * 2000
    return [
        _mail_head("无边界", extra="Content-Type: multipart/mixed\r\n\r\n") + _multipart([att]),
        _mail_head("边界不出现", extra='Content-Type: multipart/mixed; boundary="nope"\r\n\r\n') + _multipart([att]),
        _mail_head("空边界", extra='Content-Type: multipart/mixed; boundary=""\r\n\r\n') + _multipart([att]),
        _mail_head("长边界", extra=f'Content-Type: multipart/mixed; boundary="{long_b}"\r\n\r\n')
        + _multipart([att], long_b),
        _mail_head("未结束", extra='Content-Type: multipart/mixed; boundary="b0undary"\r\n\r\n')
        + b"--b0undary\r\n" + att[: len(att) // 2],
    ]


def mail_bad_charsets() -> bytes:
    parts = [
        b'Content-Type: text/plain; charset="x-no-such-charset"\r\n\r\n\xc9\xea\xb1\xa8\r\n',
        b'Content-Type: text/plain; charset="utf-7"\r\n\r\n+ZeVnLA-\r\n',
        b'Content-Type: text/plain; charset="../../etc/passwd"\r\n\r\nbody\r\n',
        b'Content-Type: application/octet-stream; name="=?bogus?B?5pWw5o2u?=.docx"\r\n'
        b"Content-Disposition: attachment; filename*=no-such''%E7%94%B3.docx\r\n\r\nPK\r\n",
    ]
    return _mail_head("=?x-unknown?Q?=C9=EA?= =?utf-8?B?!!!?=",
                      extra='Content-Type: multipart/mixed; boundary="b0undary"\r\n\r\n') + _multipart(parts)


HOSTILE_NAMES: tuple[str, ...] = (
    "../../x.docx",
    "C:\\x.docx",
    "/etc/cron.d/x.docx",
    "a\x00b.docx",
    "申" * 1000 + ".docx",
    "...",
    ".",
    "CON",
    "dup.pdf",
    "dup.pdf",
    "\u202egpj.exe",  # right-to-left override
)


def mail_hostile_names() -> bytes:
    from email.policy import SMTP

    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"申报企业 <{FROM}>"
    msg["To"] = "intake@example.org"
    msg["Subject"] = "文件名攻击"
    msg["Message-ID"] = "<names@example.com>"
    msg.set_content("见附件")
    for i, name in enumerate(HOSTILE_NAMES):
        msg.add_attachment(f"content {i}".encode(), maintype="application", subtype="octet-stream",
                           filename=name.replace("\x00", "_"))
    raw = msg.as_bytes()
    # email refuses a NUL in a header: put the raw NUL back into the one name that carries it.
    return raw.replace(b'filename="a_b.docx"', b'filename="a\x00b.docx"')


def mail_with_files(files: list[Path], *, sender: str = FROM, subject: str = "申报材料") -> bytes:
    from tests.factories import make_submission_eml

    return make_submission_eml(files, sender=sender, subject=subject)


def form(folder: Path, data: FormData | None = None) -> Path:
    return make_form_docx(folder / "申报书.docx", data)
