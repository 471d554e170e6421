"""The ``intake`` command: run the daemon, check files offline, show status, diagnose the machine.

Exit codes: 0 success (``check``: no finding of severity error), 1 findings of severity error (or a
failed command), 2 wrong arguments or an input that cannot be opened at all.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup, TyperOption

from bot.cli.terminal_text import cell
from bot.config.model import ConfigError, Level, Settings, load_settings
from bot.errors import IntakeError
from bot.logs import setup_logging
from bot.sources.imap.connect import ImapError
from bot.store.archive import ArchiveError
from outbox.delivery.smtp import DeliveryFailure
from outbox.errors import OutboxError
from rules.campaign import CampaignError
from rules.errors import RulesError

# Failures of the machine or the network, not of the program: reported in one line.
OPERATIONAL_ERRORS = (OSError, sqlite3.Error, ImapError, ArchiveError, CampaignError, DeliveryFailure)

_type_of = TyperOption.display_type_rich


def _type_unless_flag(self: TyperOption, ctx) -> str | None:
    """Help shows a value's type (``<str>``), but nothing for an on/off flag (typer prints ``<bool>``,
    as if ``--once`` took a value)."""
    return None if self.is_flag else _type_of(self, ctx)


TyperOption.display_type_rich = _type_unless_flag  # type: ignore[method-assign]


class _FriendlyGroup(TyperGroup):
    """Operational failures (a mailbox that cannot be reached, a folder that cannot be written)
    end as one ``intake: …`` line and exit 1; ``-v`` shows the traceback."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except OPERATIONAL_ERRORS as exc:
            if State.verbose:
                raise
            # Our own errors say what happened in words; the system's keep their class
            # (PermissionError, sqlite3.OperationalError), which the IT person searches for.
            ours = isinstance(exc, (IntakeError, OutboxError, RulesError))
            typer.echo(f"intake: {exc}" if ours else f"intake: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(1)


app = typer.Typer(
    rich_markup_mode=None,  # help is plain text: "[smtp] dkim_*", "[default: …]" stay as written
    cls=_FriendlyGroup,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    no_args_is_help=True,
    help="dossier-intake: the intake desk for 申报材料 (receipts, defect notices, 汇总表).",
)
config_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, help="Configuration files.")
app.add_typer(config_app, name="config")

out = Console()
err = Console(stderr=True, soft_wrap=True, highlight=False)


DEFAULT_CONFIG = Path("config.toml")


class State:
    config: Path | None = None  # None: config.toml when present, else built-in defaults
    log_format: str | None = None
    verbose: bool = False


def _config_path() -> Path | None:
    """The configuration file to read: ``--config`` (which must exist), else ./config.toml if
    present; None (built-in defaults) is said on stderr so a missing file is never silent."""
    if State.config is not None:
        if not State.config.is_file():
            err.print(f"intake: --config {State.config}: no such file")
            raise typer.Exit(2)
        return State.config
    if DEFAULT_CONFIG.is_file():
        return DEFAULT_CONFIG
    err.print("intake: no config.toml here: using the built-in defaults (see config.example.toml)")
    return None


def _settings() -> Settings:
    try:
        settings = load_settings(_config_path())
    except ConfigError as exc:
        err.print(f"[red]configuration error[/red] in {cell(str(exc.path))}:")
        for p in exc.problems:
            err.print(f"  - {p}", markup=False)
        raise typer.Exit(2) from None
    setup_logging(State.log_format or settings.log_format, verbose=State.verbose)
    return settings


@app.callback()
def main_options(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML configuration file [default: ./config.toml].")
    ] = None,
    log_format: Annotated[str | None, typer.Option(help="text | json")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging (each file written, each settle decision) and full tracebacks on errors.")] = False,
) -> None:
    State.config, State.log_format, State.verbose = config, log_format, verbose


@app.command()
def run(
    once: Annotated[bool, typer.Option("--once", help="Take what is there now, process, reply, exit.")] = False,
) -> None:
    """Watch the drop folders (and the mailbox, when enabled), process, and reply."""
    import signal
    import threading

    from bot.daemon import Intake

    stop = threading.Event()
    if not once:
        # Until the daemon installs its own handlers: a SIGTERM during start-up still exits 0.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    settings = _settings()
    from bot.config.lint import unknown_environment

    for warning in unknown_environment(settings):  # a misspelt INTAKE_ variable is otherwise silent
        logging.getLogger("intake.config").warning("%s", warning)
    from bot.sources.folders import require_drop_folders

    require_drop_folders(settings.drop.folders)  # before a store is made: a wrong path makes none
    intake = Intake(settings, stop=None if once else stop)
    if stop.is_set():
        intake.close()
        return
    try:
        if not once:
            intake.run_forever(stop)
            return
        report = intake.run_once()
    finally:
        intake.close()
    _print_run(settings, report)


