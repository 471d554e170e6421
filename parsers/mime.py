"""Read one mail message (raw RFC 5322 bytes) into ``MailFacts``: headers, bodies, links, attachments."""

from __future__ import annotations

import binascii
import email
import email.parser
import hashlib
import io
import logging
import mimetypes
import quopri
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from email.generator import BytesGenerator
from email.message import Message
from email.policy import Compat32
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

from parsers.base64_bodies import CURRENT, MIN_BYTES, DecodedBodies, decode_aligned
from parsers.charsets import (
    decode_raw,
    decode_rfc2231,
    decode_text,
    decode_words,
    has_raw_bytes,
    str_to_bytes,
)
from parsers.facts import Attachment, IntakeProblem, MailFacts
from parsers.message_id import normalise_message_id
from parsers.tnef import unpack_tnef

log = logging.getLogger("intake.mime")

MAX_PARTS = 2000  # MIME parts walked per message, forwarded ones included
MAX_DEPTH = 10  # multipart / message/rfc822 nesting levels
SPILL_KEEP_BYTES = 1_000_000  # spilled attachments smaller than this keep their bytes in memory
READ_BLOCK = 1024 * 1024  # bytes fed to the parser at a time (parse_message_file)
# A header field's raw text read at most (a 40 MB Subject once made a 68 MB reply and +218 MB of
# database); the decoded Subject is cut again to MAX_SUBJECT_CHARS, ending with "…".
MAX_HEADER_CHARS = 16 * 1024
MAX_SUBJECT_CHARS = 500

# Hosts of cloud drives that applicants share large videos from; a bare ``pan.baidu.com/s/…``
# without a scheme is still collected as a link.
CLOUD_DRIVE_HOSTS: tuple[str, ...] = (
    "pan.baidu.com", "yun.baidu.com", "jianguoyun.com", "www.jianguoyun.com", "www.aliyundrive.com",
    "www.alipan.com", "share.weiyun.com", "cloud.189.cn", "pan.xunlei.com", "caiyun.139.com",
    "yun.139.com", "pan.quark.cn", "wenshushu.cn", "www.wenshushu.cn", "115.com", "lanzoui.com",
    "www.lanzoui.com", "wx.mail.qq.com", "mail.qq.com", "dl.sendanywhere.com",
)

_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_CONTAINER_TYPES = frozenset({"message/rfc822", "message/global"})


class _RawHeaders(Compat32):
    """compat32, but header values come back exactly as read (raw 8-bit bytes as surrogate
    escapes) instead of ``Header`` objects that replace them with U+FFFD: ``charsets`` decodes them."""

    def header_fetch_parse(self, name, value):  # type: ignore[override]
        return value


_POLICY = _RawHeaders()


def _unfold(value: str) -> str:
    # RFC 5322 section 2.2.3: unfolding removes the CRLF before folding whitespace.
    return re.sub(r"\r?\n(?=[ \t])", "", str(value)).strip()


def _header_text(value: str) -> str:
    return decode_words(_unfold(value))


def _addresses(raw: str | None) -> list[tuple[str, str]]:
    """(decoded display name, lower-case address) pairs from a raw address header."""
    if not raw:
        return []
    value = _unfold(raw)
    if has_raw_bytes(value):
        value = decode_raw(str_to_bytes(value))
    try:
        pairs = getaddresses([value])
    except Exception:  # noqa: BLE001 - email.utils raises on some hostile inputs
        return []
    out: list[tuple[str, str]] = []
    for name, addr in pairs:
        if not name and not addr:
            continue
        if not name and (m := _NAME_BARE_ADDRESS.fullmatch(addr.strip())):
            # ``=?GBK?B?…?= zhangsan@163.com``: a display name and an address without <> (RFC 5322
            # wants them, many webmail forms do not add them); email.utils reads it as one address.
            name, addr = m.group(1), m.group(2)
        out.append((decode_words(name).strip(), addr.strip().lower()))
    return out


_NAME_BARE_ADDRESS = re.compile(r"(.*\S)\s+<?([^\s<>@]+@[^\s<>@]+?)>?")


# --- parameters and names ----------------------------------------------------------------------


def _params(part: Message, header: str) -> list[tuple[str, object]]:
    try:
        return list(part.get_params(header=header, unquote=True) or [])[1:]
    except Exception:  # noqa: BLE001 - hostile parameter syntax
        return []


