"""Tracking numbers of dossiers (``IIP2023-420100-0017-5``): make, check and find them in subjects.

Layout: ``<campaign code>-<level code>-<sequence>-<check>``:

- campaign code: 2–16 characters ``A–Z0–9`` starting with a letter (``IIP2023``);
- level code: the 6-digit administrative division code of the receiving unit (``420100`` 武汉市),
  ``000000`` for the ministry;
- sequence: at least 4 digits, zero-padded (``0017``);
- check: one character ``0–9A–Z`` by ISO/IEC 7064 MOD 37,36 (the hybrid system for alphanumeric
  strings, as in ISO 6346-style identifiers) over the characters of the first three parts without
  hyphens. Character values: ``0–9`` → 0–9, ``A–Z`` → 10–35. With ``M = 36``: ``p = M``; for each
  character value ``a``: ``s = (p + a) mod M`` (0 becomes ``M``), ``p = 2·s mod (M + 1)``; the check
  value is ``c = (1 − p) mod M``. It catches every single-character error and every transposition of
  adjacent characters, so a number retyped by hand from a phone screen is rejected, not misfiled.
"""

from __future__ import annotations

import re

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_M = 36
_CANDIDATE = re.compile(
    r"(?<![A-Z0-9])([A-Z][A-Z0-9]{1,15})-(\d{6})-(\d{4,})-([0-9A-Z])(?![A-Z0-9])", re.I
)


def check_char(body: str) -> str:
    """The ISO/IEC 7064 MOD 37,36 check character over ``body`` (hyphens ignored, case-insensitive).

    Raises ``ValueError`` for a character outside ``0–9A–Z-``.
    """
    p = _M
    for ch in body.upper().replace("-", ""):
        a = _ALPHABET.index(ch) if ch in _ALPHABET else -1
        if a < 0:
            raise ValueError(f"character not allowed in a tracking number: {ch!r}")
        s = (p + a) % _M or _M
        p = (2 * s) % (_M + 1)
    return _ALPHABET[(1 - p) % _M]


def make_tracking(campaign_code: str, level_code: str, seq: int) -> str:
    """``make_tracking("IIP2023", "420100", 17)`` → ``"IIP2023-420100-0017-<check>"``.

    Raises ``ValueError`` when the campaign code is not 2–16 of ``A–Z0–9`` starting with a letter,
    the level code is not 6 digits, or ``seq`` is negative.
    """
    code = campaign_code.upper()
    if not re.fullmatch(r"[A-Z][A-Z0-9]{1,15}", code):
        raise ValueError(f"bad campaign code: {campaign_code!r}")
    if not re.fullmatch(r"\d{6}", level_code):
        raise ValueError(f"bad level code (6-digit division code expected): {level_code!r}")
    if seq < 0:
        raise ValueError(f"negative sequence: {seq}")
    body = f"{code}-{level_code}-{seq:04d}"
    return f"{body}-{check_char(body)}"


def is_valid_tracking(s: object) -> bool:
    """True when ``s`` is exactly one tracking number with a correct check character."""
    if not isinstance(s, str):
        return False
    m = _CANDIDATE.fullmatch(s.strip())
    return bool(m) and check_char("".join(m.groups()[:3])) == m.group(4).upper()


def parse_tracking(text: str | None) -> str | None:
    """The first valid tracking number in ``text`` (e.g. a subject ``回复：【补正通知】… [IIP…-5]``).

    Brackets are optional; letters are matched case-insensitively and returned upper-case.
    Candidates with a wrong check character are skipped. ``None`` when there is none.
    """
    for m in _CANDIDATE.finditer(text or ""):
        candidate = m.group(0).upper()
        if is_valid_tracking(candidate):
            return candidate
    return None
