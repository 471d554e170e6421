"""The web desk's app factory: one Starlette app over one store (SQLite WAL, shared with the
running daemon), with its campaign, pipeline and ``OfficerDesk`` (the CLI's and mail's actions).

Endpoints are plain functions, run by Starlette in its thread pool; the store hands each thread
its own SQLite connection, and the officers' actions are serialised by one lock (each is one
``BEGIN IMMEDIATE`` transaction, like the CLI's).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bot.config.model import Settings
from bot.officers.actions import OfficerDesk
from bot.processing.pipeline import Pipeline
from bot.store.database import Store
from bot.web import auth
from bot.web.headers import SecurityHeaders
from rules.campaign import Campaign, load_campaign

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "intake_desk"


@dataclass
class Desk:
    """What every request works with (``request.app.state.desk``)."""

    settings: Settings
    store: Store
    campaign: Campaign
    pipeline: Pipeline
    officers: OfficerDesk
    templates: Jinja2Templates
    lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        self.store.close()


def create_app(settings: Settings, *, campaign: Campaign | None = None) -> Starlette:
    """The desk for ``settings``' store. The store is opened (and created if absent) here."""
    from bot.web.routes import actions, digest, dossiers, login, materials, summary

    store = Store.open(settings.store.db_path, settings.store.archive_dir)
    campaign = campaign or load_campaign(settings.campaign.profile)
    pipeline = Pipeline(settings, store, campaign)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    desk = Desk(settings, store, campaign, pipeline, OfficerDesk(settings, store, pipeline), templates)
    routes = [
        *login.routes(),
        *dossiers.routes(),
        *materials.routes(),
        *actions.routes(),
        *summary.routes(),
        *digest.routes(),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=auth.session_secret(settings),
            session_cookie=SESSION_COOKIE,
            max_age=int(settings.web.session_hours * 3600),
            same_site="strict",
            https_only=settings.web.secure_cookie,
        ),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.desk = desk
    app.state.login_throttle = auth.LoginThrottle()
    return app
