"""Unpack Outlook's TNEF wrapper (``winmail.dat``, ``application/ms-tnef``) into its attached files."""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field

from parsers.charsets import decode_raw

log = logging.getLogger("intake.mime")

# The TNEF stream signature (MS-OXTNEF 2.1.3.1), little-endian 0x223E9F78.
TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"


@dataclass
class TnefFile:
    """One file found inside a TNEF stream: decoded name and exact bytes."""

    name: str
    data: bytes


@dataclass
class TnefResult:
    """What a TNEF stream held. ``readable=False`` with ``detail`` when it could not be decoded.

    ``truncated`` names the attachments whose declared length is longer than the bytes the
    stream holds (a cut ``winmail.dat``): their files hold what there is.
    """

    readable: bool
    files: list[TnefFile]
    body: str = ""
    detail: str | None = None
    truncated: list[str] = field(default_factory=list)


# TNEF attribute ids (MS-OXTNEF 2.1.3.2) and MAPI property ids (MS-OXPROPS) read here.
_ATT_ATTACH_REND_DATA = 0x9002  # starts each attachment
_ATT_ATTACH_DATA = 0x800F
_ATT_ATTACHMENT = 0x9005  # the attachment's MAPI properties
_PID_ATTACH_DATA = 0x3701  # PidTagAttachDataBinary / PidTagAttachDataObject
_IMESSAGE_IID = b"\x07\x03\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"
_VARIABLE_TYPES = frozenset({0x001E, 0x001F, 0x000D, 0x0102})  # string8, unicode, object, binary
_FIXED_SIZES = {0x0001: 4, 0x0002: 4, 0x0003: 4, 0x0004: 4, 0x000A: 4, 0x000B: 4, 0x0005: 8,
                0x0006: 8, 0x0007: 8, 0x0014: 8, 0x0040: 8, 0x0048: 16}


@dataclass
class _RawData:
    """One attachment's content as the stream declares it: exact bytes, and whether cut short."""

    data: bytes | None = None
    truncated: bool = False


def _exact_attachment_data(stream: bytes) -> list[_RawData]:
    """Each attachment's content, in order, read with the exact length each value declares.

    tnefparse 1.4.0 keeps the padding of MAPI binary values and then strips every trailing NUL
    byte (``TNEFMAPI_Attribute.data``): a .doc file ends in NUL bytes, so it came out hundreds
    of bytes short. Values read here are ``length`` bytes, no more, no less (MS-OXTNEF 2.1.3.4).
    Never raises: what cannot be read is left ``None``.
    """
    found: list[_RawData] = []
    offset = 6
    while offset + 9 <= len(stream):
        level, attr, _type, length = struct.unpack_from("<BHHI", stream, offset)
        start = offset + 9
        value = stream[start : start + length]
        offset = start + length + 2
        if level != 2:
            continue
        if attr == _ATT_ATTACH_REND_DATA or not found:
            found.append(_RawData())
        if attr == _ATT_ATTACH_DATA:
            found[-1] = _RawData(value, len(value) < length)
        elif attr == _ATT_ATTACHMENT:
            try:
                got = _attach_data_property(value)
            except (struct.error, ValueError):
                got = None
            if got is not None:
                found[-1] = _RawData(got.data, got.truncated or len(value) < length)
    return found


def _attach_data_property(block: bytes) -> _RawData | None:
    """PidTagAttachData* from one attAttachment MAPI property list (MS-OXTNEF 2.1.3.4), exact."""
    count, = struct.unpack_from("<I", block, 0)
    offset = 4
    for _ in range(count):
        ptype, pid = struct.unpack_from("<HH", block, offset)
        offset += 4
        if pid >= 0x8000:  # named property: GUID, kind, then an id or a name
            offset += 16
            kind, = struct.unpack_from("<I", block, offset)
            offset += 4
            if kind == 0:
                offset += 4
            else:
                size, = struct.unpack_from("<I", block, offset)
                offset += 4 + size + (-size % 4)
        multi = bool(ptype & 0x1000)
        ptype &= 0x0FFF
        values = 1
        if multi or ptype in _VARIABLE_TYPES:
            values, = struct.unpack_from("<I", block, offset)
            offset += 4
        if ptype in _VARIABLE_TYPES:
            for _ in range(values):
                size, = struct.unpack_from("<I", block, offset)
                offset += 4
                value = block[offset : offset + size]
                if pid == _PID_ATTACH_DATA and not multi:
                    if ptype == 0x000D and value.startswith(_IMESSAGE_IID):
                        value = value[len(_IMESSAGE_IID) :]  # an attached Outlook item
                    return _RawData(value, offset + size > len(block))
                offset += size + (-size % 4)
        elif ptype in _FIXED_SIZES:
            offset += _FIXED_SIZES[ptype] * values
        else:
            raise ValueError(f"unknown MAPI property type {ptype:#06x}")
    return None


def _name_text(value: object) -> str:
    if isinstance(value, bytes):
        return decode_raw(value).strip("\x00").strip()
    if isinstance(value, str):
        return value.strip("\x00").strip()
    return ""


def unpack_tnef(data: bytes) -> TnefResult:
    """Decode a TNEF stream (MS-OXTNEF) with ``tnefparse``.

    Returns each attachment with its long file name (falling back to the 8.3 name, then
    ``attachment-N.bin``) and the plain body when present. The attachments' bytes are read here
    with the lengths the stream declares (``_exact_attachment_data``); an attachment whose
    declared length runs past the end of the stream is named in ``truncated``. Never raises: a
    stream that does not parse gives ``readable=False``.
    """
    if not data.startswith(TNEF_SIGNATURE):
        return TnefResult(False, [], detail="not a TNEF stream (bad signature)")
    try:
        from tnefparse import TNEF

        tnef = TNEF(data)
        exact = _exact_attachment_data(data)
        if len(exact) != len(tnef.attachments):
            exact = []
        files: list[TnefFile] = []
        truncated: list[str] = []
        for i, att in enumerate(tnef.attachments, 1):
            name = ""
            try:
                long_names = [a.data for a in att.mapi_attrs if a.name == 0x3707]  # PR_ATTACH_LONG_FILENAME
                name = _name_text(long_names[0]) if long_names else ""
            except Exception:  # noqa: BLE001 - tnefparse raises many kinds on bad input
                name = ""
            name = name or _name_text(getattr(att, "_name", b"")) or f"attachment-{i}.bin"
            payload = att.data if isinstance(att.data, bytes) else bytes(att.data or b"")
            if exact and exact[i - 1].data is not None:
                payload = exact[i - 1].data or b""
                if exact[i - 1].truncated:
                    truncated.append(name)
            files.append(TnefFile(name, payload))
        body = tnef.body
        body_text = _name_text(body) if body else ""
    except Exception as exc:  # noqa: BLE001 - library errors translated once, here
        log.info("TNEF stream not readable: %s", exc)
        return TnefResult(False, [], detail=f"TNEF stream not readable: {type(exc).__name__}: {exc}"[:300])
    if not files and not body_text and not tnef.htmlbody:
        return TnefResult(False, [], detail="TNEF stream holds no attachment and no body")
    return TnefResult(True, files, body=body_text, truncated=truncated)
