"""The digest as officers get it by mail (``bot/digest/build.py`` + ``outbox/documents/digest.py``),
for the logged-in officer's categories and with the changes since the last digest mailed to them
(nothing is recorded as sent). ``/digest`` frames ``/digest/view`` (the digest's own HTML page);
``/digest/chart.png`` is its chart."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.config.model import Officer
from bot.digest.build import gather
from bot.web.access import scope
from bot.web.pages import desk_of, officer_page, render
from outbox.documents.digest import render as render_digest

CHART = "/digest/chart.png"


def _rendered(request: Request, officer: Officer) -> tuple[str, str, bytes]:
    desk = desk_of(request)
    data = gather(desk.settings, desk.store, desk.campaign,
                  categories=scope(officer, desk.campaign), recipient=officer.email)  # fmt: skip
    return render_digest(data, inline_cid=None, png_name=CHART)


@officer_page
def digest_page(request: Request, officer: Officer) -> Response:
    return render(request, "digest.html", officer)


@officer_page
def digest_view(request: Request, officer: Officer) -> Response:
    _text, html, _png = _rendered(request, officer)
    return HTMLResponse(html)


@officer_page
def digest_chart(request: Request, officer: Officer) -> Response:
    _text, _html, png = _rendered(request, officer)
    return Response(png, media_type="image/png")


def routes() -> list[Route]:
    return [
        Route("/digest", digest_page, methods=["GET"]),
        Route("/digest/view", digest_view, methods=["GET"]),
        Route("/digest/chart.png", digest_chart, methods=["GET"]),
    ]
