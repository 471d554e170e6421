"""Facts about a scanned copy sent as OFD (GB/T 33190-2016, 版式文档): pages and seals.

Chinese e-government produces OFD where others produce PDF. An OFD file is a zip of XML:
``OFD.xml`` names the document root (``Doc_0/Document.xml``) and its signature list
(``Doc_0/Signs/Signatures.xml``); the document lists its pages (``Pages/Page_N/Content.xml``)
and resources (``DocumentRes.xml``/``PublicRes.xml``: images in ``Res/``).

We read the XML ourselves with defusedxml rather than through easyofd (the only Python OFD
library: it renders, with known rendering bugs, and we need no rendering): the page count from
``Document.xml``; electronic seals from ``Signs/`` (each ``Signature``'s ``StampAnnot`` names its
page; present, not verified: no Python library verifies SM2 seals); seal impressions by decoding
each page's images (Pillow, JPEG draft mode at low resolution; an image is decoded once
however often it is drawn; one over ``MAX_IMAGE_PIXELS`` after the draft reduction, or past
``MAX_PIXELS_PER_FILE`` for the whole file, is not decoded: a file of huge PNG pages is checked
on its first pages only) and searching them for red seal
marks (parsers/seals.py). Elements are matched by local name, so a producer that omits the
``ofd:`` namespace is read too. A damaged package is ``readable=False, problem="corrupt"``.
"""

from __future__ import annotations

import io
import logging
import posixpath
import zipfile
from pathlib import Path
from typing import Any

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from parsers.facts import ScanFacts, SealFound

log = logging.getLogger("intake.scans")

MAX_XML_BYTES = 4 * 1024 * 1024  # one XML part; a bigger one is not an OFD we can trust
MAX_IMAGE_BYTES = 40 * 1024 * 1024  # one page image, compressed
MAX_IMAGES_PER_PAGE = 8
MAX_IMAGE_PIXELS = 40_000_000  # one page image after JPEG draft reduction (a 600 dpi A4 is 35 Mpx)
MAX_PIXELS_PER_FILE = 200_000_000  # decoded for the seal search in one file, all images together
MAX_PAGES_CHECKED = 60  # pages searched for seal impressions (as for PDFs)
SEAL_DPI = 36.0


