"""Summary tables (汇总表) from .xlsx/.xls/.csv/HTML: header found by the notice's columns, cells cleaned."""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from parsers.facts import CellProblem, TableFacts, TableRecord
from parsers.labels import BLANKS, NOTICE_COLUMNS, normalize_label, table_key

log = logging.getLogger("intake.tables")

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADER_SCAN_ROWS = 30
_MIN_HEADER_HITS = 2
# Excel keeps 15 significant digits: an integer of 16+ digits stored as a number lost some.
_EXACT_LIMIT = 10**15
_FULLWIDTH_DIGITS = {0xFF10 + i: ord("0") + i for i in range(10)} | {0xFF0E: ord(".")}
_DATE_RE = re.compile(r"^(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?$")
_SCI_RE = re.compile(r"^[+-]?(\d+)(?:\.(\d+))?[eE]\+?(\d+)$")
_INT_DOT_ZERO_RE = re.compile(r"^-?\d+\.0+$")
_PHONE_CHARS_RE = re.compile(r"^\+?[\d\-]{7,20}$")
_TOTAL_WORDS = ("合计", "总计", "小计", "共计")
_UNIT_PREFIXES = ("推荐单位", "填报单位", "报送单位")
_FOOTER_PREFIXES = (
    "注",
    "备注",
    "说明",
    "填表说明",
    "填表人",
    "填报人",
    "审核人",
    "制表人",
    "经办人",
)
_NAME_HINTS = ("姓名", "联系人", "负责人", "法人", "填报人")
_PHONE_HINTS = ("手机", "电话", "联系方式")
_CJK_BLANK_RE = re.compile(r"(?<=[\u3400-\u9fff])[ \u3000]+(?=[\u3400-\u9fff])")


@dataclass
class _Grid:
    """A sheet as plain values (1-based rows/cols through helpers) and its merged ranges."""

    name: str
    rows: list[list[Any]]
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # r1, c1, r2, c2

    def value(self, r: int, c: int) -> Any:
        if 1 <= r <= len(self.rows) and 1 <= c <= len(self.rows[r - 1]):
            return self.rows[r - 1][c - 1]
        return None

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    def merge_at(self, r: int, c: int) -> tuple[int, int, int, int] | None:
        for m in self.merges:
            if m[0] <= r <= m[2] and m[1] <= c <= m[3]:
                return m
        return None

    def shown(self, r: int, c: int) -> Any:
        """The value shown at (r, c): a merged range shows its top-left cell everywhere."""
        m = self.merge_at(r, c)
        return self.value(m[0], m[1]) if m else self.value(r, c)


# Bounds on what one summary table may cost (a 汇总表 is tens of KB and a few hundred rows; more
# is a mistake or an attack: a decompression bomb, or one cell at XFD1048576 that makes the grid
# 17 billion cells). Beyond them the table is ``too_large``.
MAX_TABLE_BYTES = 32 * 1024 * 1024  # file size, bytes
MAX_XLSX_XML_BYTES = 64 * 1024 * 1024  # uncompressed parts of an .xlsx, bytes
MAX_CELLS = 200_000  # cells written in the worksheets of an .xlsx (counted before loading)
MAX_ROWS = 10_000  # worksheet rows
MAX_COLS = 256  # columns read; cells further right are ignored


class _Unreadable(Exception):
    def __init__(self, problem: str, detail: str) -> None:
        super().__init__(detail)
        self.problem, self.detail = problem, detail


def read_table(path: Path, *, kind: str | None = None) -> TableFacts:
    """Read a summary table (汇总表) in the notice's layout (附件3); never raises on bad input.

    The real format is taken from the bytes (a renamed xlsx, an HTML table named .xls, a CSV);
    ``kind`` only breaks ties. The header row is the first of the top rows naming at least two
    notice columns (``labels.TABLE_LABELS``); a second header row under merged cells is read
    too (sub-header text becomes the key when it is not a notice column). Title rows,
    ``推荐单位（盖章）：`` rows (-> ``unit``), totals rows (合计/总计), notes and blank rows are
    skipped. Cells are cleaned (blanks, full-width digits, phone floats, dates to ISO
    ``YYYY-MM-DD``, integral numbers without ``.0``); a 16+ digit number stored as a number
    (an ID or USCC that lost digits) gives a ``CellProblem(kind="precision_lost")`` and the
    cell value ``None``. Problems: ``empty``, ``encrypted``, ``corrupt``, ``unsupported``,
    ``too_large`` (beyond ``MAX_TABLE_BYTES``, ``MAX_XLSX_XML_BYTES``, ``MAX_CELLS`` or ``MAX_ROWS``).
    """
    try:
        real, grids = _load(path, kind)
    except _Unreadable as exc:
        return TableFacts(readable=False, problem=exc.problem, detail=exc.detail)
    except Exception as exc:  # noqa: BLE001 - xlrd/openpyxl raise many private kinds: never escape
        log.warning("table %s unreadable: %s: %s", path.name, type(exc).__name__, exc)
        return TableFacts(readable=False, problem="corrupt", detail=f"{type(exc).__name__}: {exc}"[:300])
    best: TableFacts | None = None
    for grid in grids:
        facts = _read_grid(grid)
        facts.real_format = real
        if (
            best is None
            or (facts.header_row is not None and best.header_row is None)
            or (
                facts.header_row is not None
                and len(facts.missing_columns) < len(best.missing_columns)
            )
        ):
            best = facts
    if best is None:
        return TableFacts(readable=False, real_format=real, problem="empty", detail="no sheets")
    return best


