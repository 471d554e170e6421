"""Rules across the whole intake (二（三）, 二（四）): per-applicant limits, duplicates, earlier winners.

They see every current dossier at once. A resubmission is a new *version* of its dossier, and the
store passes only current versions, so a resubmitted project never meets its earlier self here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from parsers.facts import DossierFacts
from rules.context import Context
from rules.dossier_view import form_fields, role_usable
from rules.names import normalise_name
from rules.rule import Hit, Rule
from rules.uscc import clean_uscc, is_valid_uscc


def _fields(dossiers: list[DossierFacts], ctx: Context) -> list[dict[str, str]]:
    return [form_fields(d, ctx.campaign) for d in dossiers]


def applicant_groups(dossiers: list[DossierFacts], ctx: Context) -> list[list[int]]:
    """Indices of dossiers grouped by applicant: same valid USCC, or same normalised name.

    Two dossiers share an applicant when they share either key (one may lack the USCC), so the
    groups are the connected parts of that relation (union–find). Dossiers naming no applicant
    are left out.
    """
    parent = list(range(len(dossiers)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    named: set[int] = set()
    for i, f in enumerate(_fields(dossiers, ctx)):
        keys = []
        if f.get("uscc") and is_valid_uscc(f["uscc"]):
            keys.append("uscc:" + clean_uscc(f["uscc"]))
        if normalise_name(f.get("applicant")):
            keys.append("name:" + normalise_name(f.get("applicant")))
        for k in keys:
            named.add(i)
            if k in owner:
                parent[find(i)] = find(owner[k])
            else:
                owner[k] = i
    groups: dict[int, list[int]] = defaultdict(list)
    for i in sorted(named):
        groups[find(i)].append(i)
    return list(groups.values())


def _label(f: dict[str, str], d: DossierFacts) -> str:
    return f"「{f['project_name']}」" if f.get("project_name") else f"（{d.source}）"


def check_applicant_over_limit(dossiers: list[DossierFacts], ctx: Context) -> Iterator[Hit]:
    limit = ctx.campaign.limits.projects_per_applicant
    fields = _fields(dossiers, ctx)
    for group in applicant_groups(dossiers, ctx):
        if len(group) <= limit:
            continue
        names = "、".join(_label(fields[i], dossiers[i]) for i in group)
        applicant = next((fields[i]["applicant"] for i in group if fields[i].get("applicant")), "")
        for i in group:
            yield {
                "dossier": i,
                "where": "",
                "applicant": applicant or fields[i].get("uscc", ""),
                "count": len(group),
                "limit": limit,
                "projects": names,
            }


def check_category_repeated(dossiers: list[DossierFacts], ctx: Context) -> Iterator[Hit]:
    limit = ctx.campaign.limits.directions_per_category
    fields = _fields(dossiers, ctx)
    for group in applicant_groups(dossiers, ctx):
        by_category: dict[str, list[int]] = defaultdict(list)
        for i in group:
            cat = ctx.campaign.category(fields[i].get("category"))
            if cat is not None and fields[i].get("direction"):
                by_category[cat.name].append(i)
        for cat_name, members in by_category.items():
            directions = {
                normalise_name(fields[i]["direction"]): fields[i]["direction"] for i in members
            }
            if len(directions) <= limit:
                continue
            for i in members:
                yield {
                    "dossier": i,
                    "where": "",
                    "category": cat_name,
                    "limit": limit,
                    "directions": "、".join(f"「{v}」" for v in directions.values()),
                }


def _form_hashes(d: DossierFacts) -> set[str]:
    return {
        m.sha256
        for m in d.materials
        if m.role == "application_form" and role_usable(m) and m.sha256
    }


def check_project_duplicate(dossiers: list[DossierFacts], ctx: Context) -> Iterator[Hit]:
    fields = _fields(dossiers, ctx)
    group_of: dict[int, int] = {}
    for g, group in enumerate(applicant_groups(dossiers, ctx)):
        for i in group:
            group_of[i] = g
    hashes = [_form_hashes(d) for d in dossiers]
    for i in range(len(dossiers)):
        others: list[str] = []
        reason = ""
        for j in range(len(dossiers)):
            if i == j:
                continue
            same_file = bool(hashes[i] & hashes[j])
            pi, pj = (
                normalise_name(fields[i].get("project_name")),
                normalise_name(fields[j].get("project_name")),
            )
            same_project = (
                bool(pi) and pi == pj and i in group_of and group_of.get(j) == group_of[i]
            )
            if same_file or same_project:
                others.append(dossiers[j].source)
                reason = reason or ("申报书文件完全相同" if same_file else "项目名称和申报单位相同")
        if others:
            yield {
                "dossier": i,
                "where": "",
                "project": _label(fields[i], dossiers[i]),
                "reason": reason,
                "others": "、".join(others),
            }


def check_previously_selected(dossiers: list[DossierFacts], ctx: Context) -> Iterator[Hit]:
    if not ctx.winners:
        return
    years = ctx.campaign.demonstration_years
    live = [w for w in ctx.winners if 0 <= ctx.campaign.year - w.year < years]
    for i, f in enumerate(_fields(dossiers, ctx)):
        project = normalise_name(f.get("project_name"))
        if not project:
            continue
        uscc = clean_uscc(f.get("uscc", ""))
        applicant = normalise_name(f.get("applicant"))
        for w in live:
            if normalise_name(w.project_name) != project:
                continue
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


RULES: tuple[Rule, ...] = (
    Rule(
        "APPLICANT_OVER_LIMIT",
        "二（四）",
        "error",
        "同一申报主体超过 2 个项目",
        "申报单位「{applicant}」共申报 {count} 个项目（{projects}），要求同一申报主体最多 {limit} 个项目",
        "请申报单位确定保留的项目（不超过 {limit} 个），撤回其余项目",
        check_applicant_over_limit,
        "intake",
    ),
    Rule(
        "CATEGORY_REPEATED",
        "二（四）",
        "error",
        "同一申报主体在同一类别申报了多个方向",
        "同一申报单位在「{category}」申报了多个方向（{directions}），要求同一类型只能申报 {limit} 个方向",
        "请在「{category}」中只保留一个方向的项目，撤回或改报其他项目",
        check_category_repeated,
        "intake",
    ),
    Rule(
        "PROJECT_DUPLICATE",
        "二（四）",
        "error",
        "同一项目重复申报",
        "项目{project}重复申报（{reason}，另见 {others}），要求同一项目不能重复申报",
        "请只保留一份申报，撤回重复的申报；如需修改材料，请回复原邮件重新发送",
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