def _print_run(settings: Settings, report) -> None:
    from bot.cli.status import dossier_table

    touched = {t for o in report.outcomes for t in o.trackings}
    if touched:  # this run's dossiers; the whole store is `intake status`
        out.print(dossier_table(settings, only=touched))
    new = sum(len(o.trackings) for o in report.outcomes)
    out.print(f"本次处理收件 {len(report.outcomes)} 件，新材料版本 {new} 个，发出回复 "
              f"{len(report.delivered)} 封 (inputs processed this run: {len(report.outcomes)}; "
              f"new dossier versions: {new}; replies delivered: {len(report.delivered)})",
              soft_wrap=True)  # one line, wrapped by the terminal: a script can grep it
    for o in report.outcomes:
        if o.error:
            out.print(f"[red]处理失败 failed[/red] {cell(o.input_name)}: {cell(o.error)}")
        elif o.waiting:
            out.print(f"[cyan]已收存，待续 kept, waiting[/cyan] {cell(o.input_name)}: {cell(o.skipped)}")
        elif o.skipped:
            out.print(f"[yellow]未受理 ignored[/yellow] {cell(o.input_name)}: {cell(o.skipped)}")
    if report.delivered and settings.outbox.transport == "file":
        # each one is in the log already; here only where to find them
        out.print(f"回复已写入 replies written to {settings.outbox.folder}/ ({len(report.delivered)})")
    for f in report.failed:
        out.print(f"[red]未送达 not delivered[/red] {cell(f)}")


