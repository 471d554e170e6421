"""Repeated measurements summarised as median and spread (the figures BENCHMARKS.md prints)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass
class Summary:
    """``values`` of one quantity over repeats (any unit): median, min, max, relative spread."""

    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    @property
    def spread(self) -> float:
        """(max - min) / median: 0.05 means the repeats lie within 5 % of the median."""
        m = self.median
        return (self.high - self.low) / m if m else 0.0

    def to_json(self) -> dict[str, float | int | list[float]]:
        return {
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "spread": self.spread,
            "repeats": len(self.values),
            "values": self.values,
        }


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("no values")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def fmt(summary: Summary, unit: str = "", digits: int = 2) -> str:
    """``1.23 s (1.20–1.30, ±4 %, n=3)`` for a table cell."""
    return (
        f"{summary.median:.{digits}f}{unit} ({summary.low:.{digits}f}–{summary.high:.{digits}f}, "
        f"spread {summary.spread * 100:.0f} %, n={len(summary.values)})"
    )