def _param_values(part: Message, key: str, header: str) -> list[str]:
    """Decoded values of one parameter, RFC 2231 (``key*``) forms first (RFC 2231 section 4.1)."""
    encoded: list[str] = []
    plain: list[str] = []
    for k, v in _params(part, header):
        if str(k).strip().lower() != key:
            continue
        if isinstance(v, tuple):
            charset, _lang, value = (list(v) + ["", "", ""])[:3]
            encoded.append(decode_rfc2231(charset or None, str(value or "")))
        else:
            plain.append(decode_words(str(v)))
    return [x for x in encoded + plain if x.strip()]


def _is_placeholder(name: str) -> bool:
    """A name whose stem is only underscores or question marks: what some clients put in ``name=``
    when they could not encode the real one (case C03)."""
    stem = name.rsplit(".", 1)[0]
    return bool(stem) and set(stem) <= {"_", "?", " "}


def _clean_name(name: str) -> str:
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().strip('"').strip()
    # Some clients send the sender's full local path; the file name is the last component.
    name = re.split(r"[\\/]", name)[-1].strip()
    return name


def _part_name(part: Message) -> str:
    names = _param_values(part, "filename", "content-disposition") + _param_values(part, "name", "content-type")
    # ``file=`` is no standard parameter, but some old mailers name attachments so (enmime reads it).
    names += _param_values(part, "file", "content-type") + _param_values(part, "file", "content-disposition")
    names = [_clean_name(n) for n in names]
    names = [n for n in names if n]
    good = [n for n in names if not _is_placeholder(n)]
    return (good or names or [""])[0]


def _content_id(part: Message) -> str | None:
    cid = part.get("content-id")
    if not cid:
        return None
    cid = _unfold(str(cid)).strip().strip("<>").strip()
    return cid or None


def _disposition(part: Message) -> str:
    value = part.get("content-disposition")
    if not value:
        return ""
    return _unfold(str(value)).split(";", 1)[0].strip().lower()


# --- payloads ----------------------------------------------------------------------------------


def _b64_lenient(data: bytes) -> bytes:
    cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    cleaned += b"=" * (-len(cleaned) % 4)
    try:
        return binascii.a2b_base64(cleaned)
    except (binascii.Error, ValueError):
        return b""


def _b64_text(payload: str) -> bytes:
    try:
        return binascii.a2b_base64(payload)
    except (binascii.Error, ValueError):  # bad padding, non-ASCII text
        # One character too many or too few (a cut line, a stray "?=" after the padding):
        # what decodes is kept, as other readers do (RFC 2045 section 6.8 says to ignore
        # characters outside the alphabet).
        return _b64_lenient(payload.encode("ascii", "ignore"))


def _payload_bytes(part: Message, *, last: bool = False) -> bytes:
    """The part's body with its Content-Transfer-Encoding undone (RFC 2045 section 6).

    ``last``: no one reads this part's body again: a body decoded while read is handed over
    (a ``bytearray``, not copied; parsers/base64_bodies.py)."""
    # Stripped: ``_blocks`` reads ``base64 `` (white space before the line break) as base64 too.
    if not part.is_multipart() and str(part.get("content-transfer-encoding", "")).strip().lower() == "base64":
        # Straight from the parsed text: get_payload(decode=True) encodes it to bytes, splits and
        # joins its lines and pads a copy (≈ 5 × the body in memory for a 45 MB video). When this
        # decodes at all, the bytes are the same; otherwise the lenient path below decides.
        payload = part.get_payload()
        if isinstance(payload, str):
            bodies = CURRENT.get()
            found = bodies.body(payload) if bodies is not None else None
            if found is not None:  # decoded while read (parsers/base64_bodies.py): the rest follows
                if last:
                    taken = bodies.take(payload, _b64_text(found[1]))
                    # Kept in memory (under SPILL_KEEP_BYTES): plain bytes; larger: handed over.
                    return taken if taken is not None and len(taken) >= SPILL_KEEP_BYTES else bytes(taken or b"")  # type: ignore[return-value]
                return b"".join((found[0], _b64_text(found[1])))  # one copy of the bytes
            return _b64_text(payload)
    bodies = CURRENT.get()
    payload = part.get_payload()
    if bodies is not None and isinstance(payload, str) and (text := bodies.text(payload)) is not None:
        # ``_blocks`` decoded a body the parser does not read as base64 (a second, different
        # Content-Transfer-Encoding header): the parser's reading of its text, not the placeholder.
        part.set_payload(text)
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken base64/qp in the wild
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return str_to_bytes(payload) if isinstance(payload, str) else b""


