"""Header encoding for outgoing mail: 7-bit RFC 2047 encoded-words, RFC 2231 parameters, folding.

Why our own encoder: Chinese recipients (QQ Mail, Foxmail, 163.com) and their servers often lack
SMTPUTF8, and some readers decode each encoded-word on its own, so a word that splits a UTF-8
character shows as mojibake (case C20; cpython#136052, Indy#157). Here every encoded-word is a
``=?UTF-8?B?…?=`` word holding whole characters only, at most 75 octets (RFC 2047 §2), and every
header line is at most 78 octets (RFC 5322 §2.1.1).

The values are handed to :class:`email.message.EmailMessage` as :class:`FoldedHeader` objects,
which the ``email`` package writes out verbatim (``policy._fold`` returns ``value.fold()`` for an
object with a ``name``). :func:`to_bytes` then gives the wire form.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from email import policy as email_policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage, Message
from urllib.parse import quote

MAX_LINE = 78  # RFC 5322 §2.1.1 recommended limit, octets without CRLF
MAX_WORD = 75  # RFC 2047 §2 limit of one encoded-word, octets
_WORD_OVERHEAD = len("=?UTF-8?B??=")

class _CachingHeaderRegistry(HeaderRegistry):
    """The standard header registry, each header name's class made once.

    CPython's ``HeaderRegistry.__getitem__`` builds a new class with ``type()`` at every header
    set, count check and read (~40 µs each, about sixty per 回执); the classes it builds for one
    name are all alike, so the first is kept and returned again.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls

    def map_to_type(self, name: str, cls: type) -> None:
        self._classes.pop(name.lower(), None)
        super().map_to_type(name, cls)


# What we compose with: the standard policy (``email.policy.default``) with the registry above.
COMPOSE_POLICY = email_policy.default.clone(header_factory=_CachingHeaderRegistry())
# Serialisation policy for what we send: CRLF, 7-bit bodies, lines ≤ 78.
OUTGOING_POLICY = email_policy.SMTP.clone(cte_type="7bit", max_line_length=MAX_LINE,
                                          header_factory=COMPOSE_POLICY.header_factory)


class FoldedHeader(str):
    """A header value already encoded and folded by this module.

    ``str(self)`` is the unfolded 7-bit value (what a parser sees after unfolding);
    ``fold(policy=…)`` returns ``"Name: value\\r\\n"`` with our own folding, which the ``email``
    package emits verbatim.
    """

    name: str
    folded_lines: list[str]

    def __new__(cls, name: str, lines: list[str]) -> FoldedHeader:
        obj = super().__new__(cls, "".join(lines).replace("\r\n", ""))
        obj.name = name
        obj.folded_lines = lines
        return obj

    def fold(self, *, policy: email_policy.Policy) -> str:
        """The header line(s) ``Name: value`` ending with the policy's line separator."""
        text = f"{self.name}: " + (policy.linesep + " ").join(self.folded_lines)
        return text + policy.linesep

    @property
    def content_disposition(self) -> str | None:
        """First token of a Content-Disposition value (``EmailMessage.is_attachment`` asks)."""
        return self.split(";", 1)[0].strip().lower() or None

    @property
    def defects(self) -> list[object]:
        return []


def is_plain_ascii(text: str) -> bool:
    """True when ``text`` is printable 7-bit ASCII that needs no encoding."""
    return all(32 <= ord(c) < 127 for c in text) and "=?" not in text


def encoded_words(text: str, *, first_room: int = MAX_WORD, room: int = MAX_WORD) -> list[str]:
    """Split ``text`` into UTF-8 B encoded-words, each holding whole characters only.

    ``first_room`` is the octet budget of the first word (the space left on the header's first
    line), ``room`` that of the others; both are capped at 75 (RFC 2047 §2). Returns at least one
    word for a non-empty text, ``[]`` for ``""``.
    """
    words: list[str] = []
    chunk = ""
    budget = min(first_room, MAX_WORD)
    for ch in text:
        trial = (chunk + ch).encode("utf-8")
        if chunk and _WORD_OVERHEAD + len(base64.b64encode(trial)) > budget:
            words.append(_b_word(chunk))
            chunk = ch
            budget = min(room, MAX_WORD)
        else:
            chunk += ch
    if chunk:
        words.append(_b_word(chunk))
    return words


def _b_word(text: str) -> str:
    return "=?UTF-8?B?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def _fold_atoms(name: str, atoms: Sequence[str]) -> list[str]:
    """Join atoms with single spaces, breaking lines (at those spaces) to stay within 78 octets."""
    lines: list[str] = []
    current = ""
    used = len(name) + 2  # "Name: "
    for atom in atoms:
        if not current:
            current = atom
            continue
        if used + len(current) + 1 + len(atom) <= MAX_LINE:
            current += " " + atom
        else:
            lines.append(current)
            current = atom
            used = 1  # continuation lines start with one space
    lines.append(current)
    return lines


def text_header(name: str, text: str) -> FoldedHeader:
    """An unstructured header (Subject, X-…) as 7-bit folded text.

    Pure ASCII text is folded at its spaces; any other text is encoded whole as encoded-words
    (so a recipient's decoder joins adjacent words without inserting spaces: RFC 2047 §6.2, and
    the decoded value is exactly ``text``).
    """
    text = (
        " ".join(text.split())
        if is_plain_ascii(text)
        else text.replace("\r", "").replace("\n", " ")
    )
    if is_plain_ascii(text):
        return FoldedHeader(name, _fold_atoms(name, text.split(" ")))
    first_room = MAX_LINE - len(name) - 2
    words = encoded_words(text, first_room=first_room, room=MAX_LINE - 1)
    return FoldedHeader(name, _fold_atoms(name, words))


