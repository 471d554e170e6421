"""What a file is (from its bytes first, its name second) and which role it plays in a dossier."""

from __future__ import annotations

import logging
import re
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from parsers.facts import Role

log = logging.getLogger("intake.classify")

KINDS: tuple[str, ...] = (
    "docx", "docm", "doc", "wps", "pdf", "ofd", "mp4", "mov", "webm", "mkv", "flv", "avi", "ts", "wmv",
    "xlsx", "xlsm", "xls", "csv", "html", "zip", "7z", "rar", "eml", "image", "text",
    "executable", "script", "unknown",
)  # fmt: skip
VIDEO_KINDS = frozenset({"mp4", "mov", "webm", "mkv", "flv", "avi", "ts", "wmv"})
FORM_KINDS = frozenset({"docx", "docm", "doc", "wps"})
TABLE_KINDS = frozenset({"xlsx", "xlsm", "xls", "csv", "html"})
FORBIDDEN_KINDS = frozenset({"executable", "script", "docm", "xlsm"})

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_LNK_MAGIC = bytes.fromhex("4c0000000114020000000000c000000000000046")
_SCRIPT_EXTS = frozenset(
    {"bat", "cmd", "ps1", "psm1", "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta", "sh", "bash",
     "py", "pl", "scr"}
)  # fmt: skip
_EXEC_EXTS = frozenset({"exe", "dll", "com", "msi", "msp", "jar", "lnk", "elf", "so", "apk", "app"})
EXT_KINDS: dict[str, str] = {
    "docx": "docx", "dotx": "docx", "docm": "docm", "dotm": "docm", "doc": "doc", "dot": "doc",
    "wps": "wps", "pdf": "pdf", "ofd": "ofd", "mp4": "mp4", "m4v": "mp4", "mov": "mov", "webm": "webm",
    "mkv": "mkv", "flv": "flv", "avi": "avi", "ts": "ts", "mts": "ts", "m2ts": "ts", "wmv": "wmv",
    "asf": "wmv", "xlsx": "xlsx", "xlsm": "xlsm", "xls": "xls", "et": "xls", "csv": "csv",
    "html": "html", "htm": "html", "zip": "zip", "7z": "7z", "rar": "rar", "eml": "eml",
    "jpg": "image", "jpeg": "image", "png": "image", "gif": "image", "bmp": "image",
    "tif": "image", "tiff": "image", "webp": "image", "txt": "text",
}  # fmt: skip
_SUMMARY_NAME_RE = re.compile(r"汇总|推荐项目|一览表|清单|统计表")
_MAIL_HEADER_RE = re.compile(
    rb"^(?:Received|Return-Path|From|To|Subject|Date|Message-ID|MIME-Version|X-[\w-]+|"
    rb"Delivered-To|Reply-To|Content-Type):[ \t]",
    re.IGNORECASE | re.MULTILINE,
)
_SNIFF = 8192
_MAX_TYPES_BYTES = 1024 * 1024  # an Office package's [Content_Types].xml is a few KB


def extension(name: str) -> str:
    """The lower-case extension of ``name`` without the dot (``"申报书.DOCX"`` -> ``"docx"``)."""
    suffix = PurePosixPath(name.replace("\\", "/")).suffix
    return suffix[1:].lower() if suffix else ""


def detect_kind(path: Path, name: str) -> str:
    """The content kind of the file at ``path`` (one of ``KINDS``), from its bytes first.

    ``name`` is the decoded original name; its extension decides only what the bytes cannot
    (doc vs wps, both OLE2; a corrupt Office zip; plain text as csv or a script). Never raises:
    an unreadable path is ``"unknown"``.
    """
    ext = extension(name)
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF)
    except OSError as exc:
        log.warning("cannot read %s: %s", name, exc)
        return "unknown"
    if not head:
        return "unknown"
    kind = _kind_from_bytes(path, head, ext)
    if kind is None:
        kind = EXT_KINDS.get(ext, "unknown")
    return kind


