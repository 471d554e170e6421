"""The one place that turns findings into a verdict."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from rules.finding import Finding

Verdict = Literal["accepted", "defective"]
# The one place for the verdicts' Chinese names (replies, digests, history, officers' answers).
VERDICT_LABELS: dict[str, str] = {"accepted": "受理", "defective": "需补正"}


def verdict_label(v: str) -> str:
    """``受理`` / ``需补正`` for a verdict; an unknown value is shown as it is."""
    return VERDICT_LABELS.get(v, v)


def verdict(findings: Iterable[Finding]) -> Verdict:
    """``"defective"`` when any finding is an error (a 补正通知 follows), else ``"accepted"``.

    Warnings never change the verdict; they are listed in the 回执.
    """
    return "defective" if any(f.severity == "error" for f in findings) else "accepted"
