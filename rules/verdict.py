"""The one place that turns findings into a verdict."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from rules.finding import Finding

Verdict = Literal["accepted", "defective"]


def verdict(findings: Iterable[Finding]) -> Verdict:
    """``"defective"`` when any finding is an error (a 补正通知 follows), else ``"accepted"``.

    Warnings never change the verdict; they are listed in the 回执.
    """
    return "defective" if any(f.severity == "error" for f in findings) else "accepted"