def address_header(name: str, addresses: Sequence[tuple[str, str]]) -> FoldedHeader:
    """An address header (From, To, Cc) from ``(display name, address)`` pairs.

    Non-ASCII display names become encoded-words (RFC 2047 §5(3)); ASCII ones are quoted when they
    hold specials. Addresses themselves must be ASCII (raises ``ValueError`` otherwise: we never
    send SMTPUTF8).
    """
    atoms: list[str] = []
    used = len(name) + 2
    for i, (display, addr) in enumerate(addresses):
        if not is_plain_ascii(addr) or " " in addr:
            raise ValueError(f"address not 7-bit: {addr!r}")
        sep = "," if i < len(addresses) - 1 else ""
        if not display:
            atoms.append(f"<{addr}>{sep}")
            continue
        if is_plain_ascii(display):
            if re.search(r'[()<>\[\]:;@\\,."]', display):
                display = '"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"'
            atoms.extend(display.split(" "))
        else:
            atoms.extend(encoded_words(display, first_room=MAX_LINE - used, room=MAX_LINE - 1))
        atoms.append(f"<{addr}>{sep}")
    return FoldedHeader(name, _fold_atoms(name, atoms))


def param_header(name: str, value: str, params: Sequence[tuple[str, str]]) -> FoldedHeader:
    """A MIME header with parameters (Content-Type, Content-Disposition), 7-bit and folded.

    ASCII parameter values are quoted. A non-ASCII ``filename`` is written as RFC 2231
    ``filename*=UTF-8''…`` (with ``filename*0*=``, ``filename*1*=`` … continuations when long,
    each section cut between whole characters); a non-ASCII ``name`` (Content-Type) as a quoted
    RFC 2047 encoded-word string, the fallback that older readers (QQ Mail, Outlook) look at.
    """
    atoms = [value + (";" if params else "")]
    for i, (key, val) in enumerate(params):
        last = i == len(params) - 1
        end = "" if last else ";"
        if is_plain_ascii(val):
            atoms.append(f'{key}="' + val.replace("\\", "\\\\").replace('"', '\\"') + f'"{end}')
        elif key == "name":
            words = encoded_words(val, room=MAX_LINE - 1 - len(key) - 4)
            if len(words) == 1:
                atoms.append(f'{key}="{words[0]}"{end}')
            else:  # FWS inside the quoted string between words: unfolds to spaces a decoder drops
                atoms.append(f'{key}="{words[0]}')
                atoms.extend(words[1:-1])
                atoms.append(f'{words[-1]}"{end}')
        else:
            sections = _rfc2231_sections(val, room=MAX_LINE - 1 - len(key) - 16)
            if len(sections) == 1:
                atoms.append(f"{key}*=UTF-8''{sections[0]}{end}")
            else:
                for n, sec in enumerate(sections):
                    charset = "UTF-8''" if n == 0 else ""
                    sep = ";" if n < len(sections) - 1 else end
                    atoms.append(f"{key}*{n}*={charset}{sec}{sep}")
    return FoldedHeader(name, _fold_atoms(name, atoms))


def _rfc2231_sections(text: str, *, room: int) -> list[str]:
    """Percent-encode ``text`` (UTF-8) in sections of at most ``room`` octets, cut between characters."""
    sections: list[str] = []
    current = ""
    for ch in text:
        enc = quote(ch, safe="")
        if current and len(current) + len(enc) > room:
            sections.append(current)
            current = enc
        else:
            current += enc
    sections.append(current)
    return sections


# A msg-id we echo in In-Reply-To and References (RFC 5322 section 3.6.4): <left@right>,
# printable ASCII without blanks or further angle brackets.
_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>")


def is_msg_id(value: str | None) -> bool:
    """True when ``value`` (a Message-ID from a received mail) may be echoed in our thread
    headers. An 8-bit one (raw GBK in a sender's Message-ID) would go out as an RFC 2047 encoded
    word, which is not a msg-id and which no mailer threads on: the reply then goes without it."""
    return bool(value) and _MSG_ID.fullmatch(value.strip()) is not None


def set_header(msg: EmailMessage, name: str, value: FoldedHeader | str) -> None:
    """Replace header ``name`` on ``msg`` with ``value`` (a :class:`FoldedHeader` or ASCII text)."""
    del msg[name]
    msg[name] = value if isinstance(value, FoldedHeader) else text_header(name, value)


def to_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes on the wire: CRLF line ends, 7-bit, lines ≤ 78 where we fold."""
    return msg.as_bytes(policy=OUTGOING_POLICY)


def raw_values(msg: Message, name: str) -> list[str]:
    """Every ``name`` field of ``msg`` as stored, unfolded, not decoded (encoded words stay as
    they are): enough for addresses and Message-IDs, without building the header registry's
    parsed objects (about 0.1 ms each). A header set from an object reads as its text."""
    name = name.lower()
    return ["".join(str(v).splitlines()) for k, v in msg.raw_items() if k.lower() == name]
