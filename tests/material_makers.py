"""Makers of material files the factories do not cover: .docm, minimal OLE2 (doc/wps/xls/encrypted)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

_DOCX_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_DOCM_MAIN = b"application/vnd.ms-word.document.macroEnabled.main+xml"


def make_docm(src_docx: Path, out: Path) -> Path:
    """A macro-enabled document: the docx with the docm content type and a vbaProject.bin."""
    buf = io.BytesIO()
    with zipfile.ZipFile(src_docx) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(_DOCX_MAIN, _DOCM_MAIN)
            zout.writestr(info, data)
        zout.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)
    out.write_bytes(buf.getvalue())
    return out


def ole2_with_stream(out: Path, stream: str) -> Path:
    """A minimal OLE2 compound file whose directory holds a root entry and one named stream."""
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[30:32] = (9).to_bytes(2, "little")  # 512-byte sectors

    def entry(name: str, kind: int) -> bytes:
        e = bytearray(128)
        raw = name.encode("utf-16-le") + b"\0\0"
        e[: len(raw)] = raw
        e[64:66] = len(raw).to_bytes(2, "little")
        e[66] = kind
        return bytes(e)

    directory = entry("Root Entry", 5) + entry(stream, 2) + bytes(256)
    out.write_bytes(bytes(header) + directory)
    return out