def _flatten(msg: Message) -> bytes:
    buf = io.BytesIO()
    BytesGenerator(buf, mangle_from_=False, policy=_POLICY).flatten(msg)
    data = buf.getvalue()
    bodies = CURRENT.get()
    if bodies is not None:  # bodies decoded while read go back to base64 text
        data = bodies.restore(data)
    return data[1:] if not msg.keys() and data.startswith(b"\n") else data


def _open_container(part: Message) -> Message | None:
    """The mail inside a message/rfc822 part (or an attached .eml), or None.

    With 7bit/8bit the parser already split it; with base64 or quoted-printable (against RFC 2046
    section 5.2.1, but Foxmail and Outlook do it, case C06) the parser saw only encoded text, so
    it is flattened back, decoded and parsed.
    """
    cte = _unfold(str(part.get("content-transfer-encoding", ""))).lower()
    payload = part.get_payload()
    if isinstance(payload, list):
        if not payload or not isinstance(payload[0], Message):
            return None
        if cte not in ("base64", "quoted-printable"):
            return payload[0] if _is_mail(payload[0]) else None
        text = _flatten(payload[0])
        data = _b64_lenient(text) if cte == "base64" else quopri.decodestring(text)
    else:
        data = _payload_bytes(part)
    if not data.strip():
        return None
    inner = email.message_from_bytes(data, policy=_POLICY)
    return inner if _is_mail(inner) else None


def _is_mail(msg: Message) -> bool:
    """True when a parsed message has at least one header: text that does not begin with a
    header is no mail, whatever its Content-Type says (it stays an attachment)."""
    return bool(msg.keys())


def _container_bytes(part: Message) -> bytes:
    """The body of a container part that is kept as an attachment (not a mail after all)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return b"".join(_flatten(p) for p in payload if isinstance(p, Message))
    return _payload_bytes(part)


# --- HTML and links ----------------------------------------------------------------------------


class _HtmlText(HTMLParser):
    """Visible text of an HTML body plus the targets of its links and images."""

    _BLOCK = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        if tag in self._BLOCK:
            self.parts.append("\n")
        for key, value in attrs:
            if value and key == "href":
                self.hrefs.append(value.strip())
            elif value and key in ("src", "background"):
                self.srcs.append(value.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self._skip:
            self._skip -= 1
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        joined = "".join(self.parts).replace("\xa0", " ")
        lines = [re.sub(r"[ \t]+", " ", line).strip() for line in joined.splitlines()]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> tuple[str, list[str], list[str]]:
    """(visible text, link targets, image sources) of an HTML body. Never raises."""
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient but not total
        pass
    return parser.text(), parser.hrefs, parser.srcs


_URL = re.compile(r"(?:https?|ftp)://[^\s<>\"'，。；、！？）】」》\u3000]+", re.IGNORECASE)
_BARE_CLOUD = re.compile(
    r"(?<![\w./-])(?:" + "|".join(re.escape(h) for h in CLOUD_DRIVE_HOSTS) + r")/[^\s<>\"'，。；、！？）】」》\u3000]*",
    re.IGNORECASE,
)


def find_links(text: str) -> list[str]:
    """URLs in plain text, in order, trailing punctuation dropped; bare cloud-drive addresses
    (``pan.baidu.com/s/1x…``) get ``https://``."""
    found: list[str] = []
    for m in _URL.finditer(text):
        found.append(m.group(0).rstrip(".,;:!?)]}'\""))
    for m in _BARE_CLOUD.finditer(text):
        found.append("https://" + m.group(0).rstrip(".,;:!?)]}'\""))
    return found


# --- the walk ----------------------------------------------------------------------------------


