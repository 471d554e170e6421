"""Facts about the full scanned copy (全套扫描件) PDF: pages, image pages, encryption, seals.

Seals: each page is rendered at ``SEAL_DPI`` with pypdfium2 and searched for red seal impressions
(parsers/seals.py); signature fields (``/FT /Sig`` with a ``/ByteRange``, ISO 32000-1 §12.8) are
electronic seals, present but not verified (no Python library verifies SM2 seals). At most
``SEAL_MAX_PAGES`` pages are rendered (about 30 ms a page at this resolution: a 40-page scan in
about a second on one core); later pages are not looked at, and ``seal_pages_checked`` says so.
A page is rendered at most ``SEAL_MAX_PIXELS`` large whatever its MediaBox says, and no page is
started after ``SEAL_BUDGET_S`` seconds (a content stream can make pdfium slow on every page).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from parsers.facts import ScanFacts, SealFound

SEAL_DPI = 36.0  # render resolution for the seal search (a seal is still ~55 pixels across)
SEAL_MAX_PAGES = 60
SEAL_BUDGET_S = 10.0  # wall time for the seal search of one file; later pages are not rendered
SEAL_MAX_PIXELS = 250_000  # one rendered page: A4 at SEAL_DPI is 0.13 Mpx, A3 0.25 Mpx

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
    electronic = _signature_pages(reader)
    # One seal is what the notice asks of the scanned copy (SCAN_SEAL_MISSING): a signed PDF is
    # not rendered, and the search of an unsigned one stops at the first sealed page.
    image = None if electronic else _first_seal_page(path, facts)
    facts.seals = [SealFound(p, "electronic") for p in sorted(electronic)] + (
        [SealFound(image, "image")] if image is not None else []
    )
    return facts


def _signature_pages(reader: Any) -> set[int]:
    """1-based pages holding a signed signature field (a widget whose field is /Sig with /V)."""
    pages: set[int] = set()
    try:
        for number, page in enumerate(reader.pages, start=1):
            for ref in page.get("/Annots") or []:
                annot = ref.get_object()
                field = annot
                for _ in range(4):  # the widget, or its parent field, carries /FT
                    if field is None or field.get("/FT") is not None:
                        break
                    field = field.get("/Parent")
                    field = field.get_object() if field is not None else None
                if field is None or field.get("/FT") != "/Sig":
                    continue
                value = field.get("/V")
                value = value.get_object() if value is not None else None
                if value is not None and value.get("/ByteRange") is not None:
                    pages.add(number)
    except Exception as exc:  # noqa: BLE001 - a broken annotation just means "no signature found"
        log.debug("signature walk failed: %s", exc)
    return pages


def _first_seal_page(path: Path, facts: ScanFacts) -> int | None:
    """The first 1-based page with a seal impression, or None, from a low-resolution rendering
    (pypdfium2); ``facts.seal_pages_checked`` counts the pages rendered."""
    import pypdfium2 as pdfium

    from parsers.seals import find_seals

    try:
        pdf = pdfium.PdfDocument(str(path))
    except Exception as exc:  # noqa: BLE001 - pdfium's errors on damaged files: no seal search
        log.info("pdf %s not rendered for seals: %s", path.name, exc)
        return None
    started = time.monotonic()
    try:
        for index in range(min(len(pdf), SEAL_MAX_PAGES)):
            if time.monotonic() - started > SEAL_BUDGET_S:
                log.info("seal search of %s stopped after %d pages (%.0f s budget)",
                         path.name, index, SEAL_BUDGET_S)
                break
            try:
                page = pdf[index]
                width_pt, height_pt = page.get_size()
                # A page bigger than A3 (a MediaBox may say 200 inches) is rendered smaller:
                # seals on it are then too small to find, which is right for no real scan.
                scale = min(SEAL_DPI / 72.0,
                            (SEAL_MAX_PIXELS / max(1.0, width_pt * height_pt)) ** 0.5)
                bitmap = page.render(scale=scale, rev_byteorder=True)
                rgb = bitmap.to_numpy()
            except Exception as exc:  # noqa: BLE001 - one page that will not render is skipped
                log.debug("page %d of %s not rendered: %s", index + 1, path.name, exc)
                continue
            facts.seal_pages_checked += 1
            if find_seals(rgb, scale * 72.0):
                return index + 1
    finally:
        pdf.close()
    return None


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