# --- loading -------------------------------------------------------------------------------


def _load(path: Path, kind: str | None) -> tuple[str, list[_Grid]]:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise _Unreadable("corrupt", str(exc)) from exc
    if not head:
        raise _Unreadable("empty", "the file has no bytes")
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        raise _Unreadable("too_large", f"{size} bytes; a summary table over {MAX_TABLE_BYTES} bytes is not read")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx", _load_xlsx(path)
    if head.startswith(_OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in path.read_bytes()[: 1 << 20]:
            raise _Unreadable("encrypted", "the workbook is password-protected")
        return "xls", _load_xls(path)
    text = _decode(path.read_bytes())
    low = text[:4096].lstrip("\ufeff \r\n\t").lower()
    if "<table" in text[:200_000].lower() and (low.startswith("<") or kind == "html"):
        return "html", _bounded(_load_html(text))
    if b"\x00" in head:
        raise _Unreadable("corrupt", "not a spreadsheet: binary data of an unknown format")
    return "csv", _bounded([_load_csv(text, path.stem)])


def _bounded(grids: list[_Grid]) -> list[_Grid]:
    for g in grids:
        if len(g.rows) > MAX_ROWS:
            raise _Unreadable("too_large", f"sheet {g.name}: {len(g.rows)} rows (at most {MAX_ROWS} are read)")
    return grids


def _xlsx_cost(path: Path) -> None:
    """Refuse an .xlsx whose parts would cost too much to load (openpyxl keeps every cell).

    Declared uncompressed sizes are summed (zipfile never yields more than a member declares) and
    cells are counted by streaming the worksheet parts, before openpyxl builds anything.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            if total > MAX_XLSX_XML_BYTES:
                raise _Unreadable("too_large", f"{total} bytes uncompressed (at most {MAX_XLSX_XML_BYTES})")
            cells = 0
            for info in infos:
                if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
                    continue
                tail = b""
                with zf.open(info) as fh:
                    while chunk := fh.read(1 << 20):
                        data = tail + chunk
                        cells += data.count(b"<c ") + data.count(b"<c>") - tail.count(b"<c ") - tail.count(b"<c>")
                        tail = data[-3:]
                        if cells > MAX_CELLS:
                            raise _Unreadable("too_large", f"more than {MAX_CELLS} cells")
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, RuntimeError, NotImplementedError, EOFError,
            zlib.error) as exc:  # fmt: skip
        raise _Unreadable("corrupt", f"workbook unreadable: {type(exc).__name__}: {exc}"[:300]) from exc


def _load_xlsx(path: Path) -> list[_Grid]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _xlsx_cost(path)
    try:
        # Not read_only: WPS writes <dimension ref="A1"/> and read-only mode trusts it.
        # data_only: formulas give their cached values (合计 =SUM(...) -> 250.5).
        # A file object, not the path: openpyxl refuses names ending .xls even when the bytes are xlsx.
        with open(path, "rb") as fh:
            wb = load_workbook(fh, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError,
            AttributeError, IndexError, SyntaxError, EOFError, RuntimeError, zlib.error) as exc:  # fmt: skip
        # SyntaxError: lxml's XMLSyntaxError on a broken part; RuntimeError: an encrypted member.
        raise _Unreadable(
            "corrupt", f"workbook unreadable: {type(exc).__name__}: {exc}"[:300]
        ) from exc
    grids = []
    for ws in wb.worksheets:
        if ws.max_row > MAX_ROWS:  # e.g. one stray cell at XFD1048576
            wb.close()
            raise _Unreadable("too_large", f"sheet {ws.title}: a cell in row {ws.max_row} (at most {MAX_ROWS} rows)")
        rows = [list(r) for r in ws.iter_rows(values_only=True, max_col=min(ws.max_column, MAX_COLS))]
        merges = [(m.min_row, m.min_col, m.max_row, m.max_col) for m in ws.merged_cells.ranges]
        grids.append(_Grid(ws.title, rows, merges))
    wb.close()
    return grids


class _XlrdLog:
    """xlrd's ``logfile``: its warnings ("WARNING *** file size (108) not 512 + multiple of
    sector size") go to the log, not to stdout, where xlrd writes them by default."""

    def write(self, text: str) -> int:
        if text.strip():
            log.info("xlrd: %s", text.strip())
        return len(text)

    def flush(self) -> None:
        pass


def _load_xls(path: Path) -> list[_Grid]:
    import xlrd

    try:
        try:
            book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True, logfile=_XlrdLog())
        except NotImplementedError:
            book = xlrd.open_workbook(str(path), on_demand=True, logfile=_XlrdLog())
    except (xlrd.XLRDError, OSError, ValueError, AssertionError, IndexError, KeyError) as exc:
        raise _Unreadable(
            "corrupt", f"workbook unreadable: {type(exc).__name__}: {exc}"[:300]
        ) from exc
    grids = []
    for sheet in book.sheets():
        if sheet.nrows > MAX_ROWS:
            raise _Unreadable("too_large", f"sheet {sheet.name}: {sheet.nrows} rows (at most {MAX_ROWS})")
        rows: list[list[Any]] = []
        for r in range(sheet.nrows):
            row: list[Any] = []
            for c in range(min(sheet.ncols, MAX_COLS)):
                cell = sheet.cell(r, c)
                if cell.ctype == xlrd.XL_CELL_DATE:
                    try:
                        row.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
                    except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                        row.append(cell.value)
                elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
                    row.append(None)
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    row.append(bool(cell.value))
                else:
                    row.append(cell.value)
            rows.append(row)
        merges = [(r1 + 1, c1 + 1, r2, c2) for r1, r2, c1, c2 in getattr(sheet, "merged_cells", [])]
        grids.append(_Grid(sheet.name, rows, merges))
    return grids


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030", "replace")


