"""``/login`` (GET the form, POST name and password) and ``/logout`` (POST)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.web import auth
from bot.web.pages import desk_of, render


def _safe_next(target: str | None) -> str:
    """Only a path on this site (``/…``, not ``//host``) is followed after login."""
    target = target or "/"
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_form(request: Request) -> Response:
    settings = desk_of(request).settings
    officer = auth.current_officer(settings, request)
    if officer is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return render(request, "login.html", None, next=_safe_next(request.query_params.get("next")))


async def login_submit(request: Request) -> Response:
    form = await request.form()
    if not auth.csrf_ok(request, str(form.get("csrf") or "")):
        return PlainTextResponse("403 缺少或错误的 CSRF 令牌，请刷新页面后重试。", status_code=403)
    settings = desk_of(request).settings
    name = str(form.get("name") or "").strip()
    throttle: auth.LoginThrottle = request.app.state.login_throttle
    target = _safe_next(str(form.get("next") or "/"))
    if throttle.blocked(name):
        return render(request, "login.html", None, status=429, next=target, name=name,
                      error="密码错误次数过多，请 15 分钟后再试。")  # fmt: skip
    # argon2 takes tens of milliseconds of CPU: off the event loop
    officer = await run_in_threadpool(auth.check_password, settings, name, str(form.get("password") or ""))
    if officer is None:
        throttle.failed(name)
        return render(request, "login.html", None, status=401, next=target, name=name,
                      error="用户名或密码不正确。")  # fmt: skip
    throttle.succeeded(name)
    auth.log_in(request, officer)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form()
    if not auth.csrf_ok(request, str(form.get("csrf") or "")):
        return PlainTextResponse("403 缺少或错误的 CSRF 令牌，请刷新页面后重试。", status_code=403)
    auth.log_out(request)
    return RedirectResponse("/login", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
