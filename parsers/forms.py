"""Application forms (申报书): fields by label matching in tables and paragraphs, priority claims."""

from __future__ import annotations

import logging
import posixpath
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from parsers.facts import FormFacts
from parsers.labels import BLANKS, form_key, inline_pairs
from parsers.office_convert import convert_to_docx, find_soffice

log = logging.getLogger("intake.forms")

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The main part's content types read as a form: .docx, .dotx and .docm (its macros are never run;
# FILE_FORBIDDEN reports them).
_WORD_MAINS = frozenset({
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    "application/vnd.ms-word.document.macroEnabled.main+xml",
})  # fmt: skip
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_MAX_XML_BYTES = 200 * 1024 * 1024  # a form's document.xml is a few MB; more is a zip bomb

# Notice 二（二）: the four priority conditions, as the slugs of FormFacts.priority.
_CLAUSE = r"[^。；;\n]"
PRIORITY_PATTERNS: dict[str, re.Pattern[str]] = {
    "demo_base": re.compile(
        r"(?:国家)?新型工业化产业示范基地|工业稳增长和转型升级成效明显|稳增长和转型升级成效明显"
    ),
    "innovation_accepted": re.compile(
        rf"(?:完成|通过){_CLAUSE}{{0,30}}创新发展工程{_CLAUSE}{{0,10}}验收"
        rf"|(?:工业互联网)?创新发展工程{_CLAUSE}{{0,20}}(?:已|通过|完成){_CLAUSE}{{0,6}}验收"
    ),
    "old_revolutionary_area": re.compile(r"革命老区"),
    "notable_results": re.compile(
        rf"(?:绿色低碳|安全生产|国际合作|军民融合){_CLAUSE}{{0,30}}(?:显著成效|成效显著|成效明显|显著)"
    ),
}
# An unticked box or a negation just before the words means the condition is not claimed.
_NOT_CLAIMED_RE = re.compile(r"(?:[□☐]|不属于|不是|非|未|否)[\s\u3000]*$")


