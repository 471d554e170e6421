"""A mail relay outage that lasts is a WARNING, not INFO among the retries (issue 17, item 11)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import timedelta

from outbox.delivery import queue
from outbox.delivery.sender import Backoff, deliver_pending
from outbox.delivery.smtp import SmtpTransport
from outbox.mail.compose import compose_receipt
from tests.outbox_builders import NOW, TRACKING, make_ctx, make_dossier
from tests.servers.smtp import free_port

BACKOFF = Backoff(first_s=60, factor=2, max_s=600, give_up_after_s=86400)


def test_a_temporary_failure_that_lasts_becomes_a_warning(caplog) -> None:
    """GIVEN a reply queued while the relay is down (a closed port on loopback)
    WHEN delivery is tried at each retry time
    THEN the first two failures are INFO, the third and later are WARNING naming the attempts."""
    conn = sqlite3.connect(":memory:")
    queue.init_queue(conn)
    msg = compose_receipt(make_ctx(), make_dossier(), [], TRACKING, to="a@example.com")
    queue.enqueue(conn, msg, kind="receipt", tracking=TRACKING, dedupe_key="r1", now=NOW)
    closed = SmtpTransport("127.0.0.1", free_port(), security="plain", timeout_s=2)
    levels = []
    when = NOW
    for _ in range(4):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="intake.outbox"):
            report = asyncio.run(deliver_pending(conn, closed, now=when, backoff=BACKOFF))
        assert report.retrying == [1]
        (rec,) = [r for r in caplog.records if r.name == "intake.outbox"]
        levels.append(rec.levelname)
        when += timedelta(seconds=700)
    assert levels == ["INFO", "INFO", "WARNING", "WARNING"]
    assert "still not delivered after 3 attempts" in caplog.text or "after 4 attempts" in caplog.text