class _Walk:
    """State of one message walk: leaves in document order and what was found on the way."""

    def __init__(self) -> None:
        self.leaves: list[tuple[Message, bool]] = []  # (part, inside a forwarded message)
        self.problems: list[IntakeProblem] = []
        self.inner_from: tuple[str, str] | None = None
        self.parts = 0
        self._flagged: set[str] = set()

    def flag(self, kind: str, where: str, detail: str) -> None:
        if kind not in self._flagged:
            self._flagged.add(kind)
            self.problems.append(IntakeProblem(kind, where, detail))

    def run(self, root: Message) -> None:
        # Iterative depth-first walk (no recursion: hostile nesting cannot exhaust the stack).
        stack: list[tuple[Message, int, bool]] = [(root, 0, False)]
        while stack:
            part, depth, forwarded = stack.pop()
            self.parts += 1
            if self.parts > MAX_PARTS:
                self.flag("mail_too_many_parts", "message", f"more than {MAX_PARTS} MIME parts; the rest were not read")
                return
            if depth > MAX_DEPTH:
                self.flag("mail_too_deep", "message", f"MIME nesting deeper than {MAX_DEPTH} levels was not read")
                continue
            ctype = part.get_content_type().lower()
            if ctype.startswith("multipart/"):
                children = part.get_payload()
                if isinstance(children, list):
                    stack.extend((c, depth + 1, forwarded) for c in reversed(children) if isinstance(c, Message))
                    continue
            if self._is_container(part, ctype):
                inner = None
                try:
                    inner = _open_container(part)
                except Exception as exc:  # noqa: BLE001 - a broken forwarded mail stays an attachment
                    log.info("forwarded message not readable: %s", exc)
                if inner is not None:
                    if self.inner_from is None:
                        pairs = _addresses(inner.get("from"))
                        if pairs:
                            self.inner_from = pairs[0]
                    stack.append((inner, depth + 1, True))
                    continue
            elif part.get_content_maintype().lower() == "message":
                continue  # delivery-status, disposition-notification, partial: not materials
            self.leaves.append((part, forwarded))

    @staticmethod
    def _is_container(part: Message, ctype: str) -> bool:
        if ctype in _CONTAINER_TYPES:
            return True
        if part.is_multipart():
            return False
        name = _part_name(part).lower()
        return name.endswith(".eml") and ctype in ("application/octet-stream", "text/plain", "application/eml")


def _is_body(part: Message, name: str) -> bool:
    return not name and part.get_content_maintype().lower() == "text" and _disposition(part) != "attachment"


def _make_attachment(name: str, ctype: str, data: bytes, *, cid: str | None, inline: bool, forwarded: bool) -> Attachment:
    return Attachment(
        name=name, content_type=ctype, data=data, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
        content_id=cid, inline=inline, from_forwarded=forwarded,
    )


def _fallback_name(ctype: str, n: int) -> str:
    ext = mimetypes.guess_extension(ctype) or ".bin"
    return f"attachment-{n}{ext}"


Spill = Callable[[Attachment], None]


class _SpillFailed(Exception):
    """``spill`` raised (the original is the cause): not the mail's fault, so it propagates."""


def _kept(att: Attachment, spill: Spill | None) -> Attachment:
    if spill is not None:
        try:
            spill(att)
        except Exception as exc:
            raise _SpillFailed() from exc
        if att.size >= SPILL_KEEP_BYTES:
            att.data = b""
    return att


def _collect(
    walk: _Walk, spill: Spill | None = None
) -> tuple[list[Attachment], list[str], list[str], list[IntakeProblem]]:
    """Attachments, plain bodies, links and problems from the walked leaves.

    Inline images whose Content-ID an HTML body references (``cid:…``) are left out: they are
    part of the letter, not materials (RFC 2392). Each attachment part's text is released once
    decoded; ``spill`` sees each attachment as soon as it is decoded (see ``parse_message``).
    """
    plain: list[str] = []
    html_texts: list[str] = []
    links: list[str] = []
    problems: list[IntakeProblem] = []
    html_refs: set[str] = set()
    named: list[tuple[Message, bool, str]] = []
    for part, forwarded in walk.leaves:
        name = _part_name(part)
        if _is_body(part, name):
            subtype = part.get_content_subtype().lower()
            if subtype not in ("plain", "html"):
                continue
            text = decode_text(_payload_bytes(part), part.get_content_charset())
            if subtype == "html":
                visible, hrefs, srcs = html_to_text(text)
                html_texts.append(visible)
                links.extend(h for h in hrefs if re.match(r"(?:https?|ftp)://", h, re.I))
                links.extend(find_links(visible))
                html_refs.update(s[4:].strip("<>").lower() for s in srcs + hrefs if s.lower().startswith("cid:"))
            else:
                plain.append(text)
                links.extend(find_links(text))
            continue
        named.append((part, forwarded, name))

    attachments: list[Attachment] = []
    for part, forwarded, name in named:
        ctype = part.get_content_type().lower()
        cid = _content_id(part)
        disposition = _disposition(part)
        if cid and cid.lower() in html_refs and disposition != "attachment":
            continue
        data = _container_bytes(part) if ctype in _CONTAINER_TYPES else _payload_bytes(part, last=True)
        part.set_payload("")  # the encoded text is not needed again (it is the mail's bulk)
        if ctype in _TNEF_TYPES or name.lower() == "winmail.dat":
            tnef = unpack_tnef(bytes(data))  # read further: plain bytes (a handed-over body is a bytearray)
            if tnef.readable:
                room = max(0, MAX_PARTS - len(attachments))  # a winmail.dat's files count as parts too
                if len(tnef.files) > room:
                    problems.append(IntakeProblem(
                        "mail_too_many_parts", name or "winmail.dat",
                        f"more than {MAX_PARTS} attachments with those in winmail.dat; the rest were not read"))
                for f in tnef.files[:room]:
                    attachments.append(_kept(_make_attachment(
                        _clean_name(f.name) or _fallback_name("application/octet-stream", len(attachments) + 1),
                        mimetypes.guess_type(f.name)[0] or "application/octet-stream", f.data,
                        cid=None, inline=False, forwarded=forwarded,
                    ), spill))
                for cut in tnef.truncated:
                    problems.append(IntakeProblem(
                        "mail_tnef_truncated", cut, "the winmail.dat stream ends before this attachment's declared length"
                    ))
                if tnef.body:
                    plain.append(tnef.body)
                    links.extend(find_links(tnef.body))
                continue
            problems.append(IntakeProblem("mail_tnef_unreadable", name or "winmail.dat", tnef.detail or ""))
        attachments.append(_kept(_make_attachment(
            name or _fallback_name(ctype, len(attachments) + 1), ctype, data,
            cid=cid, inline=False, forwarded=forwarded,
        ), spill))
        data = b""
    body = "\n\n".join(t.strip() for t in plain if t.strip()) or "\n\n".join(t for t in html_texts if t)
    return attachments, [body], list(dict.fromkeys(links)), problems


