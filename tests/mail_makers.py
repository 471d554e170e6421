"""Raw mail pieces built byte by byte for the mail-fidelity tests and corpus: an Outlook TNEF
stream (``winmail.dat``), a damaged .xls, and a MIME message from header lines and parts."""

from __future__ import annotations

import base64
import struct

CRLF = b"\r\n"


def _tnef_attribute(level: int, attr_id: int, attr_type: int, data: bytes) -> bytes:
    """One TNEF attribute (MS-OXTNEF 2.1.3.1): level, id, type, length, data, checksum."""
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BHHI", level, attr_id, attr_type, len(data)) + data + struct.pack("<H", checksum)


def _mapi_string8(prop_id: int, text: bytes) -> bytes:
    value = text + b"\0"
    return struct.pack("<HHII", 0x001E, prop_id, 1, len(value)) + value + b"\0" * (-len(value) % 4)


def _mapi_binary(prop_id: int, data: bytes) -> bytes:
    return struct.pack("<HHII", 0x0102, prop_id, 1, len(data)) + data + b"\0" * (-len(data) % 4)


def tnef_stream(files: list[tuple[str, bytes]], *, cut: int = 0, codepage: int = 936) -> bytes:
    """A ``winmail.dat`` as Outlook writes it: each file's long name (PR_ATTACH_LONG_FILENAME,
    8-bit in ``codepage``) and bytes (PR_ATTACH_DATA_OBJ) in the attachment's MAPI properties.
    ``cut`` bytes are taken off the end (a stream cut short in transit)."""
    out = bytearray(b"\x78\x9f\x3e\x22" + struct.pack("<H", 0x0001))
    out += _tnef_attribute(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += _tnef_attribute(1, 0x9007, 0x0006, struct.pack("<II", codepage, 0))  # attOemCodepage
    for name, data in files:
        out += _tnef_attribute(2, 0x9002, 0x0006, b"\x01\x00" + b"\xff" * 4 + b"\0" * 8)  # attAttachRendData
        props = struct.pack("<I", 2) + _mapi_string8(0x3707, name.encode(f"cp{codepage}"))
        props += _mapi_binary(0x3701, data)
        out += _tnef_attribute(2, 0x9005, 0x0006, props)  # attAttachment
    return bytes(out[: len(out) - cut] if cut else out)


def damaged_xls() -> bytes:
    """108 bytes that begin like an OLE2 compound document: xlrd prints "WARNING *** file size
    (108) not 512 + multiple of sector size (512)" to stdout before it gives up."""
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HH", 0x3E, 0x03) + b"\xfe\xff"
    head += struct.pack("<HH", 9, 6) + b"\0" * 10 + struct.pack("<iiiiiiii", 1, 0, 0, 4096, -2, 0, -2, 0)
    return head + b"\xff" * (108 - len(head))


def b64_lines(data: bytes) -> bytes:
    text = base64.b64encode(data)
    return CRLF.join(text[i : i + 76] for i in range(0, len(text), 76))


def mime_mail(headers: list[bytes], parts: list[tuple[list[bytes], bytes]], boundary: bytes = b"=_b1") -> bytes:
    """A multipart/mixed mail from raw header lines and (raw part header lines, raw body) pairs:
    nothing is encoded here, so tests can send exactly the bytes a broken client sends."""
    out = [*headers, b"MIME-Version: 1.0", b'Content-Type: multipart/mixed; boundary="' + boundary + b'"', b""]
    for part_headers, body in parts:
        out += [b"--" + boundary, *part_headers, b"", body]
    out.append(b"--" + boundary + b"--")
    return CRLF.join(out) + CRLF
