"""Applicant text made harmless for a terminal (issue 14, "Outputs").

File names, subjects, project and company names come from outsiders. Printed raw, an ESC starts a
terminal control sequence (retitle the window, move the cursor, hide lines), BEL rings, a
bidirectional override (U+202E) shows a name backwards, and ``[red]`` is rich markup. Every such
character is shown as a visible escape (``\\x1b``, ``\\u202e``) instead.
"""

from __future__ import annotations

import re

from rich.markup import escape

# C0 (but tab and newline), DEL, C1, and the Unicode bidirectional controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def plain(text: str | None, *, keep_newlines: bool = True) -> str:
    """``text`` with every control character written as an escape (newlines kept if asked)."""
    out = _CONTROL.sub(_visible, text or "")
    return out if keep_newlines else out.replace("\n", "\\n")


def cell(text: str | None) -> str:
    """One value for a rich table cell: control characters escaped, rich markup escaped."""
    return escape(plain(text, keep_newlines=False))
