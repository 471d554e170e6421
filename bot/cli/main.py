"""The ``intake`` entry point: the app with every verb group registered (the app imports no verb module)."""

from __future__ import annotations

import gc
import sys

from bot.processing import fork_server

# `intake run` reads inputs in workers forked from a fork server that imports the parsers
# (~0.6 s): started first, it does so while the command line below is imported.
if "run" in sys.argv[1:]:
    fork_server.start_in_background()

from bot.cli import correspondents, dkim, held, keys, links, officers, packets, web  # noqa: E402
from bot.cli.app import app  # noqa: E402

# Verbs that live in their own modules (one concept per file) register themselves here, so no
# verb module is imported back by the app.
officers.register(app)
packets.register(app)
correspondents.register(app)
web.register(app)
links.register(app)
keys.register(app)
dkim.register(app)
held.register(app)


def main() -> None:
    """Run the ``intake`` command line (typer).

    However the command ends, every object still alive is then moved to the collector's
    permanent generation (``gc.freeze``), so the interpreter's shutdown does not walk them all
    again in its last collections: ~0.15 s of every command after a 300-mail ``run --once``
    (issue 16). Nothing is lost by it: our files are flushed and closed where they are written,
    and the log handlers and standard streams are flushed at exit as before.
    """
    try:
        app()
    finally:
        gc.freeze()
