"""``intake correspondent add T ADDR`` / ``intake correspondent list T``: who may continue a dossier.

A dossier's mail is honoured only from its correspondents (``bot/store/trust.py``): the original
sender and its forms' contact emails; a colleague writing from another address is added here by
an officer after a phone call. Each addition is recorded with the officer and the time.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from bot.cli.officers import OfficerOpt, Tracking, officer_name

correspondent_app = typer.Typer(rich_markup_mode=None, help="Addresses whose mail may continue a dossier (resubmissions).")


@correspondent_app.command("add")
def add(
    tracking: Tracking,
    address: Annotated[str, typer.Argument(help="The mail address to accept, e.g. li@corp.cn.")],
    officer: OfficerOpt = None,
) -> None:
    """Accept resubmissions for dossier TRACKING from ADDRESS too."""
    from bot.cli.app import _settings, err
    from bot.cli.status import open_existing
    from bot.store.trust import add_correspondent
    from outbox.mail.recipients import plain_address

    settings = _settings()
    addr = plain_address(address)
    if addr is None:
        err.print(f"intake correspondent add: 「{address}」不是有效的邮箱地址", markup=False)
        raise typer.Exit(1)
    store = open_existing(settings)
    try:
        t = tracking.strip().upper()
        if store.dossier_by_tracking(t) is None:
            err.print(f"intake correspondent add: 受理编号 {t} 不存在，请核对。", markup=False)
            raise typer.Exit(1)
        with store.transaction():
            added = add_correspondent(store.conn, t, addr, officer_name(settings, officer), datetime.now(UTC))
    finally:
        store.close()
    sys.stdout.write(f"{addr} {'may now' if added else 'could already'} continue {t}\n")


@correspondent_app.command("list")
def list_(tracking: Tracking) -> None:
    """Every address whose mail may continue dossier TRACKING, and why (the sender, the form's
    contact, or the officer who added it and when)."""
    from bot.cli.app import _settings, err
    from bot.cli.status import campaign_timezone, open_existing
    from bot.store.trust import correspondent_sources

    settings = _settings()
    store = open_existing(settings)
    try:
        d = store.dossier_by_tracking(tracking.strip().upper())
        if d is None:
            err.print(f"intake correspondent list: 受理编号 {tracking.strip().upper()} 不存在，请核对。", markup=False)
            raise typer.Exit(1)
        sources = correspondent_sources(store.conn, d.id, d.tracking, d.sender, campaign_timezone(settings))
        for addr, why in sorted(sources.items()):
            sys.stdout.write(f"{addr}  {why}\n")
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    """Add the ``correspondent`` verb group to the ``intake`` command."""
    app.add_typer(correspondent_app, name="correspondent")
