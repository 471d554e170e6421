"""``intake check``: read paths offline, judge them together, and report as JSON-ready data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bot.processing.report import dossier_json
from parsers.facts import DossierFacts
from parsers.inputs import read_input
from parsers.materials import ParseOptions
from rules.campaign import Campaign
from rules.engine import evaluate
from rules.verdict import verdict


def run_check(
    paths: list[Path],
    workdir: Path,
    campaign: Campaign,
    *,
    level: str = "city",
    received_at: datetime | None = None,
    options: ParseOptions | None = None,
) -> dict[str, Any]:
    """``{"dossiers": [...], "findings": [...]}`` for the paths, judged together.

    Raises ``parsers.inputs.InputError`` when a path does not exist or cannot be opened.
    """
    dossiers: list[DossierFacts] = []
    for i, path in enumerate(paths):
        dossiers.extend(
            read_input(path, workdir / f"in-{i}", options=options, received_at=received_at)
        )
    evaluation = evaluate(dossiers, campaign, level=level, now=received_at)
    return {
        "dossiers": [
            dossier_json(d, f, verdict(f), source=d.source)
            for d, f in zip(dossiers, evaluation.per_dossier, strict=True)
        ],
        "findings": [f.to_json() for f in evaluation.general],
    }