def _headers(msg: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in msg.items():
        k = str(key).strip().lower()[:200]
        if k and k not in out:
            out[k] = _header_text(str(value)[:MAX_HEADER_CHARS])
    if len(out.get("subject", "")) > MAX_SUBJECT_CHARS:
        out["subject"] = out["subject"][: MAX_SUBJECT_CHARS - 1] + "…"
    return out


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except Exception:  # noqa: BLE001 - unparseable dates are common in spam and broken mailers
        return None


def _capped_header(msg: Message, name: str) -> str | None:
    value = msg.get(name)
    return None if value is None else str(value)[:MAX_HEADER_CHARS]


def _facts_from_headers(msg: Message) -> MailFacts:
    headers = _headers(msg)
    sender = _addresses(_capped_header(msg, "from"))
    reply_to = _addresses(_capped_header(msg, "reply-to"))
    msgid = normalise_message_id(headers.get("message-id"))
    return MailFacts(
        subject=headers.get("subject", ""),
        from_addr=sender[0][1] if sender else "",
        from_name=sender[0][0] if sender else "",
        to=[a for _, a in _addresses(_capped_header(msg, "to")) if a],
        cc=[a for _, a in _addresses(_capped_header(msg, "cc")) if a],
        reply_to=reply_to[0][1] if reply_to else None,
        message_id=msgid,
        in_reply_to=headers.get("in-reply-to", "").strip() or None,
        references=re.findall(r"<[^<>\s]+>", headers.get("references", "")),
        date=_date(headers.get("date")),
        body_text="",
        links=[],
        attachments=[],
        headers=headers,
    )


def _empty_facts() -> MailFacts:
    return MailFacts(
        subject="", from_addr="", from_name="", to=[], cc=[], reply_to=None, message_id=None,
        in_reply_to=None, references=[], date=None, body_text="", links=[], attachments=[], headers={},
    )


def parse_message(raw: bytes, *, spill: Spill | None = None) -> MailFacts:
    """Parse one mail message from its raw bytes (RFC 5322 / MIME, RFC 2045-2047, 2231).

    Returns ``MailFacts``; never raises: anything that cannot be read becomes an
    ``IntakeProblem`` in ``problems`` (kinds ``mail_unreadable``, ``mail_too_deep``,
    ``mail_too_many_parts``, ``mail_tnef_unreadable``, ``mail_tnef_truncated``).

    Attachments are every non-multipart part that has a name, or that is not text, in document
    order; each keeps the exact decoded bytes (``sha256`` of ``data``). Inline images referenced
    by an HTML body through ``cid:`` are left out (they are part of the letter, not materials), so
    ``inline`` is always False; other parts with ``Content-Disposition: inline`` (Apple Mail sends
    PDFs so) are ordinary attachments. A forwarded
    mail (``message/rfc822``, any transfer encoding, or an attached ``.eml``) is opened: its files
    become attachments once with ``from_forwarded=True``, the container itself is not an
    attachment, and its From fills ``inner_from_addr``/``inner_from_name``. TNEF
    (``winmail.dat``) is unpacked. Nesting is capped at ``MAX_DEPTH`` levels and ``MAX_PARTS``
    parts.

    ``spill(attachment)`` is called with each attachment as soon as its bytes are decoded, in
    the order of ``attachments`` (write it to disk there); afterwards an attachment of
    ``SPILL_KEEP_BYTES`` or more keeps ``name``, ``size`` and ``sha256`` but its ``data`` is
    ``b""``, so a mail's videos are never all in memory at once. Exceptions of ``spill`` propagate.
    """
    bodies = DecodedBodies()
    token = CURRENT.set(bodies)
    try:
        parser = email.parser.BytesFeedParser(policy=_POLICY)
        try:
            for block in _blocks(io.BytesIO(bytes(raw)), bodies):
                parser.feed(block)
            msg = parser.close()
        except Exception as exc:  # noqa: BLE001 - includes RecursionError from hostile nesting
            return _unreadable(raw, exc)
        return _read(msg, lambda: bytes(raw)[:65536], spill)
    finally:
        CURRENT.reset(token)


def parse_message_file(path: Path, *, spill: Spill | None = None) -> MailFacts:
    """``parse_message`` of the mail in file ``path``, fed to the parser in ``READ_BLOCK`` blocks:
    the raw bytes and their decoded text are never in memory whole (a 61 MB mail). Same facts as
    ``parse_message(path.read_bytes())``. Raises OSError when the file cannot be read."""
    bodies = DecodedBodies()
    token = CURRENT.set(bodies)
    try:
        parser = email.parser.BytesFeedParser(policy=_POLICY)
        with path.open("rb") as f:
            try:
                for block in _blocks(f, bodies):
                    parser.feed(block)
                msg = parser.close()
            except Exception as exc:  # noqa: BLE001 - includes RecursionError from hostile nesting
                f.seek(0)
                return _unreadable(f.read(65536), exc)

        def head() -> bytes:
            with path.open("rb") as f:
                return f.read(65536)

        return _read(msg, head, spill)
    finally:
        CURRENT.reset(token)


_B64_RUN = re.compile(rb"(?:[A-Za-z0-9+/]{60,}(?:\r\n|\n))+")
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_CTE_BASE64 = re.compile(rb"content-transfer-encoding:[ \t]*base64[ \t]*\r?\n", re.IGNORECASE)
_BOUNDARY = re.compile(rb"""[;\s]boundary[ \t]*=[ \t]*(?:"([^"\r\n]+)"|([^\s;"]+))""", re.IGNORECASE)
_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+:|From ")
_SPACE_BEFORE_COLON = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]+:")
_PARAM_HEADERS = (b"content-type", b"content-disposition")
_PARAM_TOKEN = re.compile(rb"""[\w!#$%&'*+.^`|~-]+=""")
_PARAM_PIECE = re.compile(rb'"(?:[^"\\]|\\.)*"?|;|[ \t]+|[^ \t;"]+')
MERGED_LINE = 64 * 1024  # characters per joined base64 line (see _blocks)
MAX_HEADER_LINES = 2000  # lines of one header block held for repair (see _blocks)
MAX_HEADER_BYTES = 1024 * 1024


