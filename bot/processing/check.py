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
    """``{"inputs": [...], "dossiers": [...], "findings": [...]}`` for the paths, judged together.

    ``inputs`` has one entry per path that is a mail: ``{"path", "kind": "mail", "subject",
    "from_name", "from_address"}`` (decoded; what an officer checks a forwarded mail by).
    Raises ``parsers.inputs.InputError`` when a path does not exist or cannot be opened.
    """
    dossiers: list[DossierFacts] = []
    inputs: list[dict[str, Any]] = []
    for i, path in enumerate(paths):
        read = read_input(path, workdir / f"in-{i}", options=options, received_at=received_at)
        dossiers.extend(read)
        mail = next((d.mail for d in read if d.mail is not None), None)
        if mail is not None:
            inputs.append({
                "path": str(path), "kind": "mail", "subject": mail.subject,
                "from_name": mail.from_name, "from_address": mail.from_addr,
            })
    evaluation = evaluate(dossiers, campaign, level=level, now=received_at)
    return {
        "inputs": inputs,
        "dossiers": [
            dossier_json(d, f, verdict(f), source=d.source)
            for d, f in zip(dossiers, evaluation.per_dossier, strict=True)
        ],
        "findings": [f.to_json() for f in evaluation.general],
    }
