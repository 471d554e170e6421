"""Rendering a page for the logged-in officer, and the login guard every route goes through."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from bot.config.model import Officer
from bot.web import auth
from bot.web.desk import Desk
from rules.verdict import VERDICT_LABELS
from rules.wording import DOSSIER_STATE_LABELS, SEVERITY_LABELS


def desk_of(request: Request) -> Desk:
    return request.app.state.desk


def render(request: Request, template: str, officer: Officer | None, status: int = 200, **ctx) -> Response:
    """``template`` with the officer, the CSRF token and the pending flash message."""
    desk = desk_of(request)
    flash = request.session.pop("flash", None)
    return desk.templates.TemplateResponse(
        request, template,
        {"officer": officer, "csrf": auth.csrf_token(request), "flash": flash,
         "unit": desk.settings.office.unit, "campaign": desk.campaign,
         "VERDICT_ZH": VERDICT_LABELS, "STATE_ZH": DOSSIER_STATE_LABELS, "SEVERITY_ZH": SEVERITY_LABELS,
         **ctx},
        status_code=status,
    )  # fmt: skip


def flash(request: Request, ok: bool, message: str) -> None:
    """A one-line message shown on the next page (the outcome of an action)."""
    request.session["flash"] = {"ok": ok, "message": message}


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def officer_page(fn: Callable[..., Response]) -> Callable[[Request], Response]:
    """Guard a GET endpoint ``fn(request, officer)``: without a login, the login page."""

    @wraps(fn)
    def guarded(request: Request) -> Response:
        officer = auth.current_officer(desk_of(request).settings, request)
        if officer is None:
            return login_redirect(request)
        return fn(request, officer)

    return guarded


def officer_post(fn: Callable[..., Response]) -> Callable[[Request], Response]:
    """Guard a POST endpoint ``fn(request, officer, form)`` (run in the thread pool): a login and
    a valid CSRF token are required (403 otherwise; nothing is changed)."""

    @wraps(fn)
    async def guarded(request: Request) -> Response:
        officer = auth.current_officer(desk_of(request).settings, request)
        if officer is None:
            return login_redirect(request)
        form = await request.form()
        if not auth.csrf_ok(request, str(form.get("csrf") or "")):
            return PlainTextResponse("403 缺少或错误的 CSRF 令牌，请刷新页面后重试。", status_code=403)
        return await run_in_threadpool(fn, request, officer, form)

    return guarded


def not_found(request: Request, officer: Officer) -> Response:
    """The same 404 for a dossier that does not exist and one the officer may not see."""
    return render(request, "not_found.html", officer, status=404)