def _blocks(f: io.BufferedIOBase, decoded: DecodedBodies | None = None) -> Iterator[bytes]:
    """The mail in file ``f`` in blocks of about ``READ_BLOCK`` bytes, for the feed parser.

    Two things are changed on the way; neither changes what a well-formed mail says:

    - Header blocks begin at the top and after any line starting with ``--``; a blank line ends
      them. The top one and those after a boundary that a Content-Type declared are repaired by
      ``_repair_header_block``: Python's parser ends the headers at the first line that is not a
      header, so one bad line would drop every header after it.
    - The parser keeps every line of a body as a string until the part ends (≈ 130 bytes per
      76-character base64 line: 100 MB for a 45 MB video), so inside a body declared
      ``Content-Transfer-Encoding: base64`` runs of full base64 lines (60+ alphabet characters,
      no padding) are joined into lines of up to ``MERGED_LINE`` characters. Line breaks are not
      data in base64 (RFC 2045 section 6.8): the decoded bytes are the same.

    A run of base64 lines is found over the block in C (``_b64_run_end``) and its line breaks
    dropped by ``bytes.translate``; only the other lines are looked at one
    by one in Python (a 65 MB mail: ~2,000 Python steps instead of ~850,000).

    With ``decoded``, a body whose first run is ``MIN_BYTES`` or more is decoded here instead
    (``parsers/base64_bodies.py``): its runs go to ``decoded`` as bytes, the parser gets one
    placeholder line, then the characters left over and the rest of the body as text.
    """
    out = bytearray()
    base64_body = False
    head: list[bytes] | None = []  # the header block being read, None inside a body
    head_bytes = 0
    repair = True  # the block is at the top or after a declared boundary
    boundaries: set[bytes] = set()
    body_start = False  # no line of the current body read yet
    target: bytearray | None = None  # the body being decoded on the way (``decoded``)
    pending = b""  # its base64 characters not yet decoded (fewer than four)
    run_eol = b"\n"

    def end_target() -> None:
        nonlocal target, pending
        if target is not None:
            if pending:
                out.extend(pending + run_eol)
            target, pending = None, b""

    def end_head(block: list[bytes], fix: bool) -> None:
        nonlocal base64_body, body_start
        if fix:
            block = _repair_header_block(block)
        base64_body = any(_CTE_BASE64.fullmatch(line) for line in block)
        body_start = base64_body
        for line in block:
            out.extend(line)
        for m in _BOUNDARY.finditer(b"".join(block)):
            boundaries.add((m.group(1) or m.group(2)).strip())

    buf = b""
    eof = False
    while not eof:
        chunk = f.read(READ_BLOCK)
        eof = not chunk
        buf += chunk
        pos, size = 0, len(buf)
        while pos < size:
            if head is None and base64_body:
                run_end = _b64_run_end(buf, pos)
                if run_end > pos:
                    eol = b"\r\n" if buf[pos:run_end].find(b"\r\n") >= 0 else b"\n"
                    data = buf[pos:run_end].translate(None, b"\r\n")
                    if decoded is not None and target is None and body_start and len(data) >= MIN_BYTES:
                        n, placeholder = decoded.start()
                        target, run_eol = decoded.bodies[n], eol
                        out += placeholder + eol
                    body_start = False
                    if target is not None:
                        chunk, pending = decode_aligned(pending, data)
                        target += chunk
                    else:
                        for i in range(0, len(data), MERGED_LINE):
                            out += data[i : i + MERGED_LINE]
                            out += eol
                    pos = run_end
                    if len(out) >= READ_BLOCK:
                        yield bytes(out)
                        out.clear()
                    continue
            nl = buf.find(b"\n", pos)
            if nl < 0:
                if not eof:
                    break  # a partial line: wait for the next block
                nl = size - 1
            line = buf[pos : nl + 1]
            pos = nl + 1
            if head is not None:
                if line in (b"\n", b"\r\n"):
                    end_head(head, repair)
                    out += line
                    head = None
                else:
                    head.append(line)
                    head_bytes += len(line)
                    if len(head) >= MAX_HEADER_LINES or head_bytes >= MAX_HEADER_BYTES:
                        end_head(head, False)  # no blank line in sight: not a header block
                        head = None
            else:
                end_target()
                body_start = False
                out += line
                if line.startswith(b"--"):
                    base64_body = False
                    head, head_bytes = [], 0
                    repair = line[2:].rstrip() in boundaries
            if len(out) >= READ_BLOCK:
                yield bytes(out)
                out.clear()
        buf = buf[pos:]
    end_target()
    if head:
        end_head(head, repair)
    if out:
        yield bytes(out)


