"""Seal search on a 40-page scanned copy (issue 19: "within a few seconds on one core").

Builds a 40-page A4 scan at 150 dpi (one JPEG per page, red seals on pages 1, 20 and 40), then
times, in this process (one core), ``parsers.scans.read_scan`` (pages, text, seals) against its
floor: pdfium rendering the same pages at the same resolution with no analysis. Prints a
Markdown table; ``python bench/seals.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from parsers.scans import SEAL_DPI, read_scan  # noqa: E402
from tests.factories import draw_seal  # noqa: E402

PAGES = 40


def make_scan(path: Path) -> Path:
    from PIL import Image, ImageDraw

    pages = []
    for n in range(PAGES):
        img = Image.new("RGB", (1240, 1754), "white")
        draw = ImageDraw.Draw(img)
        for y in range(200, 1600, 50):
            draw.line([(120, y), (1120, y)], fill=(60, 60, 60), width=3)
        if n + 1 in (1, 20, 40):
            draw_seal(draw, 850, 1400, 42 / 25.4 * 150 / 2, width=12)
        pages.append(img)
    pages[0].save(path, "PDF", save_all=True, append_images=pages[1:], resolution=150.0)
    return path


def render_only(path: Path) -> None:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    for i in range(len(pdf)):
        pdf[i].render(scale=SEAL_DPI / 72.0, rev_byteorder=True).to_numpy()
    pdf.close()


def best(fn, repeats: int = 3) -> tuple[float, float]:  # noqa: ANN001
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        scan = make_scan(Path(tmp) / "scan.pdf")
        facts = read_scan(scan)  # warm-up (loads pdfium)
        assert [s.page for s in facts.seals] == [1, 20, 40], facts.seals
        full = best(lambda: read_scan(scan))
        floor = best(lambda: render_only(scan))
        size = scan.stat().st_size
    print(f"| {PAGES}-page scan, 150 dpi ({size / 1e6:.1f} MB) | wall s | CPU s |")
    print("|---|---|---|")
    print(f"| read_scan (pages, text, seals) | {full[0]:.2f} | {full[1]:.2f} |")
    print(f"| floor: pdfium render at {SEAL_DPI:.0f} dpi only | {floor[0]:.2f} | {floor[1]:.2f} |")
    print(f"| ratio | {full[0] / floor[0]:.2f}× | |")


if __name__ == "__main__":
    main()
