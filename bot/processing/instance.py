"""What the officers' work, the digests and the packets need of a running instance (a Protocol).

``bot.daemon.Intake`` is the one implementation. The rooms above processing (digest/, officers/,
upstream/) type their ``intake`` arguments with this, so none imports the daemon back.
"""

from __future__ import annotations

import threading
from typing import Protocol

from bot.config.model import Settings
from bot.processing.pipeline import Pipeline
from bot.store.database import Store
from outbox.delivery.sender import Transport
from rules.campaign import Campaign


class Instance(Protocol):
    """One intake instance: its settings, store, campaign and pipeline, and its transport."""

    settings: Settings
    store: Store
    campaign: Campaign
    pipeline: Pipeline
    wake: threading.Event

    def transport(self) -> Transport:
        """The configured outgoing transport (file or SMTP)."""
        ...

    def deliver(self) -> tuple[list[str], list[str]]:
        """Send what is queued; (delivered descriptions, failed descriptions)."""
        ...
