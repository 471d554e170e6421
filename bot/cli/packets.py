"""CLI verbs for officers and the next level: ``intake digest``, ``intake packet build|send``, ``intake rank``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

packet_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, help="The packet for the next level (汇总表, 推荐报告, materials).")


def _intake():
    """The instance, over a store that exists: a [store] data_dir pointing nowhere is said so
    (NoStoreYet), not answered from a new empty store made there."""
    from bot.cli.app import _settings
    from bot.cli.status import open_existing
    from bot.daemon import Intake

    settings = _settings()
    open_existing(settings).close()  # raises NoStoreYet when there is none
    return Intake(settings)


DIGEST_SUFFIXES = (".html", ".htm", ".txt", ".png")


def digest(
    output: Annotated[Path | None, typer.Option("--out", help="Write the digest: FILE.html, FILE.txt and FILE.png (give any of the three names).")] = None,
    send: Annotated[bool, typer.Option("--send", help="Mail it to the officers now.")] = False,
) -> None:
    """Render the officers' digest to a file, or send it now."""
    from bot.cli.app import err, out
    from bot.cli.terminal_text import cell
    from bot.digest.build import send_digest, write_digest

    if not output and not send:
        err.print("intake digest: give --out FILE or --send")
        raise typer.Exit(2)
    if output and output.suffix.lower() not in DIGEST_SUFFIXES:
        err.print(f"intake digest: --out {output}: only .html, .txt or .png (all three are written "
                  "side by side); give a file name ending in one of them", markup=False)
        raise typer.Exit(2)
    if output and not output.parent.is_dir():
        err.print(f"intake digest: --out {output}: no such folder {output.parent}", markup=False)
        raise typer.Exit(2)
    intake = _intake()
    try:
        if output:
            paths = write_digest(intake, output)
            out.print("wrote " + ", ".join(str(p) for p in paths))
        if send:
            queued, delivered, failed = send_digest(intake)
            out.print(f"digest queued for {queued} officer(s); delivered {len(delivered)}")
            for f in failed:
                out.print(f"[red]not delivered[/red] {cell(f)}")
            if failed:
                raise typer.Exit(1)
    finally:
        intake.close()


@packet_app.command("build")
def packet_build(
    output: Annotated[Path | None, typer.Option("--out", help="Folder to write the packet into (default [packet] out_dir).")] = None,
    new: Annotated[bool, typer.Option("--new", help="Build a new packet even when nothing changed since the last one.")] = False,
) -> None:
    """Build the packet: 汇总表.xlsx, 推荐报告.docx, one folder per dossier, manifest.json."""
    from bot.cli.app import err, out
    from bot.upstream.packets import build
    from outbox.documents.packet import PacketError

    intake = _intake()
    try:
        result = build(intake.settings, intake.store, intake.campaign, output, new=new)
    except PacketError as exc:
        err.print(f"intake packet build: {exc}", markup=False)
        raise typer.Exit(1) from None
    finally:
        intake.close()
    c = result.counts
    if result.unchanged:
        out.print(f"nothing changed since {result.path}: no new packet (--new builds one anyway)")
        return
    out.print(f"wrote {result.path} (recommended {c['recommended']}, over quota {c['over_quota']}, "
              f"defective {c['defective']}; table check: {len(result.manifest['findings'])} problem(s))")
    for tracking in result.manifest.get("videos_to_fetch") or []:
        out.print(f"[yellow]视频仅有网盘链接 video is a cloud-drive link only[/yellow] {tracking}: "
                  "download it (intake fetched TRACKING FILE) and build again before sending")


