"""Unpack Outlook's TNEF wrapper (``winmail.dat``, ``application/ms-tnef``) into its attached files."""

from __future__ import annotations

import logging
from dataclasses import dataclass

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
    """What a TNEF stream held. ``readable=False`` with ``detail`` when it could not be decoded."""

    readable: bool
    files: list[TnefFile]
    body: str = ""
    detail: str | None = None


def _name_text(value: object) -> str:
    if isinstance(value, bytes):
        return decode_raw(value).strip("\x00").strip()
    if isinstance(value, str):
        return value.strip("\x00").strip()
    return ""


def unpack_tnef(data: bytes) -> TnefResult:
    """Decode a TNEF stream (MS-OXTNEF) with ``tnefparse``.

    Returns each attachment with its long file name (falling back to the 8.3 name, then
    ``attachment-N.bin``) and the plain body when present. Never raises: a stream that does not
    parse gives ``readable=False``.
    """
    if not data.startswith(TNEF_SIGNATURE):
        return TnefResult(False, [], detail="not a TNEF stream (bad signature)")
    try:
        from tnefparse import TNEF

        tnef = TNEF(data)
        files: list[TnefFile] = []
        for i, att in enumerate(tnef.attachments, 1):
            name = ""
            try:
                long_names = [a.data for a in att.mapi_attrs if a.name == 0x3707]  # PR_ATTACH_LONG_FILENAME
                name = _name_text(long_names[0]) if long_names else ""
            except Exception:  # noqa: BLE001 - tnefparse raises many kinds on bad input
                name = ""
            name = name or _name_text(getattr(att, "_name", b"")) or f"attachment-{i}.bin"
            payload = att.data if isinstance(att.data, bytes) else bytes(att.data or b"")
            files.append(TnefFile(name, payload))
        body = tnef.body
        body_text = _name_text(body) if body else ""
    except Exception as exc:  # noqa: BLE001 - library errors translated once, here
        log.info("TNEF stream not readable: %s", exc)
        return TnefResult(False, [], detail=f"TNEF stream not readable: {type(exc).__name__}: {exc}"[:300])
    if not files and not body_text and not tnef.htmlbody:
        return TnefResult(False, [], detail="TNEF stream holds no attachment and no body")
    return TnefResult(True, files, body=body_text)
