"""``intake held list | release ID… | discard ID…``: replies a sending limit held back.

A reply that ``[outbox] replies_per_hour`` or ``replies_per_sender_per_day`` forbade is kept whole
(``outbox/delivery/held.py``) instead of being dropped. An officer lists them, releases the
genuine ones (they are queued at once; the running daemon or the next ``intake run --once`` sends
them) and discards the rest (a flood of forged senders). Each decision records the officer and
the time. Exit codes: 0 done, 1 when an ID named is not a reply still held.
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from bot.cli.officers import OfficerOpt, officer_name
from bot.clock import Clock

held_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, help="Replies a sending limit held back: list, release, discard.")

Ids = Annotated[Optional[list[int]], typer.Argument(  # noqa: UP045
    metavar="ID", help="Held reply numbers (see `intake held list`).")]
AllOpt = Annotated[bool, typer.Option("--all", help="Every reply still held.")]


@held_app.command("list")
def list_() -> None:
    """Every reply still held: number, when, kind, tracking number, recipient, why."""
    from rich.table import Table

    from bot.cli.app import _settings, out
    from bot.cli.status import campaign_timezone, open_existing
    from bot.cli.terminal_text import cell
    from outbox.delivery.held import waiting

    settings = _settings()
    tz = campaign_timezone(settings)  # every time a person reads is the campaign's
    store = open_existing(settings)
    try:
        items = waiting(store.conn)
    finally:
        store.close()
    if not items:
        out.print("没有暂缓发送的邮件 (no reply is held)")
        return
    table = Table(title="暂缓发送的邮件 held mail (intake held release ID / discard ID)")
    for col in ("id", f"held at ({tz.key})", "kind", "tracking", "to", "why"):
        table.add_column(col, overflow="fold", no_wrap=col in ("id", "tracking"))
    for h in items:
        table.add_row(str(h.id), f"{h.held_at.astimezone(tz):%Y-%m-%d %H:%M}", h.kind, cell(h.tracking or "-"),
                      cell(h.rcpt), cell(h.reason))
    out.print(table)


def _decide(verb: str, ids: list[int] | None, every: bool, officer: str | None) -> None:
    from bot.cli.app import _settings, err
    from bot.cli.status import campaign_timezone, open_existing
    from bot.officers.held_requests import renew_before_release
    from outbox.delivery import held

    if not ids and not every:
        err.print(f"intake held {verb}: give reply numbers (intake held list) or --all")
        raise typer.Exit(2)
    settings = _settings()
    who = officer_name(settings, officer)
    now = Clock(settings.campaign.now).running()  # the instance's delivery clock (bot/clock.py)
    tz = campaign_timezone(settings)
    store = open_existing(settings)
    missing: list[int] = []
    try:
        with store.transaction():
            chosen = [h.id for h in held.waiting(store.conn)] if every else list(dict.fromkeys(ids or []))
            for held_id in chosen:
                if verb == "release":
                    # a confirmation request released late is valid from now (its token and text)
                    renew_before_release(store.conn, held_id, now=now, tz=tz,
                                         valid_s=settings.office.confirmation_valid_s)
                    done = held.release(store.conn, held_id, officer=who, now=now) is not None
                else:
                    done = held.discard(store.conn, held_id, officer=who, now=now)
                if done:
                    done_zh = "已放行" if verb == "release" else "已丢弃"
                    sys.stdout.write(f"{held_id} {done_zh}，经办人 {who} "
                                     f"({held_id} {verb.removesuffix('e')}ed by {who})\n")
                else:
                    missing.append(held_id)
    finally:
        store.close()
    if missing:
        err.print(f"intake held {verb}: 编号 {', '.join(map(str, missing))} 没有仍在暂缓的邮件 (no reply still "
                  f"held with number {', '.join(map(str, missing))}; see intake held list)", markup=False)
        raise typer.Exit(1)


@held_app.command("release")
def release(ids: Ids = None, every: AllOpt = False, officer: OfficerOpt = None) -> None:
    """Queue the held replies ID… (or --all) for sending now."""
    _decide("release", ids, every, officer)


@held_app.command("discard")
def discard(ids: Ids = None, every: AllOpt = False, officer: OfficerOpt = None) -> None:
    """Never send the held replies ID… (or --all)."""
    _decide("discard", ids, every, officer)


def register(app: typer.Typer) -> None:
    """Add the ``held`` verb group to the ``intake`` command."""
    app.add_typer(held_app, name="held")