def _kind_from_bytes(path: Path, head: bytes, ext: str) -> str | None:
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return _zip_kind(path, ext)
    if head.startswith(_OLE_MAGIC):
        return _ole_kind(path, ext)
    if head.startswith(b"MZ") or head.startswith(b"\x7fELF"):
        return "executable"
    if head[:4] in (
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
    ):
        return "executable"  # Mach-O
    if head.startswith(_LNK_MAGIC):
        return "executable"  # Windows shell link: runs whatever it points to
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot") and ext in (
        "mp4",
        "mov",
        "m4v",
    ):
        return EXT_KINDS[ext]
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "mkv"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image"
    if head.startswith(_ASF_GUID):
        return "wmv"
    if len(head) >= 377 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47:
        return "ts"  # MPEG transport stream: a sync byte every 188 bytes
    if head.startswith(b"\x00\x00\x01\xba"):
        return "ts"  # MPEG program stream (.mpg/.vob): same family as far as probing goes
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")):
        return "image"
    if head.startswith(b"BM") and ext == "bmp":
        return "image"
    if head.startswith(b"\xca\xfe\xba\xbe"):
        return "executable"  # Java class / fat Mach-O
    return _text_kind(head, ext)


def _zip_kind(path: Path, ext: str) -> str | None:
    """docx/docm/xlsx/xlsm by ``[Content_Types].xml``; a jar; else a plain zip archive."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "[Content_Types].xml" in names:
                info = zf.getinfo("[Content_Types].xml")
                if info.file_size > _MAX_TYPES_BYTES:  # a bomb in the package's first part
                    log.info("[Content_Types].xml declares %d bytes; using the extension", info.file_size)
                    return None
                with zf.open(info) as fh:  # never more than declared, and the declared is small
                    types = fh.read(_MAX_TYPES_BYTES).decode("utf-8", "replace")
            else:
                types = ""
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, NotImplementedError, EOFError,
            zlib.error) as exc:  # fmt: skip
        log.info("zip-looking file is not a readable zip (%s); using the extension", exc)
        return None  # a damaged .docx stays a docx so its reader can report it corrupt
    low = types.lower()
    if (
        "macroenabled" in low
        and "wordprocessingml" in low
        or "ms-word.document.macroenabled" in low
    ):
        return "docm"
    if "wordprocessingml.document.main" in low or "wordprocessingml.template.main" in low:
        return "docm" if "word/vbaProject.bin" in names else "docx"
    if "ms-excel.sheet.macroenabled" in low:
        return "xlsm"
    if "spreadsheetml.sheet.main" in low or "spreadsheetml.template.main" in low:
        return "xlsm" if "xl/vbaProject.bin" in names else "xlsx"
    if "META-INF/MANIFEST.MF" in names and (
        ext in ("jar", "war") or any(n.endswith(".class") for n in names)
    ):
        return "executable"
    if types:
        return "unknown"  # another Office Open XML document (pptx, vsdx): not a dossier material
    if "mimetype" in names:
        return "unknown"  # OpenDocument
    if "OFD.xml" in names or "ofd.xml" in {n.lower() for n in names}:
        return "ofd"  # GB/T 33190-2016 版式文档: a scanned copy, not an archive to unpack
    return "zip"


def _ole_kind(path: Path, ext: str) -> str:
    """doc / wps / xls / executable (msi) for an OLE2 compound file, from its stream names."""
    names = _ole_stream_names(path)
    if "EncryptedPackage" in names:
        # A password-protected .docx/.xlsx is an OLE2 wrapper; its reader reports it encrypted.
        return (
            EXT_KINDS.get(ext, "unknown") if ext in ("docx", "docm", "xlsx", "xlsm") else "unknown"
        )
    if ext in ("msi", "msp"):
        return "executable"
    if "WordDocument" in names:
        return "wps" if ext == "wps" else "doc"
    if "Workbook" in names or "Book" in names:
        return "xls"
    if ext == "wps":
        return "wps"  # Works/old WPS writer files use other stream names
    if ext in ("doc", "xls", "et", "dot"):
        return EXT_KINDS[ext]
    return "unknown"


def _ole_stream_names(path: Path, limit: int = 64 * 1024 * 1024) -> set[str]:
    """Names of the directory entries of an OLE2 file (MS-CFB), found without a FAT walk.

    Directory sectors sit at 512 + k*sector_size, so every directory entry is 128-byte aligned
    in the file; an aligned 128-byte slot whose name length and entry type are valid is taken
    as an entry. Only names are needed, so a rare false positive costs nothing.
    """
    names: set[str] = set()
    try:
        with open(path, "rb") as fh:
            fh.seek(512)
            read = 512
            while read < limit:
                block = fh.read(128 * 1024)
                if not block:
                    break
                read += len(block)
                for off in range(0, len(block) - 127, 128):
                    entry = block[off : off + 128]
                    (name_len,) = struct.unpack_from("<H", entry, 64)
                    if not (2 <= name_len <= 64 and name_len % 2 == 0) or entry[66] not in (
                        1,
                        2,
                        5,
                    ):
                        continue
                    try:
                        name = entry[: name_len - 2].decode("utf-16-le")
                    except UnicodeDecodeError:
                        continue
                    if name and "\x00" not in name:
                        names.add(name)
    except OSError:
        pass
    return names


def _text_kind(head: bytes, ext: str) -> str | None:
    """Kinds of text files: html tables, mails, csv, scripts; ``None`` for binary garbage."""
    if b"\x00" in head:
        return None
    text: str | None = None
    for enc in ("utf-8", "gb18030"):
        try:
            text = head.decode(enc)
            break
        except UnicodeDecodeError as exc:
            if exc.start > len(head) - 4:  # a character cut at the sniff boundary
                text = head[: exc.start].decode(enc, "replace")
                break
    if text is None:
        return None
    low = text.lstrip("\ufeff \r\n\t").lower()
    if text.startswith("#!") or ext in _SCRIPT_EXTS:
        return "script"
    if low.startswith("@echo") or low.startswith("powershell "):
        return "script"
    if ext in _EXEC_EXTS:
        return "executable"
    if low.startswith(("<!doctype html", "<html", "<table", "<meta")) or (
        "<table" in low and ("urn:schemas-microsoft-com:office" in low or "<html" in low)
    ):
        return "html"
    if ext == "eml" or len(_MAIL_HEADER_RE.findall(head[:4096])) >= 3:
        return "eml"
    if ext == "csv" or (ext in ("xls", "xlsx", "et") and ("," in text or "\t" in text)):
        return "csv"  # systems that export "Excel" as delimited text
    return "text"


def role_for(kind: str, name: str) -> Role:
    """The role a material plays in a dossier, from its content kind and name.

    application_form: docx/docm/doc/wps (a docm is still the form; the rules forbid it);
    scanned_copy: pdf or ofd; video: video kinds; summary_table: a spreadsheet (xlsx/xlsm/xls), or a
    csv/html table named like a 汇总表 or with a spreadsheet extension; other otherwise.
    """
    if kind in FORM_KINDS:
        return "application_form"
    if kind in ("pdf", "ofd"):
        return "scanned_copy"
    if kind in VIDEO_KINDS:
        return "video"
    if kind in ("xlsx", "xlsm", "xls"):
        return "summary_table"
    if kind in ("csv", "html") and (
        extension(name) in ("xls", "xlsx", "et", "csv") or _SUMMARY_NAME_RE.search(name)
    ):
        return "summary_table"
    return "other"


def is_forbidden_kind(kind: str) -> bool:
    """True for kinds never accepted in a dossier: executables, scripts, macro-enabled Office."""
    return kind in FORBIDDEN_KINDS
