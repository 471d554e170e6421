"""Decoding helpers for Chinese mail: charset labels, raw 8-bit names, RFC 2047 words, RFC 2231 values."""

from __future__ import annotations

import base64
import binascii
import codecs
import re

# Labels that Chinese clients put on GB18030 text. GB2312 and GBK are subsets of GB18030, and
# senders often label GBK (or GB18030) text "gb2312"; reading every one of them as GB18030 decodes
# characters outside GB2312 such as 喆, 镕, 堃 (WHATWG Encoding Standard does the same for gbk).
_GB_LABELS: frozenset[str] = frozenset(
    {"gb2312", "gb_2312", "gb_2312-80", "gb2312-80", "gbk", "x-gbk", "cp936", "ms936", "windows-936",
     "euc-cn", "euccn", "x-euc-cn", "csgb2312", "chinese", "iso-ir-58", "gb18030", "gb-18030", "hz-gb-2312"}
)
# Labels that are really a superset in practice (WHATWG): decoding with the superset never hurts.
_SUPERSETS: dict[str, str] = {
    "us-ascii": "utf-8", "ascii": "utf-8", "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "big5": "big5hkscs", "x-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949", "euc-kr": "cp949",
    "shift_jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "unicode-1-1-utf-7": "utf-7", "utf8": "utf-8",
}


def normalize_charset(label: str | None) -> str | None:
    """The Python codec name to use for a MIME charset label, or ``None`` when unknown/empty.

    Any gb2312/gbk label maps to ``"gb18030"`` (see ``_GB_LABELS``); an RFC 2231 language suffix
    (``utf-8*zh``) and quotes are dropped.
    """
    if not label:
        return None
    name = label.strip().strip("\"'").split("*", 1)[0].strip().lower()
    if not name:
        return None
    if name in _GB_LABELS or name.startswith("gb2312") or name.startswith("gbk"):
        return "gb18030"
    name = _SUPERSETS.get(name, name)
    try:
        codec = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if codec.name in ("gb2312", "gbk", "hz"):
        return "gb18030"
    return codec.name


def decode_raw(data: bytes) -> str:
    """Text from undeclared bytes: ASCII, else strict UTF-8, else strict GB18030.

    This is the rule for raw 8-bit header values and archive member names (case C01): what is
    valid UTF-8 is UTF-8, anything else from a Chinese sender is GB18030. Bytes valid in neither
    decode as UTF-8 with U+FFFD for the bad bytes only.
    """
    for codec in ("utf-8", "gb18030"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace")


def decode_text(data: bytes, charset: str | None) -> str:
    """Text from bytes labelled ``charset`` (a MIME label, may be wrong or unknown).

    Tries the declared charset strictly, then ``decode_raw``; only when nothing decodes cleanly
    is the declared charset (or UTF-8) used with U+FFFD for the bad bytes.
    """
    codec = normalize_charset(charset)
    if codec:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError, ValueError):
            pass
    for fallback in ("utf-8", "gb18030"):
        try:
            return data.decode(fallback)
        except UnicodeDecodeError:
            continue
    try:
        return data.decode(codec or "utf-8", "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


def str_to_bytes(value: str) -> bytes:
    """The bytes behind a header string read by ``email`` from bytes.

    Raw 8-bit bytes arrive as lone surrogates (``surrogateescape``), RFC 2231 values as Latin-1
    characters; both go back to their byte values. Other characters are UTF-8 encoded.
    """
    out = bytearray()
    for ch in value:
        o = ord(ch)
        if o < 0x100:
            out.append(o)
        elif 0xDC80 <= o <= 0xDCFF:
            out.append(o - 0xDC00)
        else:
            out += ch.encode("utf-8", "surrogatepass")
    return bytes(out)


def has_raw_bytes(value: str) -> bool:
    """True when a header string holds undecoded 8-bit bytes (surrogate escapes)."""
    return any(0xDC80 <= ord(ch) <= 0xDCFF for ch in value)


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def _word_bytes(encoding: str, text: str) -> bytes | None:
    """The bytes of one encoded word's text, or None when it is not decodable."""
    if encoding in "bB":
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
        cleaned += "=" * (-len(cleaned) % 4)
        if len(cleaned) % 4 == 1:  # one stray symbol cannot be base64; drop it (broken mailers)
            cleaned = cleaned[:-1]
        try:
            return base64.b64decode(cleaned)
        except (binascii.Error, ValueError):
            return None
    raw = text.replace("_", " ")
    return re.sub(
        r"=([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), raw
    ).encode("latin-1", "replace")


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words in a header value (also inside quoted parameters).

    Adjacent encoded words in the same charset are joined as bytes before decoding, so a
    multi-byte character cut across two words decodes whole (RFC 2047 section 5 forbids the cut,
    Foxmail and others do it anyway; case C20). Whitespace between adjacent words is dropped
    (RFC 2047 section 6.2). Raw 8-bit bytes outside words are decoded with ``decode_raw``.
    Never raises.
    """
    if has_raw_bytes(value):
        value = decode_raw(str_to_bytes(value))
    if "=?" not in value:
        return value
    out: list[str] = []
    run = bytearray()
    run_charset: str | None = None
    prev_was_word = False
    pos = 0
    for m in _ENCODED_WORD.finditer(value):
        between = value[pos : m.start()]
        pos = m.end()
        data = _word_bytes(m.group(2), m.group(3))
        if data is None:
            if run_charset is not None:
                out.append(decode_text(bytes(run), run_charset))
            run, run_charset, prev_was_word = bytearray(), None, False
            out.append(between + m.group(0))
            continue
        charset = normalize_charset(m.group(1)) or "unknown"
        joins = prev_was_word and not between.strip()
        if not (joins and charset == run_charset):
            if run_charset is not None:
                out.append(decode_text(bytes(run), run_charset))
            run, run_charset = bytearray(), charset
            if not joins:
                out.append(between)
        run += data
        prev_was_word = True
    if run_charset is not None:
        out.append(decode_text(bytes(run), run_charset))
    out.append(value[pos:])
    return "".join(out)


def decode_rfc2231(charset: str | None, value: str) -> str:
    """Decode an RFC 2231 parameter value already joined from its sections (``email.utils``
    joins ``name*0*``, ``name*1*``… and percent-decodes them to Latin-1 characters).

    The charset comes from section 0 only (RFC 2231 section 4.1); the joined bytes are decoded
    as a whole, so characters cut across sections decode right (case C03). A missing charset
    means undeclared bytes (``decode_raw``).
    """
    data = str_to_bytes(value)
    if charset:
        return decode_text(data, charset)
    return decode_raw(data)
