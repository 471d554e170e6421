"""``intake check``: read paths offline, judge them together, and report as JSON-ready data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config.model import Settings
from bot.processing.report import dossier_json
from parsers.facts import DossierFacts
from parsers.inputs import InputError, read_input
from parsers.materials import ParseOptions
from rules.campaign import Campaign
from rules.engine import evaluate
from rules.verdict import verdict

# (path, work folder, received at) -> the dossiers read from it
Reader = Callable[[Path, Path, datetime | None], list[DossierFacts]]


class SupervisedReader:
    """Reads each path in a parse worker under ``[budgets]``, as the desk reads its inputs
    (``bot/processing/supervisor.py``): a hostile file given to ``intake check`` costs a
    FILE_TOO_COSTLY finding within its budget, never the officer's terminal for half an hour.
    Call :meth:`close` when done (retires the workers)."""

    def __init__(self, settings: Settings) -> None:
        from bot.processing.pipeline import parse_options, with_ffprobe
        from bot.processing.supervisor import ParseSupervisor

        self.options = with_ffprobe(parse_options(settings))
        self.supervisor = ParseSupervisor(settings.budgets)

    def __call__(self, path: Path, workdir: Path, received_at: datetime | None) -> list[DossierFacts]:
        """The dossiers in ``path``. Raises InputError: a missing path, or one the worker could
        not read as a whole (its mail over budget, the parser failed)."""
        from bot.processing.parse_worker import ParseJob
        from bot.processing.supervisor import ParseFailed, ParseOverBudget

        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        job = ParseJob(src=path.resolve(), workdir=workdir, options=self.options,
                       received_at=received_at, display_name=path.name)
        try:
            return self.supervisor.parse(job)
        except ParseOverBudget as exc:
            raise InputError(f"{path}: over its parse budget ([budgets]): {exc}") from None
        except ParseFailed as exc:
            last = str(exc).strip().splitlines()[-1:] or ["unreadable"]
            raise InputError(f"{path}: {last[0]}") from None

    def close(self) -> None:
        self.supervisor.close()


def run_check(
    paths: list[Path],
    workdir: Path,
    campaign: Campaign,
    *,
    level: str = "city",
    received_at: datetime | None = None,
    options: ParseOptions | None = None,
    read: Reader | None = None,
) -> dict[str, Any]:
    """``{"inputs": [...], "dossiers": [...], "findings": [...]}`` for the paths, judged together.

    ``inputs`` has one entry per path that is a mail: ``{"path", "kind": "mail", "subject",
    "from_name", "from_address"}`` (decoded; what an officer checks a forwarded mail by).
    ``read``: how each path is read (the CLI: :class:`SupervisedReader`); by default
    ``read_input`` in this process with ``options``.
    Raises ``parsers.inputs.InputError`` when a path does not exist or cannot be opened.
    """
    if read is None:
        def read(path: Path, workdir: Path, received_at: datetime | None) -> list[DossierFacts]:
            return read_input(path, workdir, options=options, received_at=received_at)
    dossiers: list[DossierFacts] = []
    inputs: list[dict[str, Any]] = []
    for i, path in enumerate(paths):
        found = read(path, workdir / f"in-{i}", received_at)
        dossiers.extend(found)
        mail = next((d.mail for d in found if d.mail is not None), None)
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
