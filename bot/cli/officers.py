"""Officers' verbs for the ``intake`` command: show, waive, reject, restore, note.

Each decision is recorded in the audit table (``bot/store/decisions.py``) under the officer's name:
``--officer NAME`` (a configured officer's name or email gives that officer's name), else the
configured officer whose name or email local part is ``$USER``, else ``$USER`` itself. Mails to
applicants are queued in the store; the running daemon (or the next ``intake run --once``) sends
them. Exit codes: 0 done, 1 refused (unknown tracking number or code, already rejected …).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from typing import Annotated, Optional

import typer

from bot.config.model import Settings

OfficerOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--officer", help="Who decides (default: the officer matching $USER, or $USER)."),
]
Tracking = Annotated[str, typer.Argument(help="Tracking number, e.g. IIP2023-420100-0017-8.")]


def officer_name(settings: Settings, given: str | None) -> str:
    """The name recorded for a CLI decision (see the module docstring)."""
    who = (given or os.environ.get("USER") or _login()).strip()
    for o in settings.office.officers:
        if who.lower() in (o.name.lower(), o.email.lower(), o.email.split("@")[0].lower()):
            return o.name
    return who or "unknown"


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return ""


def _run(
    verb: str,
    tracking: str,
    *,
    code: str | None,
    text: str,
    officer: str | None,
    force: bool = False,
) -> None:
    from bot.cli.app import _settings, err
    from bot.cli.status import open_existing
    from bot.officers.actions import OfficerDesk
    from bot.officers.commands import Command
    from bot.processing.pipeline import Pipeline
    from bot.store.decisions import DecisionError
    from rules.campaign import load_campaign

    settings = _settings()
    store = open_existing(settings)
    try:
        pipeline = Pipeline(settings, store, load_campaign(settings.campaign.profile))
        desk = OfficerDesk(settings, store, pipeline)
        command = Command(verb, tracking.strip().upper(), code, text, f"intake {verb}")
        try:
            with store.transaction():
                outcome = desk.carry_out(
                    command, officer=officer_name(settings, officer), via="cli", force=force
                )
        except DecisionError as exc:
            err.print(f"intake {verb}: {exc.message}", markup=False)
            raise typer.Exit(1) from None
    finally:
        store.close()
    sys.stdout.write(outcome.message + "\n")  # one line, saying whether a notice was queued


def show(
    tracking: Tracking,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """A dossier's whole history: versions, files, findings, verdicts, replies, decisions."""
    from bot.cli.app import _settings, err
    from bot.cli.status import open_existing
    from bot.cli.terminal_text import plain
    from bot.store.history import dossier_history, history_text
    from rules.campaign import load_campaign

    settings = _settings()
    tz = load_campaign(settings.campaign.profile).timezone
    store = open_existing(settings)
    try:
        history = dossier_history(store, tracking, tz)
    finally:
        store.close()
    if history is None:
        err.print(f"intake show: 受理编号 {tracking.strip().upper()} 不存在，请核对。", markup=False)
        raise typer.Exit(1)
    if as_json:
        sys.stdout.write(json.dumps(history.to_json(), ensure_ascii=False, indent=1) + "\n")
    else:
        sys.stdout.write(plain(history_text(history)))


def waive(
    tracking: Tracking,
    code: Annotated[str, typer.Argument(help="Finding code, e.g. USCC_INVALID.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded; quoted to the applicant as 审核意见; required).")],
    officer: OfficerOpt = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Record the waiver although the current version has no such finding "
            "(later versions will not count it).",
        ),
    ] = False,
) -> None:
    """Waive one finding on one dossier; the verdict is recomputed and the applicant's notice
    queued. Refused when the dossier has no such finding now, unless --force."""
    _run("waive", tracking, code=code.strip().upper(), text=reason, officer=officer, force=force)


def reject(
    tracking: Tracking,
    reason: Annotated[str, typer.Option("--reason", help="Why (sent to the applicant; required).")],
    officer: OfficerOpt = None,
) -> None:
    """不予推荐: take the dossier out of the recommended set; the applicant is told why."""
    _run("reject", tracking, code=None, text=reason, officer=officer)


def restore(
    tracking: Tracking,
    reason: Annotated[str, typer.Option("--reason", help="Optional note to the applicant.")] = "",
    officer: OfficerOpt = None,
) -> None:
    """Undo 不予推荐: the dossier returns to the recommended set; the applicant is told."""
    _run("restore", tracking, code=None, text=reason, officer=officer)


def note(
    tracking: Tracking,
    text: Annotated[str, typer.Argument(help="The note (internal, never sent).")],
    officer: OfficerOpt = None,
) -> None:
    """Record an internal note on a dossier (备注)."""
    _run("note", tracking, code=None, text=text, officer=officer)


def register(app: typer.Typer) -> None:
    """Add ``show``, ``waive``, ``reject``, ``restore`` and ``note`` to the ``intake`` command."""
    for fn in (show, waive, reject, restore, note):
        app.command(fn.__name__)(fn)
