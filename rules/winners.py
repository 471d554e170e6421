"""The earlier-winners list (CSV: year, project name, applicant, USCC) behind PREVIOUSLY_SELECTED."""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rules.errors import RulesError
from rules.names import normalise_name
from rules.uscc import clean_uscc

log = logging.getLogger("intake.rules")

# Accepted header spellings (MIIT publishes the lists as tables with Chinese headers).
_HEADERS = {
    "year": ("year", "年份", "年度", "批次"),
    "project_name": ("project_name", "project", "项目名称", "项目"),
    "applicant": ("applicant", "申报单位", "申报单位名称", "单位名称", "企业名称"),
    "uscc": ("uscc", "统一社会信用代码", "信用代码"),
}


class WinnersError(RulesError):
    """The winners list cannot be read (missing file, no usable header)."""


@dataclass(frozen=True)
class Winner:
    """One earlier selected project; names are kept as written (compare with ``normalise_name``)."""

    year: int
    project_name: str
    applicant: str
    uscc: str = ""


def _header_key(text: str) -> str:
    return normalise_name(text).replace("_", "")


def _decode(raw: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def read_winners(path: Path) -> tuple[Winner, ...]:
    """Read the list: UTF-8 (with or without BOM) or GB18030, headers in English or Chinese.

    Rows whose year is not a number are skipped (and logged). Raises ``WinnersError`` when the
    file cannot be read or lacks the year or project-name column.
    """
    try:
        text = _decode(Path(path).read_bytes())
    except OSError as exc:
        raise WinnersError(f"cannot read winners list {path}: {exc}") from exc
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        for key, names in _HEADERS.items():
            if key not in index and _header_key(h) in {_header_key(n) for n in names}:
                index[key] = i
    if "year" not in index or "project_name" not in index:
        raise WinnersError(f"winners list {path}: need columns year and project name, got {header}")

    def cell(row: list[str], key: str) -> str:
        i = index.get(key)
        return row[i].strip() if i is not None and i < len(row) else ""

    out: list[Winner] = []
    for n, row in enumerate(reader, 2):
        if not any(c.strip() for c in row):
            continue
        year = cell(row, "year").rstrip("年")
        if not year.isdigit():
            log.warning("winners list %s line %d: year %r is not a number; skipped", path, n, year)
            continue
        out.append(
            Winner(
                int(year),
                cell(row, "project_name"),
                cell(row, "applicant"),
                clean_uscc(cell(row, "uscc")),
            )
        )
    return tuple(out)


@lru_cache(maxsize=8)
def _cached(path: str, mtime_ns: int) -> tuple[Winner, ...]:
    return read_winners(Path(path))


def load_winners(path: Path | None) -> tuple[Winner, ...]:
    """``read_winners`` cached until the file changes; ``None`` gives an empty list."""
    if path is None:
        return ()
    try:
        mtime = Path(path).stat().st_mtime_ns
    except OSError as exc:
        raise WinnersError(f"cannot read winners list {path}: {exc}") from exc
    return _cached(str(path), mtime)
