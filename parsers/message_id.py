"""The one Message-ID reader: from a raw mail's header block, or from a header value.

A header may be folded (RFC 5322 §2.2.3: CRLF + white space inside the value), even inside the
angle brackets (the obsolete syntax, §4.5.4, allows white space between the parts of an id).
Unfolding removes the line breaks; an id in angle brackets then loses any white space inside
them, so ``<a.b⏎ @x.cn>`` and ``<a.b@x.cn>`` are the same id. A value without brackets is kept
as written (stripped). The IMAP watcher, the store and the MIME parser all read it here, so they
agree on which mail is which.
"""

from __future__ import annotations

import re

_BRACKETED = re.compile(r"<([^<>]*)>")
_WS = re.compile(r"\s+")
HEADER_LIMIT = 256 * 1024  # bytes of header block read at most


def normalise_message_id(value: str | None) -> str | None:
    """The id in a Message-ID header value, unfolded; None when empty."""
    if value is None:
        return None
    text = " ".join(str(value).replace("\r", "\n").split("\n")).strip()
    m = _BRACKETED.search(text)
    if m:
        inner = _WS.sub("", m.group(1))
        return f"<{inner}>" if inner else None
    return text or None


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID of a raw message (only its header block is read), or None."""
    head = raw[:HEADER_LIMIT]
    for sep in (b"\r\n\r\n", b"\n\n"):
        end = head.find(sep)
        if end >= 0:
            head = head[:end]
            break
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    for i, line in enumerate(lines):
        if line[:11].lower() != b"message-id:":
            continue
        value = [line[11:]]
        for more in lines[i + 1:]:
            if more[:1] in (b" ", b"\t"):
                value.append(more)
            else:
                break
        return normalise_message_id(b" ".join(value).decode("ascii", "replace"))
    return None
