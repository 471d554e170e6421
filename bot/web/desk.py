"""The web desk's shared state: one ``Desk`` per app, what every request works with."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from starlette.templating import Jinja2Templates

from bot.config.model import Settings
from bot.officers.actions import OfficerDesk
from bot.processing.pipeline import Pipeline
from bot.store.database import Store
from rules.campaign import Campaign


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