def _b64_run_end(buf: bytes, pos: int) -> int:
    """Where the run of full base64 lines (``_B64_RUN``) starting at ``pos`` ends; ``pos`` when
    none starts there. The run may be returned in pieces (the caller asks again at the end).

    Encoders write lines of one length (76 characters): those are checked with slices and
    ``bytes.translate`` (in C, about 5 times faster than the regular expression, which checks
    each character); the regular expression takes whatever else is there.
    """
    nl = buf.find(b"\n", pos, pos + 1024)
    if nl > pos:
        eol = b"\r\n" if buf[nl - 1] == 13 else b"\n"
        width = nl + 1 - len(eol) - pos
        stride = width + len(eol)
        lines = (len(buf) - pos) // stride
        if width >= 60 and lines > 1:
            top = pos + lines * stride
            # the first lines whose line break sits where one of this width would end
            lines = min(lines - len(buf[pos + width + k : top : stride].lstrip(eol[k : k + 1]))
                        for k in range(len(eol)))
            end = pos + lines * stride
            if lines > 0 and buf[pos:end].translate(None, _B64_ALPHABET) == eol * lines:
                return end
    m = _B64_RUN.match(buf, pos)
    return m.end() if m else pos


def _repair_header_block(lines: list[bytes]) -> list[bytes]:
    """One header block (no blank line), repaired so that Python's parser reads every header.

    - ``Subject : x`` (white space before the colon, RFC 5322 section 4.5 obs-optional) loses
      the white space;
    - a line that is no header and no continuation, followed later by real headers, becomes a
      continuation of the header before it (literal ``\\t`` instead of a tab, a line cut by a
      broken mailer); when no header follows, the body starts there, as the parser decides;
    - Content-Type and Content-Disposition get the ``;`` missing between parameters
      (``name="smime.p7m" smime-type=enveloped-data``, ``multipart/mixed boundary="b"``).
    """
    # header_after[i]: some line after line i is a header (computed once: blocks can be long)
    header_after = [False] * len(lines)
    for i in range(len(lines) - 2, -1, -1):
        nxt = lines[i + 1]
        header_after[i] = header_after[i + 1] or bool(_HEADER_LINE.match(nxt) or _SPACE_BEFORE_COLON.match(nxt))
    fixed: list[bytes] = []
    for i, line in enumerate(lines):
        if m := _SPACE_BEFORE_COLON.match(line):
            fixed.append(m.group(1) + line[m.end() - 1 :])
        elif line[:1] in (b" ", b"\t") or _HEADER_LINE.match(line):
            fixed.append(line)
        elif header_after[i]:
            fixed.append(b" " + line)
        else:
            fixed.extend(lines[i:])
            break
    out: list[bytes] = []
    i = 0
    while i < len(fixed):
        j = i + 1
        while j < len(fixed) and fixed[j][:1] in (b" ", b"\t"):
            j += 1
        field = fixed[i:j]
        name, colon, _ = field[0].partition(b":")
        if colon and name.strip().lower() in _PARAM_HEADERS:
            joined = b"".join(field)
            eol = b"\r\n" if joined.endswith(b"\r\n") else b"\n"
            value = re.sub(rb"\r?\n(?=[ \t])", b"", joined.partition(b":")[2]).rstrip(b"\r\n")
            repaired = _add_semicolons(value)
            if repaired != value:
                field = [name + b":" + repaired + eol]
        out.extend(field)
        i = j
    return out


