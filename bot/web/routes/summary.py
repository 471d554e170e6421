"""The 汇总表: ``/summary`` previews it as HTML tables (recommended in order, beyond the quota,
defective), ``/summary.xlsx`` downloads the very file ``intake summary`` writes
(``bot/upstream/summary.py``), and ``POST /rank`` sets the recommendation order through the same
code as ``intake rank`` (``bot/upstream/rank_order.py``), recorded as ``web:<officer>``.

The 汇总表 is the whole unit's: an officer limited to categories sees the rows of their
categories in the preview, and may neither download the unit's table nor change the order.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.config.model import Officer
from bot.upstream import ranking
from bot.upstream.packets import plan_packet
from bot.upstream.rank_order import rank
from bot.upstream.summary import build_summary
from bot.web.access import may_see, sees_all
from bot.web.files import content_disposition
from bot.web.pages import desk_of, flash, officer_page, officer_post, render

log = logging.getLogger("intake.web")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@officer_page
def summary_page(request: Request, officer: Officer) -> Response:
    desk = desk_of(request)
    plan = plan_packet(desk.settings, desk.store, desk.campaign, "summary")

    def mine(entry) -> bool:
        return may_see(officer, desk.campaign, entry.facts.get("category"))

    return render(
        request, "summary.html", officer, plan=plan,
        recommended=[e for e in plan.recommended if mine(e)],
        not_recommended=[e for e in plan.not_recommended if mine(e)],
        defective=[(e, p) for e, p in plan.defective if mine(e)],
        whole=sees_all(officer),
        order=" ".join(e.tracking for e in plan.recommended + plan.not_recommended),
    )  # fmt: skip


@officer_page
def summary_download(request: Request, officer: Officer) -> Response:
    desk = desk_of(request)
    if not sees_all(officer):
        return render(request, "forbidden.html", officer, status=403,
                      why="汇总表为全单位的报送材料，仅牵头处室或负责全部类别的经办人可以下载。")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="intake-web-") as tmp:
        path, _counts = build_summary(desk.settings, Path(tmp) / "汇总表.xlsx")
        data = path.read_bytes()
    return Response(
        data, media_type=XLSX,
        headers={"content-disposition": content_disposition("汇总表.xlsx", inline=False)},
    )  # fmt: skip


@officer_post
def rank_submit(request: Request, officer: Officer, form) -> Response:
    desk = desk_of(request)
    if not sees_all(officer):
        flash(request, False, "排序涉及全单位的推荐项目，仅牵头处室或负责全部类别的经办人可以调整。")
        return RedirectResponse("/summary", status_code=303)
    listed = str(form.get("order") or "").replace(",", " ").replace("，", " ").split()
    try:
        with desk.lock:
            outcome = rank(desk.store, listed, source=f"web:{officer.name}")
    except ranking.RankingError as exc:
        flash(request, False, f"未能排序：{exc}")
    else:
        log.info("web: rank by %s: %s", officer.name, " > ".join(outcome.order))
        notes = [f"{t} 需补正，补正后方可推荐" for t in outcome.listed_defective]
        notes += [f"{t} 为不予推荐，恢复后方可推荐" for t in outcome.listed_rejected]
        flash(request, True, "已保存推荐顺序：" + " > ".join(outcome.order)
              + ("；" + "；".join(notes) if notes else ""))  # fmt: skip
    return RedirectResponse("/summary", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/summary", summary_page, methods=["GET"]),
        Route("/summary.xlsx", summary_download, methods=["GET"]),
        Route("/rank", rank_submit, methods=["POST"]),
    ]
