"""Runs the catalogue over dossiers and returns findings per dossier (rules judge, verdict decides)."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime

from parsers.facts import DossierFacts, TableFacts
from rules import cross_dossier
from rules.campaign import Campaign, load_campaign
from rules.catalog import RULES
from rules.context import Context
from rules.finding import Finding
from rules.rule import Rule
from rules.winners import load_winners

log = logging.getLogger("intake.rules")

# (dossier source, code): a finding an officer has overridden (e.g. a legacy USCC that fails the
# checksum though legal). Source "*" waives the code for every dossier; "" for general findings.
Waiver = tuple[str, str]


@dataclass
class Evaluation:
    """Findings of one evaluation.

    ``per_dossier[i]`` belongs to the i-th dossier given (same order); ``general`` holds findings that
    belong to no single dossier (e.g. a summary-table row that matches no dossier in a packet).
    """

    per_dossier: list[list[Finding]] = field(default_factory=list)
    general: list[Finding] = field(default_factory=list)


def _rules(scope: str) -> list[Rule]:
    return [r for r in RULES if r.scope == scope]


def carried_tables(d: DossierFacts) -> list[TableFacts]:
    """The summary tables a dossier brought: ``d.table`` and any summary_table material's facts."""
    tables: list[TableFacts] = []
    for t in [d.table, *(m.table for m in d.materials if m.role == "summary_table")]:
        if t is not None and all(t is not seen for seen in tables):
            tables.append(t)
    return tables


def is_table_only(d: DossierFacts) -> bool:
    """True for a cover submission holding only a summary table (a district's 汇总表), no project.

    Such a dossier is not judged for missing form/scan/video: it is not a project.
    """
    roles = {m.role for m in d.materials}
    return (
        bool(carried_tables(d))
        and not roles & {"application_form", "scanned_copy", "video"}
        and not d.project_name
    )


_PROJECT_ONLY = {"FORM_MISSING", "SCAN_MISSING", "SCAN_SEAL_MISSING", "VIDEO_MISSING", "VIDEO_LINK_ONLY",
                 "VIDEO_LINK_EXPIRED"}


def _context(
    campaign: Campaign, level: str, now: datetime | None, unit_kind: str | None = None
) -> Context:
    return Context(campaign, level, now, load_winners(campaign.winners), unit_kind)


def _run_table(table: TableFacts, dossiers: list[DossierFacts], ctx: Context) -> Evaluation:
    out = Evaluation([[] for _ in dossiers], [])
    for rule in _rules("table"):
        for hit in rule.check(table, dossiers, ctx):
            target = out.per_dossier[hit["dossier"]] if "dossier" in hit else out.general
            target.append(rule.finding(hit))
    return out


def _waive(
    ev: Evaluation, dossiers: list[DossierFacts], waived: Collection[Waiver] | None
) -> Evaluation:
    if not waived:
        return ev
    w = set(waived)

    def keep(source: str, f: Finding) -> bool:
        if (source, f.code) in w or ("*", f.code) in w:
            log.info("finding %s waived for %s", f.code, source or "(general)")
            return False
        return True

    return Evaluation(
        [
            [f for f in fs if keep(d.source, f)]
            for d, fs in zip(dossiers, ev.per_dossier, strict=True)
        ],
        [f for f in ev.general if keep("", f)],
    )


def evaluate(
    dossiers: list[DossierFacts],
    campaign: Campaign,
    *,
    level: str = "city",
    now: datetime | None = None,
    waived: Collection[Waiver] | None = None,
    targets: Collection[int] | None = None,
) -> Evaluation:
    """Judge every dossier of the intake against the campaign's rules.

    ``dossiers`` are the *current* versions only (a resubmission replaces its earlier version, so it
    is never a PROJECT_DUPLICATE of itself). Per-dossier rules see one dossier; cross-dossier rules
    see the list and attach a finding to each offending dossier. A summary table carried by a dossier
    is checked for its header, rows and cells; its rows are matched against every dossier given, and
    only the carrying dossier is required to have a row (packets: ``table_findings``).
    ``level``: ``district`` | ``city`` | ``province`` | ``ministry`` (picks the deadline).
    ``now``: the (possibly pinned) clock. ``waived``: (source, code) pairs an officer overrode.
    ``targets``: indices of the dossiers to judge (``None``: all). The others are only the
    background of the cross-dossier rules: per-dossier and table rules run for the targets alone,
    and ``per_dossier[i]`` of a non-target is ``[]``; a target's findings are exactly those a full
    evaluation gives it. Judging one new input among N current dossiers thus costs one dossier's
    rules plus O(N) cheap cross-dossier work (``rules/cross_dossier.IntakeView``).

    Raises ``WinnersError`` when the profile's winners list cannot be read; ``IndexError`` for a
    target outside ``dossiers``.
    """
    ctx = _context(campaign, level, now)
    chosen = range(len(dossiers)) if targets is None else sorted(set(targets))
    if targets is not None:
        ctx = replace(ctx, judged=frozenset(chosen))
    if chosen and not 0 <= chosen[0] <= chosen[-1] < len(dossiers):
        raise IndexError(f"targets {list(chosen)} outside the {len(dossiers)} dossiers given")
    wanted = set(chosen)
    ev = Evaluation([[] for _ in dossiers], [])
    for i in chosen:
        d = dossiers[i]
        cover = is_table_only(d)
        for rule in _rules("dossier"):
            if cover and rule.code in _PROJECT_ONLY:
                continue
            ev.per_dossier[i].extend(rule.finding(h) for h in rule.check(d, ctx))
    with cross_dossier.shared_view():
        for rule in _rules("intake"):
            for hit in rule.check(dossiers, ctx):
                if "dossier" not in hit:
                    ev.general.append(rule.finding(hit))
                elif hit["dossier"] in wanted:
                    ev.per_dossier[hit["dossier"]].append(rule.finding(hit))
    for i in chosen:
        for table in carried_tables(dossiers[i]):
            tev = _run_table(table, dossiers, ctx)
            ev.per_dossier[i].extend(tev.general)
            ev.per_dossier[i].extend(tev.per_dossier[i])  # only the carrier must have a row
    return _waive(ev, dossiers, waived)


def table_findings(
    table: TableFacts, dossiers: list[DossierFacts], campaign: Campaign | None = None
) -> Evaluation:
    """Check a packet's summary table (附件3) against exactly the packet's dossiers.

    Findings on the table itself (header, rows with no dossier, bad cells) are ``general``, each
    with ``sheet!A1``; a dossier of the packet with no row gets TABLE_ROW_MISMATCH in its own list.
    ``campaign`` defaults to the shipped profile.
    """
    return _run_table(table, dossiers, _context(campaign or load_campaign(), "city", None))


def quota_findings(
    ranked: list[DossierFacts], campaign: Campaign, level: str, unit_kind: str
) -> list[list[Finding]]:
    """QUOTA_EXCEEDED (warning, 二（五）) for each dossier ranked beyond the unit's quota.

    ``ranked``: the packet's dossiers in priority order; ``unit_kind``: a key of the profile's
    ``quotas`` (``provincial_miit``, ``provincial_comms``, ``plan_city``, ``central_soe``); an
    unknown kind has no quota. Returns one list per dossier, same order.
    """
    ctx = _context(campaign, level, None, unit_kind)
    out: list[list[Finding]] = [[] for _ in ranked]
    for rule in _rules("packet"):
        for hit in rule.check(ranked, ctx):
            out[hit["dossier"]].append(rule.finding(hit))
    return out