def read_form(path: Path, *, kind: str = "docx", convert_timeout_s: float = 60) -> FormFacts:
    """Read an application form; never raises on bad input.

    ``kind`` is the content kind from ``classify.detect_kind``: docx/docm are read directly;
    doc/wps are converted with LibreOffice (``office_convert``, at most ``convert_timeout_s``
    seconds) when it is installed, else ``problem="unsupported"`` asking for a .docx.
    Fields are found by label (``labels.FORM_LABELS``) in table cells (value to the right, or
    below for header-style tables; merged cells repeated by python-docx are skipped) and in
    ``标签：值`` paragraphs; the first occurrence of each field wins. ``priority`` lists the
    notice 二（二） conditions the text claims. Problems: ``empty``, ``encrypted``, ``corrupt``,
    ``unsupported``, ``timeout``.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        return FormFacts(readable=False, problem="corrupt", detail=str(exc))
    if not head:
        return FormFacts(readable=False, problem="empty", detail="the file has no bytes")
    if kind in ("doc", "wps") or (head.startswith(_OLE_MAGIC) and not _is_encrypted_ooxml(path)):
        return _read_legacy(path, kind if kind in ("doc", "wps") else "doc", convert_timeout_s)
    if head.startswith(_OLE_MAGIC):
        return FormFacts(
            readable=False,
            problem="encrypted",
            detail="the document is password-protected; ask for an unprotected copy",
        )
    return _read_docx(path)


def _is_encrypted_ooxml(path: Path) -> bool:
    """An OLE2 file holding an EncryptedPackage stream is a password-protected .docx (MS-OFFCRYPTO)."""
    try:
        with open(path, "rb") as fh:
            return "EncryptedPackage".encode("utf-16-le") in fh.read(4 * 1024 * 1024)
    except OSError:
        return False


def _read_legacy(path: Path, kind: str, timeout_s: float) -> FormFacts:
    suffix = "." + kind
    if find_soffice() is None:
        return FormFacts(
            readable=False,
            problem="unsupported",
            detail=f"a {suffix} form cannot be read here (LibreOffice is not installed); "
            "ask the applicant to send the form as .docx",
        )
    with tempfile.TemporaryDirectory(prefix="intake-form-") as tmp:
        src = Path(tmp) / f"form{suffix}"
        src.write_bytes(path.read_bytes())
        conv = convert_to_docx(src, Path(tmp) / "out", timeout_s=timeout_s)
        if conv.docx is None:
            problem = conv.problem or "corrupt"
            return FormFacts(
                readable=False,
                converted_from=suffix,
                problem=problem,
                detail=(conv.detail or "") + "; ask for the form as .docx",
            )
        facts = _read_docx(conv.docx)
    facts.converted_from = suffix
    return facts


def _open_document(path: Path) -> Any:
    """A python-docx Document of the main part only; a .docm or .dotx is read as a .docx.

    A form is read for its body (paragraphs and tables): styles, numbering, fonts, theme and
    the rest are neither parsed nor kept (``docx.Document`` parsed every XML part: 18 ms of the
    ~60 ms a small dossier cost its worker). The main part is the package's ``officeDocument``
    relationship (ECMA-376 Part 2, 8.3), its content type a wordprocessing main document.
    Raises ``KeyError`` (a part named but absent), ``ValueError`` (not a Word document, or an
    implausible uncompressed size), ``zipfile.BadZipFile`` and lxml's errors.
    """
    from docx.document import Document
    from docx.oxml.parser import parse_xml

    with zipfile.ZipFile(path) as zf:
        total = sum(i.file_size for i in zf.infolist())
        if total > _MAX_XML_BYTES:
            raise ValueError(f"uncompressed size {total} bytes is implausible for a form")
        main = _main_part(zf)
        content_type = _content_type(zf, main)
        if content_type not in _WORD_MAINS:
            raise ValueError(f"file is not a Word file, content type is {content_type!r}")
        element = parse_xml(zf.read(main))
    return Document(element, None)


def _main_part(zf: zipfile.ZipFile) -> str:
    """The zip member name of the package's main part (its ``officeDocument`` relationship)."""
    from docx.oxml.parser import parse_xml

    for rel in parse_xml(zf.read("_rels/.rels")):
        if rel.get("Type") == _OFFICE_DOCUMENT and rel.get("TargetMode") != "External":
            return posixpath.normpath(posixpath.join("/", rel.get("Target") or "")).lstrip("/")
    raise KeyError("no officeDocument relationship in _rels/.rels")


def _content_type(zf: zipfile.ZipFile, name: str) -> str:
    """The content type [Content_Types].xml gives member ``name``: its Override, else the Default
    of its extension (OPC matches both without regard to case)."""
    from docx.oxml.parser import parse_xml

    by_extension: dict[str, str] = {}
    for item in parse_xml(zf.read("[Content_Types].xml")):
        tag = item.tag.rpartition("}")[2]
        if tag == "Override" and (item.get("PartName") or "").lower() == "/" + name.lower():
            return item.get("ContentType") or ""
        if tag == "Default":
            by_extension[(item.get("Extension") or "").lower()] = item.get("ContentType") or ""
    return by_extension.get(name.rpartition(".")[2].lower(), "")


def _read_docx(path: Path) -> FormFacts:
    from lxml.etree import LxmlError

    try:
        document = _open_document(path)
    except (zipfile.BadZipFile, KeyError, ValueError, LxmlError, OSError, TypeError,
            AttributeError, RuntimeError, NotImplementedError) as exc:  # fmt: skip
        # python-docx/lxml raise many kinds on a damaged package: translated once, here.
        log.info("form %s unreadable: %s", path.name, exc)
        return FormFacts(
            readable=False, problem="corrupt", detail=f"{type(exc).__name__}: {exc}"[:300]
        )
    facts = FormFacts(readable=True)
    lines: list[str] = []
    counters = {"para": 0, "table": 0}
    try:
        _walk(document, facts, lines, counters)
    except (LxmlError, ValueError, KeyError, AttributeError, TypeError) as exc:
        log.info("form %s partly unreadable: %s", path.name, exc)
        facts.problem, facts.detail = "corrupt", f"{type(exc).__name__}: {exc}"[:300]
    facts.text = "\n".join(lines)
    facts.priority = priority_claims(facts.text)
    return facts


