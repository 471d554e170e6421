"""Normalised names for comparing applicants and projects written in different hands."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Company-form variants that name the same legal form (公司法: 有限责任公司 is often written 有限公司).
_FORM_VARIANTS = (("有限责任公司", "有限公司"), ("股份有限公司", "股份公司"))
_BLANKS = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")


def normalise_name(text: str | None) -> str:
    """A comparison key for a company or project name.

    Folds full-width letters, digits and brackets to half width (NFKC, so （） becomes ()),
    removes every blank, lower-cases Latin letters, unifies 有限责任公司/有限公司 and
    股份有限公司/股份公司, and drops a trailing full stop. ``None`` gives ``""``.
    """
    if not text:
        return ""
    return _kept(text) if len(text) <= _KEPT_CHARS else _normalised(text)


# Names recur across evaluations (every current dossier is judged with each new input), so keys
# of names up to _KEPT_CHARS characters are kept (at most 65,536 of them, ≈ 20 MB at worst): a
# hit costs one dict lookup instead of NFKC and five replacements.
_KEPT_CHARS = 200


def _normalised(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)
    s = _BLANKS.sub("", s).lower()
    s = s.replace("【", "(").replace("】", ")").replace("[", "(").replace("]", ")")
    for long, short in _FORM_VARIANTS:
        s = s.replace(long, short)
    return s.rstrip("。.")


_kept = lru_cache(maxsize=1 << 16)(_normalised)
