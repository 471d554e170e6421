"""Rules across the whole intake (二（三）, 二（四）): per-applicant limits, duplicates, earlier winners.

They see every current dossier at once. A resubmission is a new *version* of its dossier, and the
store passes only current versions, so a resubmitted project never meets its earlier self here.

Each check reads the dossiers through one ``IntakeView``: every dossier's form fields and
normalised names computed once, applicant groups found once (union–find), and the pairs the
duplicate rule needs found through indexes (by form sha256, by applicant group + normalised
project name) instead of comparing every pair, so one evaluation costs O(N), not O(N²).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from parsers.facts import DossierFacts
from rules.campaign import Campaign
from rules.context import Context
from rules.dossier_view import form_fields, role_usable
from rules.names import normalise_name
from rules.rule import Hit, Rule
from rules.uscc import clean_uscc, is_valid_uscc


@dataclass
class IntakeView:
    """What the cross-dossier rules read from a list of dossiers, each computed once.

    ``fields[i]``: ``form_fields`` of dossier i; ``project[i]`` / ``applicant[i]``: its normalised
    project and applicant names (``""`` when none); ``hashes[i]``: sha256 of its usable forms;
    ``groups``: indices grouped by applicant (see ``applicant_groups``), counted against each
    other by the limits; ``group_of``: index → position in ``groups`` (dossiers naming no
    applicant are absent); ``conflicts``: applicant groups whose dossiers came from unrelated
    senders, as (indices, sender keys), which ``groups`` holds split by sender (issue 14).
    """

    dossiers: list[DossierFacts]
    fields: list[dict[str, str]]
    project: list[str]
    applicant: list[str]
    hashes: list[set[str]]
    groups: list[list[int]]
    group_of: dict[int, int]
    conflicts: list[tuple[list[int], list[str]]]

    @classmethod
    def build(cls, dossiers: list[DossierFacts], ctx: Context) -> IntakeView:
        """The view of ``dossiers`` under ``ctx.campaign`` (O(N); within ``rows_kept`` each
        dossier's own part is computed once for the whole block, not once per evaluation)."""
        rows = [_row(d, ctx) for d in dossiers]
        applicant = [r.applicant for r in rows]
        groups, conflicts = _split_by_sender(_groups([r.uscc for r in rows], applicant), rows)
        return cls(
            dossiers=dossiers,
            fields=[r.fields for r in rows],
            project=[r.project for r in rows],
            applicant=applicant,
            hashes=[r.hashes for r in rows],
            groups=groups,
            group_of={i: g for g, group in enumerate(groups) for i in group},
            conflicts=conflicts,
        )


@dataclass(frozen=True)
class _Row:
    """What the view reads of one dossier: its form fields, normalised applicant and project
    names, its valid 统一社会信用代码 (cleaned; ``""`` when none), its usable forms' sha256, and
    its sender key (``sender_key``)."""

    fields: dict[str, str]
    applicant: str
    project: str
    uscc: str
    hashes: set[str]
    sender: str | None


def _row(d: DossierFacts, ctx: Context) -> _Row:
    return _row_of(d, ctx.campaign)


def _row_of(d: DossierFacts, campaign: Campaign) -> _Row:
    kept: dict[int, tuple[DossierFacts, object, _Row]] | None = getattr(_kept, "rows", None)
    if kept is not None:
        hit = kept.get(id(d))
        if hit is not None and hit[0] is d and hit[1] is campaign:
            return hit[2]
    fields = form_fields(d, campaign)
    uscc = fields.get("uscc")
    row = _Row(
        fields=fields,
        applicant=normalise_name(fields.get("applicant")),
        project=normalise_name(fields.get("project_name")),
        uscc=clean_uscc(uscc) if uscc and is_valid_uscc(uscc) else "",
        hashes=_form_hashes(d),
        sender=sender_key(d),
    )
    if kept is not None:
        kept[id(d)] = (d, campaign, row)  # strong references: the id cannot be reused meanwhile
    return row


def _applicant_keys(uscc: str, applicant: str) -> tuple[str, ...]:
    """What joins dossiers into one applicant group (``_groups``, ``Neighbours``): its valid
    USCC and its normalised name, each when there is one."""
    return tuple(k for k in ("uscc:" + uscc if uscc else "", "name:" + applicant if applicant else "") if k)


def _group_keys(row: _Row) -> tuple[str, ...]:
    return _applicant_keys(row.uscc, row.applicant)


class Neighbours:
    """The current dossiers whose presence can change the cross-dossier findings of new ones,
    found through an index kept across inputs instead of by reading every dossier (issue 16:
    judging one input among N current dossiers cost O(N) for every input).

    A new dossier's neighbours: every dossier joined to it through USCCs and applicant names,
    transitively (its whole applicant group: the limits, the sender conflict, same-project
    duplicates), and every dossier holding one of its form files (same-file duplicates). Judged
    among its neighbours, in their order, a new dossier gets exactly the findings it gets among
    all current dossiers (``tests/test_rules_targets.py``). Earlier winners are read from the
    campaign, not from other dossiers. A summary table carried by the new dossier is matched
    against every dossier: the caller judges those among all.

    ``ident``: the caller's stable name for a dossier's facts (a version row id); facts given
    again under an ident with another object are indexed again.
    """

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self._facts: dict[int, DossierFacts] = {}
        self._keys: dict[int, tuple[tuple[str, ...], frozenset[str]]] = {}
        self._by_key: dict[str, set[int]] = defaultdict(set)
        self._by_hash: dict[str, set[int]] = defaultdict(set)

    def add(self, ident: int, d: DossierFacts) -> None:
        """Index dossier ``d`` under ``ident`` (nothing to do when it already is)."""
        if self._facts.get(ident) is d:
            return
        self.discard(ident)
        row = _row_of(d, self.campaign)
        keys, hashes = _group_keys(row), frozenset(row.hashes)
        self._facts[ident], self._keys[ident] = d, (keys, hashes)
        for k in keys:
            self._by_key[k].add(ident)
        for h in hashes:
            self._by_hash[h].add(ident)

    def discard(self, ident: int) -> None:
        """Forget ``ident`` (no error when unknown)."""
        self._facts.pop(ident, None)
        keys, hashes = self._keys.pop(ident, ((), frozenset()))
        for k in keys:
            self._by_key[k].discard(ident)
        for h in hashes:
            self._by_hash[h].discard(ident)

    def keep_only(self, idents: Collection[int]) -> None:
        """Forget every ident not in ``idents`` (the current dossiers)."""
        for ident in [i for i in self._keys if i not in idents]:
            self.discard(ident)

    def around(self, new: list[DossierFacts], present: set[int]) -> set[int]:
        """The idents among ``present`` (the current dossiers, indexed) that are neighbours of
        the ``new`` dossiers (see the class docstring)."""
        rows = [_row_of(d, self.campaign) for d in new]
        todo = list(dict.fromkeys(k for r in rows for k in _group_keys(r)))
        seen = set(todo)
        found: set[int] = set()
        while todo:
            for ident in self._by_key.get(todo.pop(), ()):
                if ident in found or ident not in present:
                    continue
                found.add(ident)
                for k in self._keys[ident][0]:
                    if k not in seen:
                        seen.add(k)
                        todo.append(k)
        for r in rows:
            for h in r.hashes:
                found.update(i for i in self._by_hash.get(h, ()) if i in present)
        return found


_kept = threading.local()


@contextmanager
def rows_kept(rows: dict[int, tuple] | None = None) -> Iterator[None]:
    """Within this block each dossier's part of the view is computed once, for every evaluation.

    For a caller that judges many inputs, each against the same current dossiers (the pipeline):
    without it every input recomputed every dossier's fields. ``rows``: where they are kept,
    ``{id(facts): (facts, campaign, row)}``, to keep them beyond the block (the caller may drop
    entries; a new dict when None). The dossiers' facts must not change meanwhile (the rules
    never mutate them; a new version is a new object).
    """
    previous = getattr(_kept, "rows", None)
    _kept.rows = rows if rows is not None else ({} if previous is None else previous)
    try:
        yield
    finally:
        _kept.rows = previous


_shared = threading.local()


@contextmanager
def shared_view() -> Iterator[None]:
    """Within this block the checks share one ``IntakeView`` per (dossier list, context) pair.

    The engine runs the four checks inside it, so fields, names and groups are computed once per
    evaluation, not once per rule; outside it every check builds its own view.
    """
    previous = getattr(_shared, "memo", None)
    _shared.memo = {}
    try:
        yield
    finally:
        _shared.memo = previous


def _view(dossiers: list[DossierFacts], ctx: Context) -> IntakeView:
    memo: dict[tuple[int, int], tuple[list, Context, IntakeView]] | None = getattr(_shared, "memo", None)
    if memo is None:
        return IntakeView.build(dossiers, ctx)
    key = (id(dossiers), id(ctx))
    hit = memo.get(key)
    if hit is not None and hit[0] is dossiers and hit[1] is ctx:
        return hit[2]
    view = IntakeView.build(dossiers, ctx)
    memo[key] = (dossiers, ctx, view)  # strong references: the ids cannot be reused meanwhile
    return view


def _groups(uscc: list[str], applicant: list[str]) -> list[list[int]]:
    parent = list(range(len(uscc)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    named: set[int] = set()
    for i, code in enumerate(uscc):
        for k in _applicant_keys(code, applicant[i]):
            named.add(i)
            if k in owner:
                parent[find(i)] = find(owner[k])
            else:
                owner[k] = i
    groups: dict[int, list[int]] = defaultdict(list)
    for i in sorted(named):
        groups[find(i)].append(i)
    return list(groups.values())


# Free-mail providers: staff of many companies use them, so there the whole address is the sender;
# elsewhere the mail domain is (a company's colleagues share it).
FREE_MAIL_DOMAINS = frozenset(
    "qq.com vip.qq.com foxmail.com 163.com vip.163.com 126.com yeah.net 188.com sina.com sina.cn "
    "sohu.com 139.com 189.cn wo.cn aliyun.com gmail.com outlook.com hotmail.com live.com "
    "yahoo.com icloud.com".split()
)


def sender_key(d: DossierFacts) -> str | None:
    """Who sent dossier ``d``: its mail domain, or the whole address at a free-mail provider.

    None when it did not come by mail (a drop folder, a packet from the level below).
    """
    addr = ((d.mail.from_addr if d.mail else "") or d.sender or "").strip().strip("<>").lower()
    if "@" not in addr:
        return None
    domain = addr.rsplit("@", 1)[1]
    return addr if domain in FREE_MAIL_DOMAINS else domain


def _split_by_sender(
    groups: list[list[int]], rows: list[_Row]
) -> tuple[list[list[int]], list[tuple[list[int], list[str]]]]:
    """Applicant groups as counted by the limits, and the groups whose senders conflict.

    Anybody can write a company's public name and 统一社会信用代码 into a form, so dossiers of one
    applicant from unrelated senders are not counted against each other (two fakes filed first
    would push the genuine dossier over the limit): such a group is split by sender (dossiers
    that came without a sender form a part of their own) and reported as a conflict for the
    officers to decide (APPLICANT_SENDER_CONFLICT).
    """
    counted: list[list[int]] = []
    conflicts: list[tuple[list[int], list[str]]] = []
    for group in groups:
        keys = [rows[i].sender for i in group]
        known = list(dict.fromkeys(k for k in keys if k))
        if len(known) <= 1:
            counted.append(group)
            continue
        conflicts.append((group, known))
        parts: dict[str | None, list[int]] = defaultdict(list)
        for i, k in zip(group, keys, strict=True):
            parts[k].append(i)
        counted.extend(parts.values())
    counted.sort(key=lambda g: g[0])
    return counted, conflicts


def check_applicant_sender_conflict(dossiers: list[DossierFacts], ctx: Context) -> Iterator[Hit]:
    view = _view(dossiers, ctx)
    for group, senders in view.conflicts:
        applicant = next((view.fields[i]["applicant"] for i in group if view.fields[i].get("applicant")), "")
        uscc = next((view.fields[i]["uscc"] for i in group if view.fields[i].get("uscc")), "")
        for i in group:
            yield {
                "dossier": i,
                "where": "",
                "applicant": applicant or uscc,
                "uscc": uscc or "未填写",
                "count": len(group),
                "senders": "、".join(senders),
                "sender": sender_key(dossiers[i]) or "非邮件报送",
            }


def applicant_groups(dossiers: list[DossierFacts], ctx: Context) -> list[list[int]]:
    """Indices of dossiers grouped by applicant: same valid USCC, or same normalised name.

    Two dossiers share an applicant when they share either key (one may lack the USCC), so the
    groups are the connected parts of that relation (union–find). Dossiers naming no applicant
    are left out. A group whose dossiers came from unrelated senders is returned split by sender
    (see ``_split_by_sender``).
    """
    return _view(dossiers, ctx).groups


def _label(f: dict[str, str], d: DossierFacts) -> str:
    """A dossier as an applicant may read it: never its source (a server path, a folder name)."""
    if f.get("project_name"):
        return f"「{f['project_name']}」"
    return f"（{_received(d)}，未填写项目名称）"


def _received(d: DossierFacts) -> str:
    """``11月28日收到的申报`` (the time of receipt is all an applicant needs to recognise it)."""
    if d.received_at is None:
        return "此前收到的申报"
    return f"{d.received_at.month}月{d.received_at.day}日收到的申报"


def check_applicant_over_limit(dossiers: list[DossierFacts], ctx: Context) -> Iterator[Hit]:
    limit = ctx.campaign.limits.projects_per_applicant
    view = _view(dossiers, ctx)
    fields = view.fields
    for group in view.groups:
        if len(group) <= limit:
            continue
        # The first `limit` projects (in the order received) stand; each later one is the excess.
        # Flagging only those keeps every 回执 already sent true.
        kept = "、".join(_label(fields[i], dossiers[i]) for i in group[:limit])
        applicant = next((fields[i]["applicant"] for i in group if fields[i].get("applicant")), "")
        for n, i in enumerate(group[limit:], limit + 1):
            yield {
                "dossier": i,
                "where": "",
                "applicant": applicant or fields[i].get("uscc", ""),
                "count": len(group),
                "nth": n,
                "limit": limit,
                "projects": kept,
            }


def check_category_repeated(dossiers: list[DossierFacts], ctx: Context) -> Iterator[Hit]:
    limit = ctx.campaign.limits.directions_per_category
    view = _view(dossiers, ctx)
    fields = view.fields
    for group in view.groups:
        if len(group) <= limit:
            continue  # a group of at most `limit` dossiers cannot hold more directions
        by_category: dict[str, list[int]] = defaultdict(list)
        for i in group:
            cat = ctx.campaign.category(fields[i].get("category"))
            if cat is not None and fields[i].get("direction"):
                by_category[cat.name].append(i)
        for cat_name, members in by_category.items():
            # The first `limit` directions (in the order received) stand; a later project in
            # another direction of the same category is the one that breaks the rule.
            first: dict[str, str] = {}
            for i in members:
                key = normalise_name(fields[i]["direction"])
                if key in first or len(first) < limit:
                    first.setdefault(key, fields[i]["direction"])
                    continue
                yield {
                    "dossier": i,
                    "where": "",
                    "category": cat_name,
                    "limit": limit,
                    "direction": fields[i]["direction"],
                    "directions": "、".join(f"「{v}」" for v in first.values()),
                }


def _form_hashes(d: DossierFacts) -> set[str]:
    return {
        m.sha256
        for m in d.materials
        if m.role == "application_form" and role_usable(m) and m.sha256
    }


def check_project_duplicate(dossiers: list[DossierFacts], ctx: Context) -> Iterator[Hit]:
    view = _view(dossiers, ctx)
    # Indexes instead of a pair loop: j is a duplicate of i when they share a form file, or when
    # both name the same (normalised) project and belong to the same applicant group.
    by_hash: dict[str, list[int]] = defaultdict(list)
    by_project: dict[tuple[int, str], list[int]] = defaultdict(list)
    for i in range(len(dossiers)):
        for h in view.hashes[i]:
            by_hash[h].append(i)
        if view.project[i] and i in view.group_of:
            by_project[(view.group_of[i], view.project[i])].append(i)
    for i in ctx.judging(len(dossiers)):  # judging one new input: its own candidates only
        same_file: set[int] = set()
        for h in view.hashes[i]:
            same_file.update(by_hash[h])
        candidates = set(same_file)
        if view.project[i] and i in view.group_of:
            candidates.update(by_project[(view.group_of[i], view.project[i])])
        # Only a later submission is the duplicate: the first one received stands.
        candidates = {j for j in candidates if j < i}
        if not candidates:
            continue
        ordered = sorted(candidates)
        yield {
            "dossier": i,
            "where": "",
            "project": _label(view.fields[i], dossiers[i]),
            # The reason the first duplicate (in the given order) is one, as the pair loop said.
            "reason": "申报书文件完全相同" if ordered[0] in same_file else "项目名称和申报单位相同",
            "others": "、".join(dict.fromkeys(_received(dossiers[j]) for j in ordered)),
        }


def check_previously_selected(dossiers: list[DossierFacts], ctx: Context) -> Iterator[Hit]:
    if not ctx.winners:
        return
    years = ctx.campaign.demonstration_years
    live: dict[str, list] = defaultdict(list)  # normalised project name → live winners, in order
    for w in ctx.winners:
        if 0 <= ctx.campaign.year - w.year < years:
            live[normalise_name(w.project_name)].append(w)
    view = _view(dossiers, ctx)
    for i in ctx.judging(len(dossiers)):
        f = view.fields[i]
        project = view.project[i]
        if not project or project not in live:
            continue
        uscc = clean_uscc(f.get("uscc", ""))
        applicant = view.applicant[i]
        for w in live[project]:
            if w.uscc and uscc:
                same = w.uscc == uscc
            elif w.applicant and applicant:
                same = normalise_name(w.applicant) == applicant
            else:
                same = not (w.uscc or w.applicant)
            if same:
                yield {
                    "dossier": i,
                    "where": "",
                    "project": w.project_name,
                    "year": w.year,
                    "until": w.year + years,
                    "years": years,
                }
                break


# Defects no corrected file can cure: the applicant has to contact an officer (withdraw a project,
# explain a duplicate). The 补正通知 says so instead of "reply with the corrected files".
NOT_FIXED_BY_FILES = frozenset(
    {"APPLICANT_OVER_LIMIT", "CATEGORY_REPEATED", "PROJECT_DUPLICATE", "PREVIOUSLY_SELECTED"}
)

RULES: tuple[Rule, ...] = (
    Rule(
        "APPLICANT_OVER_LIMIT",
        "二（四）",
        "error",
        "同一申报主体超过 2 个项目",
        "申报单位「{applicant}」已申报 {limit} 个项目（{projects}），本项目为第 {nth} 个；要求同一申报主体最多 {limit} 个项目",
        "如需以本项目替换已申报的项目，请联系我局经办人员说明撤回哪一个；否则本项目不予受理",
        check_applicant_over_limit,
        "intake",
    ),
    Rule(
        "APPLICANT_SENDER_CONFLICT",
        "二（四）",
        "warning",
        "同一申报主体的申报来自无关的发件人（待经办人员核实）",
        "申报单位「{applicant}」（统一社会信用代码 {uscc}）的 {count} 份申报来自不同的发件人（{senders}），"
        "本份来自 {sender}；未自动按同一申报主体计数",
        "请经办人员联系该单位核实哪些申报属实；冒名申报请用 reject 驳回，其余申报随后按同一申报主体重新计数",
        check_applicant_sender_conflict,
        "intake",
    ),
    Rule(
        "CATEGORY_REPEATED",
        "二（四）",
        "error",
        "同一申报主体在同一类别申报了多个方向",
        "同一申报单位在「{category}」已申报{directions}方向，本项目方向为「{direction}」；要求同一类型只能申报 {limit} 个方向",
        "请将本项目改报其他类别，或联系我局经办人员说明撤回哪一个项目",
        check_category_repeated,
        "intake",
    ),
    Rule(
        "PROJECT_DUPLICATE",
        "二（四）",
        "error",
        "同一项目重复申报",
        "项目{project}重复申报（{reason}，另见 {others}），要求同一项目不能重复申报",
        "同一项目只需申报一次；如需修改已申报的材料，请直接回复原受理邮件（回执或补正通知）发送修改后的文件",
        check_project_duplicate,
        "intake",
    ),
    Rule(
        "PREVIOUSLY_SELECTED",
        "二（三）",
        "error",
        "已列入前期试点示范且仍在示范期",
        "项目「{project}」已列入 {year} 年试点示范，示范期 {years} 年（至 {until} 年）内不可重复申报",
        "该项目不可再次申报；如为不同项目，请在申报书中写明与已入选项目的区别",
        check_previously_selected,
        "intake",
    ),
)