@app.command()
def check(
    paths: Annotated[list[Path], typer.Argument(help="Dossier folders, files, archives or .eml files.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    campaign: Annotated[Path | None, typer.Option(help="Campaign profile (TOML) [default: the config's [campaign] profile].")] = None,
    received: Annotated[str | None, typer.Option(help="When it was received (ISO 8601), for LATE_SUBMISSION.")] = None,
    level: Annotated[Level | None, typer.Option(help="district | city | province | ministry [default: the config's [office] level].")] = None,
) -> None:
    """Check dossiers offline against the notice; all paths are judged together, by the same
    campaign profile and level as the desk (the config's), unless told otherwise."""
    from bot.processing.check import SupervisedReader, run_check
    from parsers.inputs import InputError
    from rules.campaign import CampaignError, load_campaign

    setup_logging("text", verbose=State.verbose)
    settings = _settings()
    level = level or settings.office.level
    try:
        camp = load_campaign(campaign or settings.campaign.profile)
    except CampaignError as exc:
        err.print(f"intake check: {exc}", markup=False)
        raise typer.Exit(2) from None
    when = None
    if received:
        try:
            when = datetime.fromisoformat(received)
        except ValueError:
            err.print(f"intake check: --received {received!r} is not an ISO 8601 date-time")
            raise typer.Exit(2) from None
    from bot.cli.library_output import library_output_to_log

    reader = SupervisedReader(settings)  # each path read in a worker under [budgets]
    with tempfile.TemporaryDirectory(prefix="intake-check-") as tmp, library_output_to_log():
        try:
            result = run_check(paths, Path(tmp), camp, level=level, received_at=when, read=reader)
        except InputError as exc:
            err.print(f"intake check: {exc}", markup=False)
            raise typer.Exit(2) from None
        finally:
            reader.close()
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    else:
        from bot.cli.status import check_table

        out.print(check_table(result))
    errors = any(f["severity"] == "error" for d in result["dossiers"] for f in d["findings"])
    errors = errors or any(f["severity"] == "error" for f in result["findings"])
    raise typer.Exit(1 if errors else 0)


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Dossiers, inputs waiting or quarantined, and the outgoing queue."""
    from bot.cli.status import status_data, status_tables

    settings = _settings()
    failed = _failed_replies(settings)
    if as_json:
        data = status_data(settings)
        data["failed_replies"] = failed
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
        return
    for t in status_tables(settings):
        out.print(t)
    if failed:
        t = Table(title="replies not delivered (5xx or retried too long)")
        for col in ("id", "tracking", "kind", "failure", "last error"):
            t.add_column(col, overflow="fold", no_wrap=col == "tracking")
        for f in failed:
            t.add_row(str(f["id"]), f["tracking"] or "-", f["kind"], f["failure"], f["error"])
        out.print(t)


def _failed_replies(settings: Settings) -> list[dict]:
    """Replies that will not be delivered: id, tracking, kind, failure (perm|expired), last error."""
    from bot.cli.status import open_existing
    from outbox.delivery.queue import failures

    store = open_existing(settings)
    try:
        return [
            {"id": f.id, "tracking": f.tracking, "kind": f.kind, "failure": f.failure or "",
             "error": (f.last_error or "").strip()}
            for f in failures(store.conn)
        ]
    finally:
        store.close()


@app.command()
def summary(
    output: Annotated[Path, typer.Option("--out", help="Where to write the 汇总表 (.xlsx).")] = Path("汇总表.xlsx"),
) -> None:
    """Write the summary table (汇总表) of accepted dossiers in the notice's layout (附件3)."""
    from bot.cli.status import open_existing
    from bot.upstream.summary import build_summary

    if output.suffix.lower() != ".xlsx":
        err.print(f"intake summary: --out {output}: the 汇总表 is an Excel workbook; give a file "
                  "name ending in .xlsx", markup=False)
        raise typer.Exit(2)
    if not output.parent.is_dir():
        err.print(f"intake summary: --out {output}: no such folder {output.parent}", markup=False)
        raise typer.Exit(2)

    settings = _settings()
    open_existing(settings).close()  # a missing store is said, not created empty
    path, counts = build_summary(settings, output)
    out.print(f"wrote {path} (recommended {counts['recommended']}, defective {counts['defective']}, "
              f"over quota {counts['over_quota']})")


@app.command()
def reprocess(input_id: Annotated[int, typer.Argument(help="Input id (see `intake status`).")]) -> None:
    """Put a quarantined input (or one over the size limit, refused or ignored) back in the
    queue; it is processed on the next pass."""
    from bot.cli.status import open_existing

    settings = _settings()
    store = open_existing(settings)
    try:
        if not store.requeue(input_id):
            state = store.input_state(input_id)
            if state is None:
                err.print(f"intake reprocess: no input {input_id} (see intake status)", markup=False)
            else:
                err.print(f"intake reprocess: input {input_id} is {state}, not set aside; only "
                          f"{', '.join(store.REQUEUE_STATES)} inputs are put back", markup=False)
            raise typer.Exit(1)
    finally:
        store.close()
    out.print(f"input {input_id} queued again")


@app.command()
def doctor() -> None:
    """Which ffprobe is used, which optional tools are present, and the DKIM DNS record to publish."""
    from bot.cli.doctor import dkim_lines, doctor_table

    table, ok = doctor_table()
    out.print(table)
    try:
        settings = load_settings(_config_path())
    except ConfigError as exc:
        err.print(f"configuration error in {exc.path}:")
        for p in exc.problems:
            err.print(f"  - {p}", markup=False)
        raise typer.Exit(1) from None
    lines, dkim_ok = dkim_lines(settings)
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(0 if ok and dkim_ok else 1)


@config_app.command("check")
def config_check(
    file: Annotated[Path | None, typer.Argument(help="The TOML file to validate [default: --config, else ./config.toml].")] = None,
) -> None:
    """Validate a configuration file and name each bad key."""
    file = file or State.config or DEFAULT_CONFIG
    if not file.is_file():
        err.print(f"intake config check: {file}: no such file", markup=False)
        raise typer.Exit(2)
    try:
        settings = load_settings(file)
    except ConfigError as exc:
        err.print(f"{file}: {len(exc.problems)} problem(s):", markup=False)
        for p in exc.problems:
            err.print(f"  - {p}", markup=False)
        raise typer.Exit(1) from None
    from bot.config.lint import errors, lint

    warnings = lint(settings, file)
    problems = errors(settings)
    title = f"{file}: " + (f"{len(problems)} error(s)" if problems else "valid")
    table = Table(title=title + (f", {len(warnings)} warning(s)" if warnings else ""))
    table.add_column("section")
    table.add_column("summary")
    table.add_row("office", f"{settings.office.level} {settings.office.unit} ({settings.office.division_code})")
    table.add_row("store", str(settings.store.data_dir))
    table.add_row("drop", ", ".join(str(p) for p in settings.drop.folders))
    table.add_row("imap", f"{settings.imap.host}:{settings.imap.port}" if settings.imap.enabled else "disabled")
    table.add_row("outbox", f"{settings.outbox.transport} → "
                  + (str(settings.outbox.folder) if settings.outbox.transport == "file" else settings.smtp.host))
    table.add_row("upstream", ", ".join(settings.office.upstream) or "none (packet send needs [office] upstream)")
    from outbox.documents.signing import key_path

    key = key_path(settings)
    table.add_row("packet key", cell(str(key)) if key.exists() else f"none yet at {cell(str(key))} (intake keys init)")
    table.add_row("packets from", "\n".join(
        cell(s.unit + (f" <{s.address}>" if s.address else "")) for s in settings.packet.senders)
        or "nobody: no packet.senders listed")
    out.print(table)
    for p in problems:
        err.print(f"  error: {p}", markup=False)
    for w in warnings:
        err.print(f"  warning: {w}", markup=False)
    if problems:
        raise typer.Exit(1)
