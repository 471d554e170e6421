"""The dossier list (``/``: counts by category as in the digest, filters, search) and one
dossier's page (``/d/{tracking}``: versions, materials, findings, replies, decisions, actions)."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default as default_policy
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.config.model import Officer
from bot.digest.build import gather
from bot.processing.pipeline import findings_of
from bot.store.decisions import waived_codes
from bot.store.history import ACTION_ZH, REPLY_KIND_ZH, dossier_history, local_iso
from bot.web.access import category_name, may_see, scope
from bot.web.files import PLAYABLE_VIDEO_CODECS, content_type, shown_inline
from bot.web.pages import desk_of, not_found, officer_page, render
from rules.catalog import RULES_BY_CODE

ROLE_ZH = {
    "application_form": "申报书",
    "scanned_copy": "扫描件",
    "video": "视频",
    "summary_table": "汇总表",
    "other": "其他",
}
MAX_REPLY_CHARS = 20000  # of a reply's text shown on the page


@officer_page
def dossier_list(request: Request, officer: Officer) -> Response:
    desk = desk_of(request)
    store, campaign = desk.store, desk.campaign
    wanted = scope(officer, campaign)
    q = request.query_params
    f_category, f_verdict = q.get("category", ""), q.get("verdict", "")
    f_state, f_search = q.get("state", ""), q.get("q", "").strip()
    rows, categories = [], set()
    for d, v in store.current_versions():
        if not may_see(officer, campaign, d.category):
            continue
        cat = category_name(campaign, d.category)
        categories.add(cat)
        if f_category and cat != f_category:
            continue
        if f_verdict and v["verdict"] != f_verdict:
            continue
        if f_state and d.state != f_state:
            continue
        if f_search and not any(
            f_search.lower() in (x or "").lower() for x in (d.tracking, d.applicant, d.project_name)
        ):
            continue
        findings = findings_of(v)
        rows.append({
            "tracking": d.tracking, "project": d.project_name or "", "applicant": d.applicant or "",
            "category": cat, "direction": d.direction or "", "verdict": v["verdict"],
            "state": d.state, "version": v["version"],
            "received": local_iso(d.created_at, _tz(campaign))[:16].replace("T", " "),
            "errors": sum(1 for f in findings if f.severity == "error"),
            "warnings": sum(1 for f in findings if f.severity == "warning"),
        })  # fmt: skip
    digest = gather(desk.settings, store, campaign, categories=wanted, recipient=officer.email)
    options = [c.name for c in campaign.categories if wanted is None or c.name in wanted]
    options += sorted(categories - set(options))
    return render(
        request, "list.html", officer, rows=rows, counts=digest.counts, total=digest.total,
        categories=options, f_category=f_category, f_verdict=f_verdict, f_state=f_state,
        f_search=f_search, scope_text=digest.scope,
    )  # fmt: skip


def _tz(campaign) -> ZoneInfo:
    return ZoneInfo(campaign.timezone)


def _materials(tracking: str, facts: dict) -> list[dict]:
    """The version's materials with what the page needs to show or play them."""
    out = []
    for m in facts.get("materials", []):
        video = m.get("video") or {}
        media_type = content_type(m.get("kind"), m.get("name", ""))
        codec = (video.get("codec") or "").lower()
        is_video = m.get("role") == "video" or media_type.startswith("video/")
        out.append({
            "name": m.get("name", ""), "role": ROLE_ZH.get(m.get("role", "other"), m.get("role")),
            "size": m.get("size", 0), "sha256": m.get("sha256", ""), "kind": m.get("kind", ""),
            "media_type": media_type, "inline": shown_inline(media_type),
            "is_video": is_video, "is_pdf": media_type == "application/pdf",
            "duration_s": video.get("duration_s"), "codec": codec,
            "playable": is_video and shown_inline(media_type)
            and (not codec or codec in PLAYABLE_VIDEO_CODECS),
            "problem": m.get("problem") or video.get("problem"),
            "url": f"/d/{tracking}/m/{m.get('sha256', '')}",
        })  # fmt: skip
    return out


def _replies(desk, tracking: str) -> list[dict]:
    """The mails about the dossier as queued or sent: headers and the plain-text body."""
    tz = _tz(desk.campaign)
    out = []
    for r in desk.store.conn.execute(
        "SELECT kind, status, created_at, rcpts, raw FROM outgoing WHERE tracking=? ORDER BY id",
        (tracking,),
    ):
        msg = message_from_bytes(bytes(r["raw"]), policy=default_policy)
        try:
            body_part = msg.get_body(("plain",))
            body = body_part.get_content() if body_part is not None else ""
        except (LookupError, ValueError):
            body = ""
        out.append({
            "kind": REPLY_KIND_ZH.get(r["kind"], r["kind"]), "status": r["status"],
            "at": local_iso(r["created_at"], tz), "to": ", ".join(json.loads(r["rcpts"])),
            "subject": str(msg.get("subject", "")), "body": body[:MAX_REPLY_CHARS],
        })  # fmt: skip
    return out


@officer_page
def dossier_page(request: Request, officer: Officer) -> Response:
    desk = desk_of(request)
    tracking = request.path_params["tracking"].strip().upper()
    d = desk.store.dossier_by_tracking(tracking)
    if d is None or not may_see(officer, desk.campaign, d.category):
        return not_found(request, officer)
    history = dossier_history(desk.store, tracking, desk.campaign.timezone)
    assert history is not None
    rows = desk.store.versions_of(d.id)
    versions = []
    for row, view in zip(rows, history.versions, strict=True):
        versions.append({"view": view, "materials": _materials(tracking, json.loads(row["facts"]))})
    current = versions[-1] if versions else None
    waived = sorted(waived_codes(desk.store).get(tracking, set()))
    findings = current["view"].findings if current else []
    return render(
        request, "dossier.html", officer, d=d, history=history, versions=versions,
        current=current, findings=findings, waived=waived,
        waivable=[f for f in findings if f["code"] not in waived],
        rules=RULES_BY_CODE, replies=_replies(desk, tracking),
        category=category_name(desk.campaign, d.category), ACTION_ZH=ACTION_ZH,
    )  # fmt: skip


def routes() -> list[Route]:
    return [
        Route("/", dossier_list, methods=["GET"]),
        Route("/d/{tracking}", dossier_page, methods=["GET"]),
    ]