class _Bad(Exception):
    """The package is not a readable OFD."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: Any, name: str) -> list[Any]:
    return [c for c in el.iter() if _local(c.tag) == name]


def _first_text(el: Any, name: str) -> str | None:
    for c in _children(el, name):
        if c.text and c.text.strip():
            return c.text.strip()
    return None


def _resolve(base_dir: str, loc: str) -> str:
    """A package path: ``loc`` absolute (leading ``/``) or relative to ``base_dir``."""
    loc = loc.strip().replace("\\", "/")
    joined = loc.lstrip("/") if loc.startswith("/") else posixpath.join(base_dir, loc)
    norm = posixpath.normpath(joined)
    if norm.startswith("../") or norm == "..":
        raise _Bad(f"path outside the package: {loc}")
    return norm


class _Package:
    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        self.names = {n.rstrip("/"): n for n in zf.namelist()}
        self.lower = {n.lower(): n for n in self.names}

    def _name(self, path: str) -> str | None:
        return self.names.get(path) or self.lower.get(path.lower())

    def has(self, path: str) -> bool:
        return self._name(path) is not None

    def read(self, path: str, limit: int) -> bytes:
        name = self._name(path)
        if name is None:
            raise _Bad(f"missing part {path}")
        info = self.zf.getinfo(name)
        if info.file_size > limit:
            raise _Bad(f"part {path} declares {info.file_size} bytes")
        with self.zf.open(info) as fh:
            return fh.read(limit + 1)[:limit]

    def xml(self, path: str) -> Any:
        try:
            return ElementTree.fromstring(self.read(path, MAX_XML_BYTES))
        except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
            raise _Bad(f"{path}: {exc}") from exc


def read_ofd(path: Path) -> ScanFacts:
    """Read the OFD package at ``path``; never raises on bad input.

    ``pages``: page count; ``seals``: ``SealFound(page, "electronic")`` for each page a signature's
    stamp is on, ``SealFound(page, "image")`` for each page whose images show a seal impression.
    Problems: ``empty``, ``corrupt`` (not a zip, no ``OFD.xml``, a part missing or malformed).
    """
    facts = ScanFacts(readable=False, format="ofd")
    try:
        if path.stat().st_size == 0:
            facts.problem, facts.detail = "empty", "the file has no bytes"
            return facts
        with zipfile.ZipFile(path) as zf:
            _read(_Package(zf), facts)
    except (_Bad, zipfile.BadZipFile, OSError, KeyError, RuntimeError, NotImplementedError,
            EOFError, ValueError) as exc:  # fmt: skip
        log.info("ofd %s unreadable: %s", path.name, exc)
        facts.readable = False
        facts.problem, facts.detail = "corrupt", f"{type(exc).__name__}: {exc}"[:300]
        return facts
    return facts


def _read(pkg: _Package, facts: ScanFacts) -> None:
    if not pkg.has("OFD.xml"):
        raise _Bad("no OFD.xml at the package root")
    root = pkg.xml("OFD.xml")
    doc_loc = _first_text(root, "DocRoot")
    if not doc_loc:
        raise _Bad("OFD.xml names no DocRoot")
    doc_path = _resolve("", doc_loc)
    doc_dir = posixpath.dirname(doc_path)
    document = pkg.xml(doc_path)
    pages: list[tuple[str, str]] = []  # (page ID, Content.xml path)
    for page in _children(document, "Page"):
        loc = page.get("BaseLoc")
        if loc:
            pages.append((page.get("ID") or str(len(pages) + 1), _resolve(doc_dir, loc)))
    if not pages:
        raise _Bad("the document lists no pages")
    facts.pages = len(pages)
    facts.readable = True
    number_of = {pid: n for n, (pid, _) in enumerate(pages, start=1)}
    electronic: set[int] = set()
    signs_loc = _first_text(root, "Signatures")
    if signs_loc:
        electronic = _signed_pages(pkg, _resolve("", signs_loc), number_of)
    images = _image_seal_pages(pkg, document, doc_dir, pages, facts)
    facts.seals = [SealFound(p, "electronic") for p in sorted(electronic)] + [
        SealFound(p, "image") for p in sorted(images)
    ]


def _signed_pages(pkg: _Package, signs_path: str, number_of: dict[str, int]) -> set[int]:
    pages: set[int] = set()
    try:
        signatures = pkg.xml(signs_path)
    except _Bad as exc:
        log.info("ofd signatures unreadable: %s", exc)
        return pages
    signs_dir = posixpath.dirname(signs_path)
    for sig in _children(signatures, "Signature"):
        loc = sig.get("BaseLoc")
        if not loc:
            continue
        try:
            signature = pkg.xml(_resolve(signs_dir, loc))
        except _Bad as exc:
            log.info("ofd signature unreadable: %s", exc)
            continue
        refs = [a.get("PageRef") for a in _children(signature, "StampAnnot")]
        for ref in refs:
            if ref in number_of:
                pages.add(number_of[ref])
        if not refs and number_of:
            pages.add(1)  # a seal with no stamp annotation still seals the document
    return pages


def _media(pkg: _Package, document: Any, doc_dir: str) -> dict[str, str]:
    """Image resource ID → package path, from DocumentRes.xml and PublicRes.xml."""
    media: dict[str, str] = {}
    for name in ("DocumentRes", "PublicRes"):
        for loc in [c.text.strip() for c in _children(document, name) if c.text and c.text.strip()]:
            try:
                res_path = _resolve(doc_dir, loc)
                res = pkg.xml(res_path)
            except _Bad as exc:
                log.info("ofd resources unreadable: %s", exc)
                continue
            base = _resolve(posixpath.dirname(res_path), res.get("BaseLoc") or "")
            for mm in _children(res, "MultiMedia"):
                file = _first_text(mm, "MediaFile")
                if mm.get("ID") and file:
                    media[mm.get("ID")] = _resolve(base, file)
    return media


def _image_seal_pages(
    pkg: _Package, document: Any, doc_dir: str, pages: list[tuple[str, str]], facts: ScanFacts
) -> set[int]:
    from parsers.seals import find_seals

    media = _media(pkg, document, doc_dir)
    found: set[int] = set()
    seen: dict[tuple[str, float], bool] = {}  # each image searched once, however often drawn
    budget = [MAX_PIXELS_PER_FILE]
    for number, (_, content_path) in enumerate(pages[:MAX_PAGES_CHECKED], start=1):
        try:
            content = pkg.xml(content_path)
        except _Bad as exc:
            log.info("ofd page %d unreadable: %s", number, exc)
            continue
        facts.seal_pages_checked += 1
        objects = _children(content, "ImageObject")
        if objects:
            facts.image_pages += 1
        for obj in objects[:MAX_IMAGES_PER_PAGE]:
            target = media.get(obj.get("ResourceID") or "")
            width_mm = _width_mm(obj.get("Boundary"))
            if target is None or width_mm is None:
                continue
            key = (target, width_mm)
            if key not in seen:
                rgb, px_width = _decode(pkg, target, budget)
                seen[key] = rgb is not None and bool(find_seals(rgb, px_width / (width_mm / 25.4)))
            if seen[key]:
                found.add(number)
                break
    return found


def _width_mm(boundary: str | None) -> float | None:
    """The width (millimetres, OFD's unit) of a ``Boundary="x y w h"``."""
    try:
        width = float((boundary or "").split()[2])
    except (IndexError, ValueError):
        return None
    return width if width > 0 else None


def _decode(pkg: _Package, target: str, budget: list[int]) -> tuple[Any, int]:
    """A page image as a small RGB array (JPEG draft mode) and its width in pixels as drawn;
    ``(None, 0)`` when it is not decoded (damaged, too big, or ``budget[0]``, the pixels this
    file may still decode, is spent)."""
    import numpy as np
    from PIL import Image

    try:
        data = pkg.read(target, MAX_IMAGE_BYTES)
        with Image.open(io.BytesIO(data)) as img:
            full_width = img.width
            img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))
            pixels = img.width * img.height
            if pixels > min(MAX_IMAGE_PIXELS, budget[0]):  # a PNG/TIFF has no draft mode
                log.info("ofd image %s not decoded: %d x %d pixels", target, img.width, img.height)
                return None, 0
            budget[0] -= pixels
            small = img.convert("RGB")
            if small.width > 1200:
                small = small.resize((1200, max(1, small.height * 1200 // small.width)))
            return np.asarray(small), small.width if full_width else 0
    except (_Bad, OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        log.info("ofd image %s not decoded: %s", target, exc)
        return None, 0
