"""Decoding helpers for Chinese mail: charset labels, raw 8-bit names, RFC 2047 words, RFC 2231 values."""

from __future__ import annotations

import base64
import binascii
import codecs
import os
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
    # WHATWG Encoding Standard labels that Python's codec registry does not know: the visual/
    # logical Hebrew and Arabic variants decode as the base ISO 8859 part (RFC 1555, RFC 1556).
    "iso-8859-8-i": "iso8859-8", "iso-8859-8-e": "iso8859-8", "csiso88598i": "iso8859-8",
    "csiso88598e": "iso8859-8", "logical": "iso8859-8", "visual": "iso8859-8",
    "iso-8859-6-i": "iso8859-6", "iso-8859-6-e": "iso8859-6", "csiso88596i": "iso8859-6",
    "csiso88596e": "iso8859-6", "windows-874": "cp874", "dos-874": "cp874", "x-cp1250": "cp1250",
    "x-cp1251": "cp1251", "x-cp1253": "cp1253", "x-cp1254": "cp1254", "x-cp1255": "cp1255",
    "x-cp1256": "cp1256", "x-cp1257": "cp1257", "x-cp1258": "cp1258", "x-mac-roman": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic", "x-mac-ukrainian": "mac-cyrillic", "unicode-1-1-utf-8": "utf-8",
    "unicode11utf8": "utf-8", "unicode20utf8": "utf-8", "x-unicode20utf8": "utf-8",
    "ks_c_5601-1989": "cp949", "windows-949": "cp949", "x-euc-jp": "euc_jp", "ms_kanji": "cp932",
    "windows-31j": "cp932", "csshiftjis": "cp932",
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


def decode_os_name(name: str) -> str:
    """A file or folder name as the file system gave it, as text.

    Python decodes names with the locale's codec (UTF-8) and keeps bytes that do not decode as
    lone surrogates (PEP 383), which cannot be stored, logged or mailed. Such a name (what
    ``unzip`` of a Windows zip or a Samba share in the wrong code page leaves: GBK bytes) is read
    from its bytes by :func:`decode_raw`. Only for display and records; the file is opened by
    its original name.
    """
    if name.isascii():
        return name
    return decode_raw(os.fsencode(name))


# Byte-order marks of UTF-16 and UTF-32 (either order).
_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _strict(data: bytes, codec: str) -> str:
    """``data`` decoded strictly with ``codec``; raises UnicodeDecodeError (or LookupError).

    UTF-16 and UTF-32 without a byte-order mark are big-endian (RFC 2781 section 4.3; Python
    would take the machine's order). ISO-2022-JP that Python's codec rejects is read with the
    WHATWG JIS X 0208 table, which holds the NEC row 13 symbols (①, №, ㈱) that Japanese
    Windows mailers send.
    """
    if codec in ("utf-16", "utf-32") and not data.startswith(_BOMS):
        codec += "-be"
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        if codec.startswith("iso2022_jp"):
            return _iso2022jp_windows(data)
        raise


def _iso2022jp_windows(data: bytes) -> str:
    """ISO-2022-JP (RFC 1468) through CP932, which is JIS X 0208 plus the NEC and IBM rows:
    each two-byte JIS code is moved to its Shift_JIS code (WHATWG Encoding Standard 13.2).
    Raises UnicodeDecodeError on an escape or a code it does not know."""
    out = bytearray()
    mode = "ascii"
    i = 0
    while i < len(data):
        b = data[i]
        if b == 0x1B:
            seq = data[i + 1 : i + 3]
            if seq in (b"(B", b"(J"):
                mode = "ascii"
            elif seq == b"(I":
                mode = "katakana"
            elif seq in (b"$@", b"$B"):
                mode = "jis"
            else:
                raise UnicodeDecodeError("iso2022_jp", data, i, i + 3, "unsupported escape")
            i += 3
            continue
        if b in (0x0A, 0x0D) or mode == "ascii":
            if b > 0x7F:
                raise UnicodeDecodeError("iso2022_jp", data, i, i + 1, "8-bit byte")
            out.append(b)
            i += 1
            continue
        if mode == "katakana":
            if not 0x21 <= b <= 0x5F:
                raise UnicodeDecodeError("iso2022_jp", data, i, i + 1, "not a katakana code")
            out.append(b + 0x80)
            i += 1
            continue
        if i + 1 >= len(data) or not (0x21 <= b <= 0x7E and 0x21 <= data[i + 1] <= 0x7E):
            raise UnicodeDecodeError("iso2022_jp", data, i, i + 2, "not a JIS X 0208 code")
        j1, j2 = b, data[i + 1]
        s1 = ((j1 + 1) >> 1) + (0x70 if j1 <= 0x5E else 0xB0)
        s2 = j2 + (0x1F + (j2 >= 0x60) if j1 & 1 else 0x7E)
        out += bytes((s1, s2))
        i += 2
    return out.decode("cp932")


