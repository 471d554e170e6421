"""The officers' actions from the dossier page: waive (with reason), reject, restore, note.

Each POST goes through the same ``OfficerDesk.carry_out`` as ``intake waive …`` and mailed
commands (``bot/officers/actions.py``), inside one store transaction, recorded in the audit table
under the logged-in officer with ``via = web``; an officer limited to categories may act only on
those (the dossier is a 404 for them, and ``carry_out`` checks again). The outcome (one Chinese
sentence) is shown on the dossier page. Rank (排序) is on the 汇总表 page (``routes/summary.py``).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.config.model import Officer
from bot.officers.commands import Command
from bot.store.decisions import DecisionError
from bot.web.access import may_see
from bot.web.pages import desk_of, flash, not_found, officer_post

log = logging.getLogger("intake.web")
VERBS = ("waive", "reject", "restore", "note")


@officer_post
def act(request: Request, officer: Officer, form) -> Response:
    desk = desk_of(request)
    verb = request.path_params["verb"]
    tracking = request.path_params["tracking"].strip().upper()
    d = desk.store.dossier_by_tracking(tracking)
    if verb not in VERBS or d is None or not may_see(officer, desk.campaign, d.category):
        return not_found(request, officer)
    code = str(form.get("code") or "").strip().upper() or None
    text = str(form.get("text") or "").strip()
    command = Command(verb, tracking, code if verb == "waive" else None, text, f"web {verb}")
    try:
        with desk.lock, desk.store.transaction():
            outcome = desk.officers.carry_out(command, officer=officer.name, via="web", allowed=officer)
    except DecisionError as exc:
        flash(request, False, exc.message)
    else:
        log.info("web: %s %s %s by %s", verb, tracking, code or "", officer.name)
        flash(request, outcome.ok, outcome.message)
    return RedirectResponse(f"/d/{tracking}#actions", status_code=303)


def routes() -> list[Route]:
    return [Route("/d/{tracking}/{verb}", act, methods=["POST"])]
