"""Facts about the full scanned copy (全套扫描件) PDF: pages, image pages, encryption."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from parsers.facts import ScanFacts

log = logging.getLogger("intake.scans")

_TEXT_CHARS = 20  # a page with fewer extractable characters than this carries no real text layer


def read_scan(path: Path) -> ScanFacts:
    """Read the PDF at ``path`` with pypdf; never raises on bad input.

    ``pages``: page count; ``image_pages``: pages drawing an image XObject (a scanned sheet,
    with or without an OCR text layer); ``text_pages``: the other pages with at least
    ``_TEXT_CHARS`` characters of text. ``encrypted``: the PDF has an /Encrypt dictionary; one
    that opens with the empty user password (owner-password "protection") stays readable.
    Problems: ``empty``, ``encrypted`` (a user password is needed), ``corrupt``.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        if path.stat().st_size == 0:
            return ScanFacts(readable=False, problem="empty", detail="the file has no bytes")
    except OSError as exc:
        return ScanFacts(readable=False, problem="corrupt", detail=str(exc))
    facts = ScanFacts(readable=False)
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            facts.encrypted = True
            try:
                opened = reader.decrypt("")
            except (PyPdfError, NotImplementedError, ValueError) as exc:
                # pypdf needs the optional 'cryptography' package for AES; say so.
                facts.problem, facts.detail = "encrypted", f"cannot decrypt: {exc}"
                return facts
            if not opened:
                facts.problem, facts.detail = "encrypted", "the PDF needs a password to open"
                return facts
        facts.pages = len(reader.pages)
        for page in reader.pages:
            if _has_image(page):
                facts.image_pages += 1
            elif len((_page_text(page) or "").strip()) >= _TEXT_CHARS:
                facts.text_pages += 1
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError,
            RecursionError, IndexError) as exc:  # fmt: skip
        # pypdf raises many kinds on damaged files: translated once, here.
        log.info("pdf %s unreadable: %s", path.name, exc)
        facts.problem, facts.detail = "corrupt", f"{type(exc).__name__}: {exc}"[:300]
        return facts
    if facts.pages == 0:
        facts.problem, facts.detail = "corrupt", "the PDF has no pages"
        return facts
    facts.readable = True
    return facts


def _page_text(page: Any) -> str:
    try:
        return page.extract_text() or ""
    except Exception as exc:  # noqa: BLE001 - text extraction failing on one page is not fatal
        log.debug("text extraction failed: %s", exc)
        return ""


def _has_image(page: Any) -> bool:
    """True when the page's resources (or a form XObject they use) hold an image XObject."""
    try:
        resources = page.get("/Resources")
        return _resources_have_image(resources, depth=0)
    except Exception as exc:  # noqa: BLE001 - a broken resource dictionary just means "no image"
        log.debug("resource walk failed: %s", exc)
        return False


def _resources_have_image(resources: Any, depth: int) -> bool:
    if resources is None or depth > 4:
        return False
    resources = resources.get_object()
    xobjects = resources.get("/XObject")
    if xobjects is None:
        return False
    for ref in xobjects.get_object().values():
        xobj = ref.get_object()
        subtype = xobj.get("/Subtype")
        if subtype == "/Image":
            return True
        if subtype == "/Form" and _resources_have_image(xobj.get("/Resources"), depth + 1):
            return True
    return False
