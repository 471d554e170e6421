"""统一社会信用代码 (unified social credit code) validation after GB 32100-2015.

Written here rather than taken from python-stdnum, which wrongly rejects valid codes whose
registering-authority character is A, N or Y.
"""

from __future__ import annotations

# GB 32100-2015 table 1: the 31 characters (no I, O, S, V, Z); a character's value is its index.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# GB 32100-2015 §5: weights W_i = 3^(i-1) mod 31 for positions 1–17.
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18


def clean_uscc(text: str) -> str:
    """The code as written, without blanks, full-width characters folded, letters upper-cased."""
    folded = "".join(chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else c for c in text)
    return "".join(folded.split()).upper()


def check_char(first17: str) -> str:
    """The check character for the first 17 characters.

    Raises ``ValueError`` when a character is outside the alphabet or the length is not 17.
    """
    if len(first17) != LENGTH - 1:
        raise ValueError(f"need 17 characters, got {len(first17)}")
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def uscc_problem(text: str) -> str | None:
    """Why ``text`` is not a valid USCC, in Chinese, or ``None`` when it is valid.

    Checks (GB 32100-2015): 18 characters, each from ``ALPHABET``, and the 18th equal to the check
    character computed over the first 17 (value = 31 − (Σ value×weight mod 31), 31 → 0).
    """
    code = clean_uscc(text)
    if len(code) != LENGTH:
        return f"应为 18 位，实为 {len(code)} 位"
    bad = [c for c in code if c not in ALPHABET]
    if bad:
        return f"含有不允许的字符「{''.join(dict.fromkeys(bad))}」（不使用 I、O、S、V、Z）"
    expected = check_char(code[:17])
    if code[17] != expected:
        return f"校验位应为 {expected}，实为 {code[17]}"
    return None


def is_valid_uscc(text: str) -> bool:
    """True when ``text`` (blanks and full-width folded) is a valid USCC."""
    return uscc_problem(text) is None
