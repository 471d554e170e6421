"""Validators for the contact details a form or summary table gives: mobile, landline, email."""

from __future__ import annotations

import re
import unicodedata

# Mainland mobile numbers: 11 digits, 1 then 3–9 (MIIT numbering plan, 13x–19x).
_MOBILE = re.compile(r"1[3-9]\d{9}")
# Landline: trunk 0 + 2–3 digit area code, 7–8 digit number, optional extension (010-66022790).
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(?:(?:-|转|ext\.?|x)\d{1,6})?", re.IGNORECASE)
# A practical address check (RFC 5321 local part without quoting; a dotted domain with a TLD).
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,63}"
)
# Several numbers or addresses are often written in one cell: 13800138000/027-88886666.
_SEPARATORS = re.compile(r"[/,;，；、|\n]+|\s{2,}")


def _fold(text: str) -> str:
    """Full-width digits, letters and signs folded to ASCII (NFKC), outer blanks removed."""
    return unicodedata.normalize("NFKC", text).strip()


def normalise_mobile(text: str) -> str | None:
    """The 11-digit mobile number in ``text`` (spaces, dashes, +86/0086 allowed), else ``None``."""
    digits = re.sub(r"[\s\-()（）.]", "", _fold(text))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    return digits if _MOBILE.fullmatch(digits) else None


def is_landline(text: str) -> bool:
    """True for a mainland landline such as ``010-66022790`` or ``027 8531 6953`` (with area code)."""
    compact = re.sub(r"[\s()（）]", "", _fold(text))
    return bool(_LANDLINE.fullmatch(compact))


def parts(text: str) -> list[str]:
    """The pieces of a cell that lists several numbers or addresses."""
    return [p.strip() for p in _SEPARATORS.split(_fold(text)) if p.strip()]


def has_mobile(text: str) -> bool:
    """True when ``text`` (or one of its parts) is a mainland mobile number."""
    return any(normalise_mobile(p) for p in [text, *parts(text)])


def has_phone(text: str) -> bool:
    """True when ``text`` holds a mobile or a landline (where a phone, not a mobile, is asked)."""
    return has_mobile(text) or any(is_landline(p) for p in [text, *parts(text)])


def is_email(text: str) -> bool:
    """True for one plausible e-mail address (full-width ＠ and letters folded first)."""
    return bool(_EMAIL.fullmatch(_fold(text)))


def find_email(text: str) -> str | None:
    """The first e-mail address inside free text (a 联系方式 cell), else ``None``."""
    m = _EMAIL.search(_fold(text))
    return m.group(0) if m else None


def find_mobile(text: str) -> str | None:
    """The first mobile number inside free text, else ``None``."""
    folded = _fold(text)
    for m in re.finditer(r"(?:\+?86)?[\d][\d \-]{9,16}\d", folded):
        number = normalise_mobile(m.group(0))
        if number:
            return number
    return None
