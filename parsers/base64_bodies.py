"""Large base64 bodies decoded on their way into the MIME parser, once, in C (issue 16).

Python's feed parser keeps every line of a body as text until the part ends and then searches
the whole text for its last line break: for a 48 MB video that is ~65 MB of text, 0.6 s of
feeding and a 0.3 s regular-expression search, before the text is decoded once more. Instead,
``parsers.mime._blocks`` decodes the runs of full base64 lines at the start of a large body
(``MIN_BYTES`` of encoded text or more) with ``binascii`` as it reads them, keeps the bytes here,
and hands the parser one placeholder line in their place; what follows the runs (the short last
line with its padding) still goes to the parser as text. RFC 2045 section 6.8: line breaks are
not data, so the bytes are the same as decoding the whole body at once.

The placeholder holds a random token made for each mail, so a sender cannot write one that
names another part's bytes. ``payload_bytes`` turns a placeholder body back into bytes,
``restore`` a flattened part (a forwarded mail kept as an .eml) back into base64 text.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from contextvars import ContextVar

MIN_BYTES = 32 * 1024  # encoded characters of a body's first run before it is decoded on the way


class DecodedBodies:
    """The bodies of one mail decoded while it was read, each named by a placeholder line."""

    def __init__(self) -> None:
        self.prefix = "=intake-" + secrets.token_hex(12) + "-"  # "=" and "-": never base64 text
        # The line break may be missing: a part's last line before a boundary loses it (a base64
        # body without a short last line, flattened alone: a forwarded mail's whole text).
        self._line = re.compile(re.escape(self.prefix.encode()) + rb"(\d+)=(\r?\n|\Z)")
        self.bodies: list[bytearray] = []

    def start(self) -> tuple[int, bytes]:
        """A new body: its index and its placeholder line (without the line break)."""
        self.bodies.append(bytearray())
        n = len(self.bodies) - 1
        return n, f"{self.prefix}{n}=".encode()

    def _named(self, payload: str) -> tuple[int, str] | None:
        """(index, the text after the placeholder line) when ``payload`` starts with one of this
        mail's placeholders, else None."""
        if not payload.startswith(self.prefix):
            return None
        head, _, rest = payload.partition("\n")
        try:
            n = int(head[len(self.prefix) :].rstrip("\r").rstrip("="))
        except ValueError:
            return None
        return (n, rest) if 0 <= n < len(self.bodies) else None

    def body(self, payload: str) -> tuple[bytearray, str] | None:
        """(decoded bytes, the text after the placeholder line) when ``payload`` starts with one
        of this mail's placeholders, else None. The bytes are this object's own: copy, not change
        (or ``take`` them)."""
        named = self._named(payload)
        return None if named is None else (self.bodies[named[0]], named[1])

    def take(self, payload: str, tail: bytes) -> bytearray | None:
        """The body ``payload`` names with ``tail`` appended, handed over: this object keeps no
        reference, so a 48 MB video is in memory once, not twice. Only for the last reader of
        the part (an attachment's bytes; not a forwarded mail, which is flattened again)."""
        named = self._named(payload)
        if named is None:
            return None
        data, self.bodies[named[0]] = self.bodies[named[0]], bytearray()
        data += tail
        return data

    def text(self, payload: str) -> str | None:
        """``payload`` with its placeholder line turned back into base64 lines, when it starts
        with one of this mail's placeholders, else None: for a part the parser does not read as
        base64 although ``_blocks`` did (two Content-Transfer-Encoding headers)."""
        if self._named(payload) is None:
            return None
        head, newline, rest = payload.partition("\n")
        return self.restore((head + newline).encode("ascii")).decode("ascii") + rest

    def restore(self, flat: bytes) -> bytes:
        """``flat`` (a flattened part) with each placeholder line turned back into base64 lines."""
        if self.prefix.encode() not in flat:
            return flat

        def encoded(m: re.Match[bytes]) -> bytes:
            n = int(m.group(1))
            if n >= len(self.bodies):
                return m.group(0)
            text = base64.encodebytes(bytes(self.bodies[n]))  # 76-character lines, in C
            if not m.group(2):  # the end of the part: no line break after its last line either
                return text[:-1]
            return text.replace(b"\n", m.group(2)) if m.group(2) != b"\n" else text

        return self._line.sub(encoded, flat)


# The mail being read in this thread (set by parsers.mime while it parses one mail).
CURRENT: ContextVar[DecodedBodies | None] = ContextVar("decoded_bodies", default=None)


def decode_aligned(pending: bytes, run: bytes) -> tuple[bytes, bytes]:
    """Decode ``pending + run`` (base64 alphabet only, no line breaks) up to a multiple of four
    characters; returns (bytes, the characters left for the next run)."""
    data = pending + run
    cut = len(data) - len(data) % 4
    return binascii.a2b_base64(data[:cut]), data[cut:]