def _walk(container: Any, facts: FormFacts, lines: list[str], counters: dict[str, int]) -> None:
    """Paragraphs and tables in document order (python-docx ``iter_inner_content``)."""
    from docx.table import Table

    for block in container.iter_inner_content():
        if isinstance(block, Table):
            counters["table"] += 1
            _read_table(block, counters["table"], facts, lines, counters)
            continue
        counters["para"] += 1
        text = block.text
        if not text.strip(BLANKS):
            continue
        lines.append(text)
        for key, value in inline_pairs(text):
            if value:
                _put(facts, key, value, f"段落{counters['para']}")


def _read_table(
    table: Any, number: int, facts: FormFacts, lines: list[str], counters: dict[str, int]
) -> None:
    grid = [list(row.cells) for row in table.rows]
    texts = _CellTexts()
    seen: set[int] = set()  # ids of the _tc elements already read (merged cells repeat)
    for r, row in enumerate(grid):
        for c, cell in enumerate(row):
            tc = cell._tc
            if id(tc) in seen:
                continue
            seen.add(id(tc))
            text = texts(cell)
            if text:
                lines.append(text)
            for inner in cell.tables:
                counters["table"] += 1
                _read_table(inner, counters["table"], facts, lines, counters)
            if not text:
                continue
            where = f"表{number} R{r + 1}C{c + 1}"
            pairs = inline_pairs(text)
            key = form_key(text)
            if key is None and pairs:
                for k, v in pairs:
                    if v:
                        _put(facts, k, v, where)
                    else:
                        _value_near(grid, r, c, k, number, facts, texts)
                continue
            if key is not None:
                _value_near(grid, r, c, key, number, facts, texts)


class _CellTexts:
    """Each cell's text (python-docx ``cell.text``, stripped of ``BLANKS``), read once per table:
    a merged cell repeats in the grid, and a value cell is read again for the label beside it."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Any, str]] = {}

    def __call__(self, cell: Any) -> str:
        tc = cell._tc
        hit = self._texts.get(id(tc))
        if hit is None or hit[0] is not tc:
            hit = self._texts[id(tc)] = (tc, cell.text.strip(BLANKS))
        return hit[1]


def _value_near(
    grid: list[list[Any]], r: int, c: int, key: str, number: int, facts: FormFacts, texts: _CellTexts
) -> None:
    """The value of the label cell at (r, c): the next distinct cell right, else the one below."""
    tc = grid[r][c]._tc
    right = next(
        ((c2, cell) for c2, cell in enumerate(grid[r]) if c2 > c and cell._tc is not tc), None
    )
    if right is not None:
        text = texts(right[1])
        if text and form_key(text) is None and not inline_pairs(text):
            _put(facts, key, text, f"表{number} R{r + 1}C{right[0] + 1}")
            return
        if not text:
            return  # the value cell is there but blank: the field is empty, not elsewhere
    # Header-style table (labels in one row, values in the next): look below.
    for r2 in range(r + 1, len(grid)):
        if c >= len(grid[r2]) or grid[r2][c]._tc is tc:
            continue
        text = texts(grid[r2][c])
        if text and form_key(text) is None:
            _put(facts, key, text, f"表{number} R{r2 + 1}C{c + 1}")
        return


def _put(facts: FormFacts, key: str, value: str, where: str) -> None:
    value = re.sub(r"[\s\u3000]*\n[\s\u3000]*", " ", value.strip(BLANKS))
    if value and key not in facts.fields:
        facts.fields[key] = value
        facts.positions[key] = where


def priority_claims(text: str) -> list[str]:
    """Slugs of the notice 二（二） priority conditions that ``text`` claims, in clause order.

    A mention right after an unticked box (□) or a negation (不属于/非/未/否) is not a claim.
    """
    claims = []
    for slug, pattern in PRIORITY_PATTERNS.items():
        for m in pattern.finditer(text):
            if not _NOT_CLAIMED_RE.search(text[max(0, m.start() - 6) : m.start()]):
                claims.append(slug)
                break
    return claims
