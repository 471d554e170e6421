"""``intake links`` (every video sent as a cloud-drive link, soonest expiry first) and
``intake fetched T FILE`` (file a video an officer downloaded under dossier T).

The bot never downloads from cloud drives (they need logins; an intake box often has no
internet): an officer downloads the video before the link expires and runs ``intake fetched``.
The file is archived at once and becomes the dossier's next version at the daemon's next pass
(or the next ``intake run --once``), where it is probed like any video; the applicant gets the
updated 回执 or 补正通知. Exit codes: 0 done, 1 refused (unknown tracking number, not a file).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.officers import OfficerOpt, Tracking, officer_name

STATE_LABELS = {"fetched": "已下载", "expired": "已过期", "due": "即将过期", "open": "待下载"}


def links(as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False) -> None:
    """Every video sent as a cloud-drive link: provider, 提取码, expiry, and whether it was fetched."""
    from bot.cli.app import _settings, out
    from bot.cli.status import open_existing
    from bot.processing.cloud_links import link_rows
    from rules.campaign import load_campaign

    settings = _settings()
    campaign = load_campaign(settings.campaign.profile)
    now = settings.campaign.now or datetime.now(UTC)
    from zoneinfo import ZoneInfo

    today = now.astimezone(ZoneInfo(campaign.timezone)).date()
    store = open_existing(settings)
    try:
        rows = link_rows(store, today=today)
    finally:
        store.close()
    if as_json:
        data = [dict(asdict(r), expires_at=r.expires_at.isoformat() if r.expires_at else None) for r in rows]
        sys.stdout.write(json.dumps({"links": data}, ensure_ascii=False, indent=1) + "\n")
        return
    table = Table(title="网盘链接 cloud-drive links")
    for col in ("tracking", "applicant", "provider", "code", "expires", "state", "url"):
        table.add_column(col, no_wrap=col in ("tracking", "code", "expires", "state"), overflow="fold")
    for r in rows:
        table.add_row(r.tracking, r.applicant, r.provider, r.code or "-",
                      r.expires_at.isoformat() if r.expires_at else "-", STATE_LABELS[r.state], r.url)
    out.print(table)


def fetched(
    tracking: Tracking,
    file: Annotated[Path, typer.Argument(help="The downloaded video file.")],
    officer: OfficerOpt = None,
) -> None:
    """File a video downloaded from the applicant's link under dossier T (its next version)."""
    from bot.cli.app import _settings, err
    from bot.cli.status import open_existing
    from bot.store.archive import ArchiveError
    from bot.store.nofollow import UnsafeEntry

    settings = _settings()
    tracking = tracking.strip().upper()
    if not file.is_file() or file.is_symlink():
        err.print(f"intake fetched: {file}: not a regular file", markup=False)
        raise typer.Exit(1)
    store = open_existing(settings)
    try:
        dossier = store.dossier_by_tracking(tracking)
        if dossier is None:
            err.print(f"intake fetched: no dossier {tracking}", markup=False)
            raise typer.Exit(1)
        now = datetime.now(UTC)
        try:  # opened without following links or blocking: a swap after the check is refused
            input_id = store.accept_path(file, taken_at=now)
        except (ArchiveError, UnsafeEntry) as exc:
            err.print(f"intake fetched: {exc}", markup=False)
            raise typer.Exit(1) from exc
        with store.transaction():
            store.file_under(int(input_id), tracking, officer=officer_name(settings, officer), at=now)
    finally:
        store.close()
    sys.stdout.write(
        f"{tracking}: {file.name} archived as input {input_id}; it becomes version "
        f"{dossier.current_version + 1} at the daemon's next pass (or intake run --once)\n"
    )


def register(app: typer.Typer) -> None:
    """Add ``links`` and ``fetched`` to the ``intake`` command."""
    app.command("links")(links)
    app.command("fetched")(fetched)