def _add_semicolons(value: bytes) -> bytes:
    """A parameter header value with ``;`` put back where a parameter follows another value
    after white space only (RFC 2045 section 5.1 requires the ``;``)."""
    pieces = _PARAM_PIECE.findall(value)
    out: list[bytes] = []
    has_value = False  # the current ;-separated item already holds something
    for piece in pieces:
        if piece == b";":
            has_value = False
        elif not piece.isspace():
            if has_value and out and out[-1].isspace() and _PARAM_TOKEN.match(piece):
                out.insert(len(out) - 1, b";")
            has_value = True
        out.append(piece)
    return b"".join(out)


def _read(msg: Message, head: Callable[[], bytes], spill: Spill | None) -> MailFacts:
    """The facts of a parsed message; ``head()``: the raw start of the mail, for a broken one."""
    try:
        facts = _facts_from_headers(msg)
    except Exception as exc:  # noqa: BLE001
        return _unreadable(head(), exc)
    walk = _Walk()
    try:
        walk.run(msg)
        attachments, bodies, links, problems = _collect(walk, spill)
    except _SpillFailed as exc:  # e.g. the disk is full: the input is retried, not answered
        raise exc.__cause__ from None
    except Exception as exc:  # noqa: BLE001 - one bad part must not lose the mail
        log.warning("mail %s: body not fully readable: %s", facts.message_id, exc)
        facts.problems.append(IntakeProblem("mail_unreadable", "body", f"{type(exc).__name__}: {exc}"[:300]))
        return facts
    facts.attachments = attachments
    facts.body_text = bodies[0]
    facts.links = links
    facts.problems.extend(walk.problems + problems)
    if walk.inner_from is not None:
        facts.inner_from_name, facts.inner_from_addr = walk.inner_from
        facts.inner_from_name = facts.inner_from_name or None
        facts.inner_from_addr = facts.inner_from_addr or None
    return facts


def _unreadable(raw: bytes, exc: BaseException) -> MailFacts:
    log.warning("mail not readable: %s", exc)
    facts = _empty_facts()
    try:
        head = email.parser.BytesHeaderParser(policy=_POLICY).parsebytes(bytes(raw)[:65536])
        facts = _facts_from_headers(head)
    except Exception:  # noqa: BLE001
        pass
    facts.problems.append(IntakeProblem("mail_unreadable", "message", f"{type(exc).__name__}: {exc}"[:300]))
    return facts