def _load_csv(text: str, name: str) -> _Grid:
    sample = text[:8192]
    delimiter = max(",\t;", key=sample.count) if any(d in sample for d in ",\t;") else ","
    try:  # newline="": the csv module handles \r, \n and \r\n itself (and quoted newlines)
        rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:  # a NUL, a field over csv.field_size_limit()
        raise _Unreadable("corrupt", f"not a readable CSV: {exc}"[:300]) from exc
    return _Grid(name, [[v if v != "" else None for v in r] for r in rows])


class _HtmlTables(HTMLParser):
    """Cells of every <table> (Excel's 'Save as web page' .xls), with colspan/rowspan as merges."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.grids: list[_Grid] = []
        self._grid: _Grid | None = None
        self._row: int = 0
        self._cell: list[str] | None = None
        self._taken: set[tuple[int, int]] = set()
        self._col = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and self._grid is None:
            self._grid = _Grid(f"table{len(self.grids) + 1}", [])
            self._row, self._taken = 0, set()
        elif tag == "tr" and self._grid is not None:
            self._row += 1
            self._col = 0
        elif tag in ("td", "th") and self._grid is not None:
            self._row = self._row or 1  # a cell before any <tr> opens the first row
            self._col += 1
            while (self._row, self._col) in self._taken:
                self._col += 1
            span_c, span_r = _int_attr(a.get("colspan")), _int_attr(a.get("rowspan"))
            if len(self._taken) + span_r * span_c > MAX_CELLS * 10:  # spans of 1000x1000, repeated
                raise _Unreadable("too_large", f"merged cells cover more than {MAX_CELLS * 10} cells")
            for dr in range(span_r):
                for dc in range(span_c):
                    self._taken.add((self._row + dr, self._col + dc))
            if span_c > 1 or span_r > 1:
                self._grid.merges.append(
                    (self._row, self._col, self._row + span_r - 1, self._col + span_c - 1)
                )
            self._cell = []
            self._span_c = span_c
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._grid is not None:
            rows = self._grid.rows
            while len(rows) < self._row:
                rows.append([])
            row = rows[self._row - 1]
            while len(row) < self._col:
                row.append(None)
            text = "".join(self._cell).strip(BLANKS)
            row[self._col - 1] = text or None
            self._col += self._span_c - 1
            self._cell = None
        elif tag == "table" and self._grid is not None:
            self.grids.append(self._grid)
            self._grid = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _int_attr(v: str | None) -> int:
    try:
        return max(1, min(int(v or 1), 1000))
    except ValueError:
        return 1


def _load_html(text: str) -> list[_Grid]:
    parser = _HtmlTables()
    parser.feed(text)
    parser.close()
    return parser.grids or [_Grid("table1", [])]


# --- reading a grid ------------------------------------------------------------------------


def _text(v: Any) -> str:
    return "" if v is None else str(v).strip(BLANKS)


def _find_header(grid: _Grid) -> tuple[int, int] | None:
    """(row, hits) of the row naming the most notice columns among the top rows."""
    best: tuple[int, int] | None = None
    for r in range(1, min(len(grid.rows), _HEADER_SCAN_ROWS) + 1):
        keys = {table_key(_text(v)) for v in grid.rows[r - 1]} - {None}
        if len(keys) >= _MIN_HEADER_HITS and (best is None or len(keys) > best[1]):
            best = (r, len(keys))
    return best


def _header_end(grid: _Grid, r: int) -> int:
    """The last header row: a vertical merge from row r, or sub-headers under a horizontal one."""
    end = r
    for m in grid.merges:
        if m[0] == r and m[2] > r and m[2] - r <= 2:
            end = max(end, m[2])
    for m in grid.merges:
        if (
            m[0] == m[2] == r
            and m[3] > m[1]
            and any(_text(grid.value(r + 1, c)) for c in range(m[1], m[3] + 1))
        ):
            end = max(end, r + 1)
    return end


def _column_keys(grid: _Grid, r: int, end: int) -> tuple[dict[int, str], dict[str, int]]:
    """Column number -> record key, and notice key -> column number of the first column."""
    keys: dict[int, str] = {}
    present: dict[str, int] = {}
    for c in range(1, grid.width + 1):
        top = _text(grid.shown(r, c))
        sub = ""
        if end > r:
            m = grid.merge_at(r, c)
            if not (m and m[2] >= end):  # the top cell does not cover the sub-header row
                sub = _text(grid.shown(end, c))
        top_key, sub_key = table_key(top), table_key(sub) if sub else None
        m = grid.merge_at(r, c)
        top_spans = bool(m and m[3] > m[1])
        if sub_key:
            key = sub_key
        elif top_key and not (sub and top_spans):
            key = top_key
        elif sub:
            key = sub
            if top_key:
                present.setdefault(top_key, c)  # 联系方式 over 手机 | 邮箱: the column is there
        elif top:
            key = top
        else:
            continue
        if key in keys.values():
            n = 2
            while f"{key} ({n})" in keys.values():
                n += 1
            key = f"{key} ({n})"
        keys[c] = key
        if key in NOTICE_COLUMNS:
            present.setdefault(key, c)
    return keys, present


def _read_grid(grid: _Grid) -> TableFacts:
    from openpyxl.utils import get_column_letter

    facts = TableFacts(readable=True, sheet=grid.name)
    found = _find_header(grid)
    if found is None:
        facts.missing_columns = list(NOTICE_COLUMNS)
        facts.title = _first_text(grid, 1, min(len(grid.rows), 3))
        return facts
    r, _ = found
    end = _header_end(grid, r)
    facts.header_row = end
    for rr in range(1, r):
        line = _row_text(grid, rr)
        if not line:
            continue
        unit = _unit_of(line)
        if unit is not None:
            facts.unit = facts.unit or unit
        elif facts.title is None:
            facts.title = line
    keys, present = _column_keys(grid, r, end)
    facts.columns = {k: get_column_letter(c) for k, c in present.items()}
    for c, k in keys.items():
        facts.columns.setdefault(k, get_column_letter(c))
    facts.missing_columns = [k for k in NOTICE_COLUMNS if k not in present]
    header_norm = {normalize_label(_text(grid.value(r, c))) for c in keys}
    record_no = 0
    for rr in range(end + 1, len(grid.rows) + 1):
        values = grid.rows[rr - 1]
        texts = [_text(v) for v in values]
        filled = [t for t in texts if t]
        if not filled:
            continue
        first = normalize_label(filled[0])
        if first.startswith(_TOTAL_WORDS):
            continue
        unit = _unit_of(" ".join(filled))
        if unit is not None and len(filled) <= 2:
            facts.unit = facts.unit or unit
            continue
        if (
            len(filled) == 1
            and first.startswith(_FOOTER_PREFIXES)
            and not _text(grid.value(rr, 1)).isdigit()
        ):
            continue
        if {normalize_label(t) for t in filled} <= header_norm:
            continue  # the header repeated (a table printed over several pages)
        record_no += 1
        record = TableRecord(row=record_no, sheet=grid.name, excel_row=rr, cells={})
        for c, key in keys.items():
            value = grid.value(rr, c)
            a1 = f"{get_column_letter(c)}{rr}"
            cleaned, problem = _clean(value, key)
            if problem is not None:
                facts.cell_problems.append(
                    CellProblem(
                        sheet=grid.name,
                        cell=a1,
                        row=record_no,
                        field=key,
                        kind=problem[0],
                        value_seen=problem[1],
                    )
                )
            record.cells[key] = cleaned
            record.positions[key] = a1
        facts.records.append(record)
    return facts


def _row_text(grid: _Grid, r: int) -> str:
    return " ".join(t for t in (_text(v) for v in grid.rows[r - 1]) if t)


def _first_text(grid: _Grid, r1: int, r2: int) -> str | None:
    for r in range(r1, r2 + 1):
        line = _row_text(grid, r)
        if line:
            return line
    return None


def _unit_of(line: str) -> str | None:
    """``推荐单位（盖章）：XX区经信局`` -> ``XX区经信局`` (``""`` when blank); None if not such a line."""
    compact = line.strip(BLANKS)
    n = normalize_label(compact.split("：")[0].split(":")[0])
    if not n.startswith(_UNIT_PREFIXES):
        return None
    m = re.search(r"[:：](.*)$", compact)
    value = (m.group(1) if m else "").strip(BLANKS)
    # "推荐单位（盖章）：XX局  日期：2023年" - keep the unit only.
    value = re.split(r"[\s\u3000]{2,}|日期[:：]|填报日期|时间[:：]", value)[0].strip(BLANKS)
    return value


# --- cleaning cells ------------------------------------------------------------------------


def _clean(value: Any, key: str) -> tuple[str | None, tuple[str, str] | None]:
    """Cleaned text of a cell and, when a rule must know, ``(problem kind, value seen)``."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE"), None
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat(), None
        return value.isoformat(sep=" ", timespec="seconds"), None
    if isinstance(value, date):
        return value.isoformat(), None
    if isinstance(value, time):
        return value.isoformat(timespec="seconds"), None
    if isinstance(value, int):
        return _integer(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None, None
        if value.is_integer():
            return _integer(value)
        return format(value, ".15g"), None
    return _clean_text(str(value), key)


def _integer(value: int | float) -> tuple[str | None, tuple[str, str] | None]:
    if abs(value) >= _EXACT_LIMIT:
        # Shown as Excel shows it: 15 significant digits, then zeros (3.10104198807154E+17).
        seen = str(int(Decimal(format(float(value), ".15g"))))
        return None, ("precision_lost", seen)
    return str(int(value)), None


def _clean_text(raw: str, key: str) -> tuple[str | None, tuple[str, str] | None]:
    s = raw.strip(BLANKS).translate(_FULLWIDTH_DIGITS)
    if not s:
        return None, None
    m = _DATE_RE.match(s)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat(), None
        except ValueError:
            return s, None
    sci = _SCI_RE.match(s)
    if sci:
        return _sci_text(s, sci)
    if _INT_DOT_ZERO_RE.match(s):
        s = s.split(".")[0]
    if any(h in key for h in _NAME_HINTS) or key == "contact_name":
        # 张　伟 -> 张伟: padding inside Chinese names (never between Latin words).
        s = _CJK_BLANK_RE.sub("", s)
    if any(h in key for h in _PHONE_HINTS) or key in ("mobile", "phone", "contact"):
        compact = re.sub(f"[{re.escape(BLANKS)}]", "", s)
        if _PHONE_CHARS_RE.match(compact):
            s = compact
    return s, None


def _sci_text(s: str, m: re.Match[str]) -> tuple[str | None, tuple[str, str] | None]:
    """Text like ``1.3912345678E10`` (a number pasted as text): exact digits, or precision lost."""
    try:
        number = Decimal(s)
    except InvalidOperation:
        return s, None
    if number != number.to_integral_value():
        return format(number.normalize(), "f"), None
    digits = len(m.group(1).lstrip("0")) + len(m.group(2) or "")
    as_int = str(int(number))
    if digits < len(as_int.lstrip("-")) and len(as_int.lstrip("-")) >= 11:
        # 1.39E+10 for a phone, 3.10104198807154E+17 for an ID: the hidden digits are gone.
        return None, ("precision_lost", as_int)
    return as_int, None
