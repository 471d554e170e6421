"""Seal impressions (公章) on page images: red, roughly round or oval marks of seal size.

Officers doing 形式审查 flip through the 全套扫描件 looking for the red seal on the cover, the 承诺书
and the recommendation page. We look for the same thing on a low-resolution rendering: pixels that
are clearly red (red well above green and blue, as seal ink is on white paper), grouped into
components on a grid of about 1 mm, and a component counts as a seal when it is

- of seal size: 20–60 mm across (official round seals are 38–42 mm, oval ones 40 × 30 mm; the
  GB/T 29157-2012 seal specification and the public-security rules for 公章 size);
- roughly round or oval: its sides' ratio within 0.6–1.67, and the corners of its bounding box
  mostly empty (a red rectangle, a table row or a red banner fills them);
- not a filled blob: red covers 10–85 % of its bounding box (a ring with text, a star).

No model is downloaded and nothing is learnt: a seal stamped in another colour, or a scan in
grey, is not found (the rule that uses this is a warning; officers decide).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID_MM = 1.0  # one grid cell is about this many millimetres of paper
MIN_MM, MAX_MM = 20.0, 60.0  # seal size range, millimetres across
MIN_ASPECT = 0.6
MIN_FILL, MAX_FILL = 0.10, 0.85
MAX_CORNER_FILL = 0.2  # share of the bounding box's corner cells (outside the ellipse) that are red
MAX_RED_SHARE = 0.35  # a page whose (joined) grid is redder than this is no sealed sheet: not walked
_RED_MIN = 110  # 0–255
_RED_MARGIN = 45  # red must exceed green and blue by this much


@dataclass(frozen=True)
class SealMark:
    """One seal-like mark: its bounding box in millimetres from the top-left of the image."""

    x_mm: float
    y_mm: float
    width_mm: float
    height_mm: float


def red_mask(rgb: np.ndarray) -> np.ndarray:
    """Boolean mask of the clearly red pixels of an ``(h, w, 3+)`` uint8 RGB image."""
    px = rgb[..., :3].astype(np.int16)
    r, g, b = px[..., 0], px[..., 1], px[..., 2]
    return (r >= _RED_MIN) & (r - g >= _RED_MARGIN) & (r - b >= _RED_MARGIN)


def find_seals(rgb: np.ndarray, dpi: float) -> list[SealMark]:
    """Seal-like red marks on an RGB page image rendered at ``dpi`` (dots per inch).

    ``rgb``: ``(h, w, 3)`` or ``(h, w, 4)`` uint8. Returns the marks found, largest first; never
    raises on an image too small or without red. Cost: a few passes of numpy over the pixels, and
    Python work per run of red grid cells (``_component_boxes``; an A4 page has at most ~62,000
    cells); a grid more than ``MAX_RED_SHARE`` red after joining is not searched (no seals found).
    """
    if rgb.ndim != 3 or rgb.shape[0] < 4 or rgb.shape[1] < 4 or dpi <= 0:
        return []
    mask = red_mask(rgb)
    cell = max(1, int(round(dpi * GRID_MM / 25.4)))
    h, w = mask.shape
    gh, gw = h // cell, w // cell
    if gh < 2 or gw < 2:
        return []
    grid = mask[: gh * cell, : gw * cell].reshape(gh, cell, gw, cell).mean(axis=(1, 3)) > 0.08
    if grid.sum() < 20:
        return []
    # Join the strokes of a seal's ring and characters: dilate by one cell.
    joined = grid.copy()
    joined[1:, :] |= grid[:-1, :]
    joined[:-1, :] |= grid[1:, :]
    joined[:, 1:] |= grid[:, :-1]
    joined[:, :-1] |= grid[:, 1:]
    if float(joined.mean()) > MAX_RED_SHARE:
        # A red page, or a pattern made to cost Python work run by run: a seal covers a few per
        # cent of a sheet, red letterheads a few more.
        return []
    mm = cell * 25.4 / dpi  # millimetres per grid cell
    marks: list[SealMark] = []
    for box in _component_boxes(joined):
        mark = _as_seal(grid, box, mm)
        if mark is not None:
            marks.append(mark)
    return sorted(marks, key=lambda m: -m.width_mm * m.height_mm)


def _component_boxes(cells: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (top, bottom, left, right; inclusive cell indices) of the 4-connected
    components of the boolean grid ``cells``, in the row-major order of their first cell.

    The grid is cut into runs (a row's consecutive true cells, found by numpy); runs of adjacent
    rows that share a column are joined (union-find). The Python work is per run, not per cell:
    a seal ~45 cells across is ~45 runs, where a cell-by-cell walk visited ~1,500 cells.
    """
    edges = np.diff(np.pad(cells, ((0, 0), (1, 1))).view(np.int8), axis=1)
    rows, starts = np.nonzero(edges == 1)
    ends = np.nonzero(edges == -1)[1]  # exclusive; same row-major order as the starts
    rows_l, starts_l, ends_l = rows.tolist(), starts.tolist(), ends.tolist()
    n = len(rows_l)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Rows' runs are sorted and disjoint: one pointer walks the row above while a row's runs are
    # read, so the joining is linear in the number of runs (an alternating pattern included).
    span: dict[int, list[int]] = {}  # row -> [first run, last run + 1]
    for i, r in enumerate(rows_l):
        if r in span:
            span[r][1] = i + 1
        else:
            span[r] = [i, i + 1]
    for r, (first, stop) in span.items():
        above = span.get(r - 1)
        if above is None:
            continue
        j, j_stop = above
        for i in range(first, stop):
            while j < j_stop and ends_l[j] <= starts_l[i]:
                j += 1
            k = j
            while k < j_stop and starts_l[k] < ends_l[i]:
                a, b = find(i), find(k)
                if a != b:
                    parent[max(a, b)] = min(a, b)  # a root stays its component's first run
                k += 1
    boxes: dict[int, list[int]] = {}
    for i in range(n):
        root = find(i)
        box = boxes.get(root)
        if box is None:
            boxes[root] = [rows_l[i], rows_l[i], starts_l[i], ends_l[i] - 1]
        else:
            box[1] = max(box[1], rows_l[i])
            box[2] = min(box[2], starts_l[i])
            box[3] = max(box[3], ends_l[i] - 1)
    return [tuple(b) for _, b in sorted(boxes.items())]


def _as_seal(grid: np.ndarray, box: tuple[int, int, int, int], mm: float) -> SealMark | None:
    top, bottom, left, right = box
    hc, wc = bottom - top + 1, right - left + 1
    height, width = hc * mm, wc * mm
    if not (MIN_MM <= max(height, width) <= MAX_MM and min(height, width) >= MIN_MM * 0.6):
        return None
    if min(hc, wc) / max(hc, wc) < MIN_ASPECT:
        return None
    box = grid[top : bottom + 1, left : right + 1]
    fill = float(box.mean())
    if not (MIN_FILL <= fill <= MAX_FILL):
        return None
    # Cells outside the inscribed ellipse (the corners) must be mostly empty.
    yy, xx = np.mgrid[0:hc, 0:wc]
    ny = (yy + 0.5 - hc / 2) / (hc / 2)
    nx = (xx + 0.5 - wc / 2) / (wc / 2)
    corners = ny**2 + nx**2 > 1.15
    if corners.any() and float(box[corners].mean()) > MAX_CORNER_FILL:
        return None
    return SealMark(round(left * mm, 1), round(top * mm, 1), round(width, 1), round(height, 1))