def decode_text(data: bytes, charset: str | None) -> str:
    """Text from bytes labelled ``charset`` (a MIME label, may be wrong or unknown).

    Tries the declared charset strictly (UTF-16/32 without a BOM as big-endian, RFC 2781), then
    ``decode_raw``; only when nothing decodes cleanly is the declared charset (or UTF-8) used
    with U+FFFD for the bad bytes.
    """
    codec = normalize_charset(charset)
    if codec:
        try:
            return _strict(data, codec)
        except (UnicodeDecodeError, LookupError, ValueError):
            pass
    for fallback in ("utf-8", "gb18030"):
        try:
            return data.decode(fallback)
        except UnicodeDecodeError:
            continue
    if codec in ("utf-16", "utf-32") and not data.startswith(_BOMS):
        codec += "-be"
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


# An RFC 2047 encoded word, read leniently: its text may hold spaces, '?' and raw 8-bit bytes
# (mikel/mail and MimeKit accept these; the shortest text that ends in "?=" is taken, and it never
# runs into the next word's "=?").
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?((?:(?!=\?[^?\s]+\?[bBqQ]\?)[^\r\n]){0,998}?)\?=")
_QP_HEX = re.compile(r"=([0-9A-Fa-f]{2})")


def _word_bytes(encoding: str, text: str) -> bytes | None:
    """The bytes of one encoded word's text, or None when it is not decodable.

    Raw 8-bit bytes inside the text (surrogate escapes) are kept as the bytes they are, in the
    word's charset; a stray ``=`` at the end of a Q word (a soft line break left behind) is
    dropped.
    """
    if encoding in "bB":
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
        if len(cleaned) % 4 == 1:  # cannot be base64: the word stays as it was sent
            return None
        cleaned += "=" * (-len(cleaned) % 4)
        try:
            return base64.b64decode(cleaned)
        except (binascii.Error, ValueError):
            return None
    raw = text.replace("_", " ")
    if raw.endswith("=") and not _QP_HEX.search(raw[-3:]):
        raw = raw[:-1]
    out = bytearray()
    for i, piece in enumerate(_QP_HEX.split(raw)):
        out += bytes((int(piece, 16),)) if i % 2 else str_to_bytes(piece)
    return bytes(out)


def _plain(text: str) -> str:
    return decode_raw(str_to_bytes(text)) if has_raw_bytes(text) else text


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words in a header value (also inside quoted parameters).

    Adjacent encoded words in the same charset are joined as bytes before decoding, so a
    multi-byte character cut across two words decodes whole (RFC 2047 section 5 forbids the cut,
    Foxmail and others do it anyway; case C20). Whitespace between adjacent words is dropped
    (RFC 2047 section 6.2). Raw 8-bit bytes inside a word belong to the word's charset (a GBK
    name sent unencoded inside ``=?gb2312?Q?…?=``); outside words they are decoded with
    ``decode_raw``. Sloppy words (spaces or ``?`` in the text, a stray ``=`` at the end) are
    decoded too. Never raises.
    """
    if "=?" not in value:
        return _plain(value)
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
            out.append(_plain(between + m.group(0)))
            continue
        charset = normalize_charset(m.group(1)) or "unknown"
        joins = prev_was_word and not between.strip()
        if not (joins and charset == run_charset):
            if run_charset is not None:
                out.append(decode_text(bytes(run), run_charset))
            run, run_charset = bytearray(), charset
            if not joins:
                out.append(_plain(between))
        run += data
        prev_was_word = True
    if run_charset is not None:
        out.append(decode_text(bytes(run), run_charset))
    out.append(_plain(value[pos:]))
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
