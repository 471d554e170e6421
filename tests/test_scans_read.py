"""read_scan on real PDFs: image scans, text PDFs, owner/user passwords, damaged files."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from parsers.scans import read_scan
from tests.factories import make_scan_pdf


def _rewrite(src: Path, out: Path, **encrypt: str) -> Path:
    writer = PdfWriter()
    for page in PdfReader(src).pages:
        writer.add_page(page)
    if encrypt:
        writer.encrypt(**encrypt)
    with open(out, "wb") as fh:
        writer.write(fh)
    return out


def test_image_scan_pages(tmp_path: Path) -> None:
    facts = read_scan(make_scan_pdf(tmp_path / "全套扫描件.pdf", pages=3))
    assert (facts.readable, facts.pages, facts.image_pages, facts.text_pages, facts.encrypted) == (
        True,
        3,
        3,
        0,
        False,
    )


def test_text_pdf_has_text_pages(tmp_path: Path) -> None:
    pytest.importorskip("reportlab")
    from reportlab.pdfgen import canvas

    path = tmp_path / "申报书.pdf"
    c = canvas.Canvas(str(path))
    for _ in range(2):
        c.drawString(72, 720, "Industrial Internet pilot application form, basic information page.")
        c.showPage()
    c.save()
    facts = read_scan(path)
    assert (facts.readable, facts.pages, facts.image_pages, facts.text_pages) == (True, 2, 0, 2)


def test_owner_password_only_stays_readable(tmp_path: Path) -> None:
    path = _rewrite(
        make_scan_pdf(tmp_path / "a.pdf", pages=2),
        tmp_path / "b.pdf",
        user_password="",
        owner_password="owner",
    )
    facts = read_scan(path)
    assert (facts.readable, facts.encrypted, facts.pages) == (True, True, 2)


def test_user_password_is_encrypted(tmp_path: Path) -> None:
    path = _rewrite(
        make_scan_pdf(tmp_path / "a.pdf", pages=1), tmp_path / "b.pdf", user_password="secret"
    )
    facts = read_scan(path)
    assert (facts.readable, facts.encrypted, facts.problem) == (False, True, "encrypted")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (b"%PDF-1.4\n1 0 obj garbage", "corrupt"),
        (b"MZ\x90\x00 not a pdf", "corrupt"),
    ],
)
def test_damaged_pdf_is_a_fact(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "全套扫描件.pdf"
    path.write_bytes(content)
    facts = read_scan(path)
    assert (facts.readable, facts.problem) == (False, problem)


def test_half_uploaded_scan_is_corrupt(tmp_path: Path) -> None:
    full = make_scan_pdf(tmp_path / "full.pdf", pages=3).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(full[: len(full) // 2])
    facts = read_scan(cut)
    assert (facts.readable, facts.problem, facts.pages) == (False, "corrupt", 0)
