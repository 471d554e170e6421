"""Label synonyms and normalisation for application-form fields and summary-table headers."""

from __future__ import annotations

import re

# Blanks people type inside labels: ASCII, no-break space, ideographic space (U+3000), zero-width.
BLANKS = " \t\r\n\f\v\u00a0\u3000\u200b\ufeff"
_BLANK_RE = re.compile(f"[{re.escape(BLANKS)}]+")

# Suffixes that do not change what a label means: 申报单位（盖章）, 联系人（签字）.
_SUFFIX_RE = re.compile(r"\((?:盖章|公章|签章|签字|签名|必填|加盖公章)\)$")
_COLONS = ":："

# Application form (申报书) labels -> FORM_FIELDS keys (parsers/facts.py).
FORM_LABELS: dict[str, str] = {
    "项目名称": "project_name",
    "申报项目名称": "project_name",
    "申报单位": "applicant",
    "申报单位名称": "applicant",
    "申报主体": "applicant",
    "申报主体名称": "applicant",
    "单位名称": "applicant",
    "统一社会信用代码": "uscc",
    "社会信用代码": "uscc",
    "项目类别": "category",
    "申报类别": "category",
    "项目方向": "direction",
    "申报方向": "direction",
    "项目类别和方向": "category_direction",
    "项目类别及方向": "category_direction",
    "申报类别和方向": "category_direction",
    "联系人": "contact_name",
    "项目联系人": "contact_name",
    "手机": "mobile",
    "手机号": "mobile",
    "手机号码": "mobile",
    "联系电话": "mobile",
    "联系方式": "mobile",
    "电话": "phone",
    "座机": "phone",
    "固定电话": "phone",
    "办公电话": "phone",
    "邮箱": "email",
    "电子邮箱": "email",
    "电子邮件": "email",
    "e-mail": "email",
    "email": "email",
}

# Summary table (汇总表, notice 附件3) headers -> canonical column keys (TableFacts).
NOTICE_COLUMNS: tuple[str, ...] = (
    "seq",
    "project_name",
    "category_direction",
    "applicant",
    "contact_name",
    "contact",
)
TABLE_LABELS: dict[str, str] = {
    "序号": "seq",
    "编号": "seq",
    "排序": "seq",
    "优先级排序": "seq",
    "项目名称": "project_name",
    "申报项目名称": "project_name",
    "项目类别和方向": "category_direction",
    "项目类别及方向": "category_direction",
    "类别和方向": "category_direction",
    "类别及方向": "category_direction",
    "申报类别和方向": "category_direction",
    "项目类别/方向": "category_direction",
    "申报单位名称": "applicant",
    "申报单位": "applicant",
    "申报主体": "applicant",
    "单位名称": "applicant",
    "联系人": "contact_name",
    "项目联系人": "contact_name",
    "联系方式(手机与邮箱)": "contact",
    "联系方式(手机和邮箱)": "contact",
    "联系方式": "contact",
    "手机与邮箱": "contact",
}


def normalize_label(text: str) -> str:
    """A label as compared: blanks removed, full-width brackets made ASCII, trailing colon and
    ``（盖章）``-style suffix dropped, ASCII letters lower-cased (``项 目 名 称：`` -> ``项目名称``)."""
    s = _BLANK_RE.sub("", text or "").replace("（", "(").replace("）", ")")
    s = _SUFFIX_RE.sub("", s.rstrip(_COLONS)).rstrip(_COLONS)
    return s.lower()


def _lookup(text: str, table: dict[str, str]) -> str | None:
    n = normalize_label(text)
    if not n:
        return None
    if n in table:
        return table[n]
    # 联系方式（手机与邮箱） and 项目名称（全称）: the bracketed note does not change the column.
    bare = re.sub(r"\([^)]*\)$", "", n)
    return table.get(bare) if bare and bare != n else None


def form_key(text: str) -> str | None:
    """The ``FORM_FIELDS`` key a form label names, or ``None`` when ``text`` is not a label."""
    return _lookup(text, FORM_LABELS)


def table_key(text: str) -> str | None:
    """The notice column key (``NOTICE_COLUMNS``) a table header names, or ``None``."""
    return _lookup(text, TABLE_LABELS)


def _spaced(label: str) -> str:
    # Each character of the label, blanks allowed between them (项 目 名 称).
    return f"[{re.escape(BLANKS)}]*".join(re.escape(ch) for ch in label)


# Inline ``标签：值`` pairs, several per line allowed ("联系人：王小明  手机：138…").
_INLINE_LABELS = sorted(FORM_LABELS, key=len, reverse=True)
INLINE_RE = re.compile(
    r"(?:^|(?<=[\s\u3000，,；;。|]))"
    r"(?P<label>" + "|".join(_spaced(lab) for lab in _INLINE_LABELS) + r")"
    r"[\s\u3000]*(?:[（(](?:盖章|公章|签章|签字|必填)[）)])?[\s\u3000]*[:：]",
    re.IGNORECASE,
)


def inline_pairs(text: str) -> list[tuple[str, str]]:
    """``(key, value)`` pairs from ``标签：值`` text, in order; values stripped of blanks.

    A value runs to the next recognised label or the end of the text. Empty values are kept
    as ``""`` so a caller can tell "label present, value blank".
    """
    matches = list(INLINE_RE.finditer(text))
    out: list[tuple[str, str]] = []
    for i, m in enumerate(matches):
        key = form_key(m.group("label"))
        if key is None:
            continue
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = text[m.end() : end].strip(BLANKS + "，,；;|")
        out.append((key, value))
    return out