@packet_app.command("send")
def packet_send(
    iso: Annotated[bool, typer.Option("--iso", help="Also write one disc image per applicant.")] = False,
    packet_dir: Annotated[Path | None, typer.Option("--packet", help="A built packet folder (default: the latest).")] = None,
    draft: Annotated[bool, typer.Option("--draft", help="Send even though 推荐报告.docx still has 【请填写】 blanks.")] = False,
    without_videos: Annotated[bool, typer.Option("--without-videos", help="Send even though a recommended dossier's video is only a cloud-drive link.")] = False,
    again: Annotated[str | None, typer.Option("--again", metavar="PARTS", help="Send these parts again though the relay took them (e.g. 3 or 2,5, or all): the level above says they never arrived.")] = None,
) -> None:
    """Mail the packet upstream in numbered parts; again after a failure sends only what is missing
    (``--again`` also sends parts the relay took that never reached the level above)."""
    from bot.cli.app import err, out
    from bot.cli.terminal_text import cell
    from bot.upstream.packets import send
    from outbox.documents.packet import PacketError

    intake = _intake()
    try:
        if not intake.settings.office.upstream:
            err.print("intake packet send: no upstream address: set [office] upstream in the config "
                      "(the next level's intake mailbox)", markup=False)
            raise typer.Exit(1)
        report = send(intake, packet_dir, iso=iso or None, draft=draft, again=_part_numbers(again),
                      without_videos=without_videos)
    except PacketError as exc:
        err.print(f"intake packet send: {exc}", markup=False)
        raise typer.Exit(1) from None
    finally:
        intake.close()
    def parts(numbers: list[int]) -> str:
        return ", ".join(map(str, numbers)) if numbers else "none"

    out.print(f"packet {report.packet_id}: {report.total} part(s); sent now: {parts(report.sent)}; "
              f"sent before: {parts(report.already)}")
    for k, e in sorted(report.failed.items()):
        out.print(f"[red]part {k}/{report.total} not sent[/red]: {cell(e)}")
    for p in report.isos:
        out.print(f"wrote {p}")
    if report.failed:
        raise typer.Exit(1)


def _part_numbers(text: str | None) -> list[int] | None:
    """``--again``: "3", "2,5" → [3] / [2, 5]; "all" → None (every part); unset → []."""
    if text is None:
        return []
    if text.strip().lower() == "all":
        return None
    try:
        numbers = [int(x) for x in text.replace("，", ",").split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"{text!r}: part numbers separated by commas (2,5), or all",
                                  param_hint="--again") from None
    if not numbers or min(numbers) < 1:
        raise typer.BadParameter(f"{text!r}: part numbers start at 1", param_hint="--again")
    return numbers


def rank(
    trackings: Annotated[list[str] | None, typer.Argument(help="Tracking numbers, first recommended first.")] = None,
    from_table: Annotated[Path | None, typer.Option("--from-table", help="An edited 汇总表 copy (排序 column or row order).")] = None,
) -> None:
    """Set the recommendation order: the listed dossiers first, the others after them in their
    current order. Warns when a listed dossier is 需补正 or 不予推荐 (it is not recommended)."""
    from bot.cli.app import err, out
    from bot.upstream import ranking
    from bot.upstream.rank_order import rank as set_order
    from bot.upstream.rank_order import rankable

    if from_table is not None and not from_table.is_file():
        err.print(f"intake rank: no such file: {from_table}", markup=False)
        raise typer.Exit(1)
    intake = _intake()
    try:
        try:
            if from_table:
                accepted, defective, rejected = rankable(intake.store)
                listed = ranking.ranking_from_table(from_table, accepted + defective + rejected)
            else:
                listed = [t.strip().upper() for t in trackings or []]
            if not listed:
                err.print("intake rank: give tracking numbers or --from-table FILE")
                raise typer.Exit(2)
            outcome = set_order(intake.store, listed,
                                source=f"table:{from_table.name}" if from_table else "cli")
        except ranking.RankingError as exc:
            err.print(f"intake rank: {exc}", markup=False)
            raise typer.Exit(1) from None
    finally:
        intake.close()
    out.print("ranking: " + " > ".join(outcome.order), soft_wrap=True)
    for tracking in outcome.listed_defective:
        err.print(f"[yellow]warning[/yellow]: {tracking} is 需补正 (defective): ranked, but "
                  "not recommended until it is corrected", soft_wrap=True)
    for tracking in outcome.listed_rejected:
        err.print(f"[yellow]warning[/yellow]: {tracking} is 不予推荐 (rejected): ranked, but "
                  "not recommended unless restored (intake restore)", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``digest``, ``packet`` and ``rank`` to the ``intake`` command."""
    app.command("digest")(digest)
    app.command("rank")(rank)
    app.add_typer(packet_app, name="packet")
