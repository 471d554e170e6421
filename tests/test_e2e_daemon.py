"""The daemon end to end: ``intake run`` as a subprocess, real Dovecot (IDLE) and a real SMTP server."""

# Fixtures are imported by name and requested as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import json
import statistics
import time

from tests.daemon_harness import (  # noqa: F401
    DaemonHarness,
    ImapTarget,
    files,
    folder_uids,
    submission,
    wait_for,
)
from tests.servers.dovecot import Dovecot, dovecot, imap_user  # noqa: F401
from tests.servers.smtp import SmtpTestServer, smtp_server  # noqa: F401


def _replies_to(server: SmtpTestServer, rcpt: str) -> list:
    return [m for m in list(server.messages) if rcpt in m.rcpts]


def test_idle_takes_processes_moves_and_answers_each_message(
    tmp_path, dovecot: Dovecot, imap_user, smtp_server: SmtpTestServer, files
):
    """GIVEN the daemon running with IMAP IDLE and post-action ``move:已处理``
    WHEN 10 submissions with real attachments are appended one after another
    THEN each is archived, processed, moved to 已处理 on the server and answered once by SMTP;
    SIGTERM stops the daemon with exit status 0 and every log line is one JSON object.
    The append→receipt-at-SMTP latency is printed (p50/p95)."""
    user, password = imap_user
    daemon = DaemonHarness(
        tmp_path,
        imap=ImapTarget(dovecot.host, dovecot.port, user, password),
        smtp_port=smtp_server.port,
        overrides={"imap": {"post_action": "move:已处理", "resync_s": 30.0}},
    )
    daemon.start()
    try:
        wait_for(lambda: _logged(daemon, "connected to"), "the daemon's IMAP session")
        latencies = []
        senders = []
        for _ in range(10):
            raw, sender, _mid = submission(files)
            senders.append(sender)
            started = time.monotonic()
            dovecot.append(user, password, raw)
            wait_for(lambda s=sender: _replies_to(smtp_server, s), f"the reply to {sender}")
            latencies.append(time.monotonic() - started)
    finally:
        status = daemon.terminate()
    assert status == 0, daemon.log_tail()
    p50 = statistics.median(latencies)
    p95 = statistics.quantiles(latencies, n=20, method="inclusive")[-1]
    print(f"\nappend→receipt at SMTP over {len(latencies)} messages: p50 {p50:.2f} s, p95 {p95:.2f} s, "
          f"max {max(latencies):.2f} s")
    for sender in senders:
        (reply,) = _replies_to(smtp_server, sender)
        assert reply.message["X-Intake-Verdict"] in ("accepted", "defective")
        assert reply.message["Auto-Submitted"] == "auto-replied"
    assert daemon.count("SELECT COUNT(*) FROM inputs WHERE source='imap' AND state='processed'") == 10
    assert daemon.count("SELECT COUNT(*) FROM outgoing WHERE status='sent'") == 10
    assert folder_uids(dovecot.host, dovecot.port, user, password, "INBOX") == {}
    assert len(folder_uids(dovecot.host, dovecot.port, user, password, "已处理")) == 10
    records = daemon.log_records()
    assert any(r["message"] == "stopped" for r in records)
    lines = [line for line in daemon.log_text().splitlines() if not line.startswith("--- run")]
    assert all(json.loads(line)["logger"].startswith("intake") for line in lines)


def _logged(daemon: DaemonHarness, text: str) -> bool:
    return any(text in r.get("message", "") for r in daemon.log_records())
