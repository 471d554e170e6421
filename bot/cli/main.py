"""The ``intake`` entry point: the app with every verb group registered (the app imports no verb module)."""

from __future__ import annotations

from bot.cli import correspondents, dkim, keys, links, officers, packets, web
from bot.cli.app import app

# Verbs that live in their own modules (one concept per file) register themselves here, so no
# verb module is imported back by the app.
officers.register(app)
packets.register(app)
correspondents.register(app)
web.register(app)
links.register(app)
keys.register(app)
dkim.register(app)


def main() -> None:
    """Run the ``intake`` command line (typer)."""
    app()
