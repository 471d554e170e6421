"""The IMAP link dies silently during IDLE, then the mailbox comes back renumbered (new UIDVALIDITY)."""

# Fixtures are imported by name and requested as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

from collections import Counter

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
from tests.servers.tcp_proxy import TcpProxy, tcp_proxy_factory  # noqa: F401


def _to(server: SmtpTestServer, rcpt: str) -> list:
    return [m for m in list(server.messages) if rcpt in m.rcpts]


def test_blackholed_idle_then_renumbered_mailbox_processes_each_message_once(
    tmp_path, dovecot: Dovecot, imap_user, smtp_server: SmtpTestServer, files, tcp_proxy_factory
):
    """GIVEN the daemon in IDLE through a TCP proxy, two submissions already answered
    WHEN the proxy silently black-holes the connection (no FIN, no RST, no BYE) and new ones,
    a third submission arrives, the mailbox is renumbered under a new UIDVALIDITY (all three
    messages re-appended, unflagged), and the network heals
    THEN the daemon notices the dead link, reconnects, rescans, recognises the two archived
    messages by content, takes the third once: three inputs, three replies, all flagged \\Seen."""
    user, password = imap_user
    proxy: TcpProxy = tcp_proxy_factory(dovecot.host, dovecot.port)
    daemon = DaemonHarness(
        tmp_path, imap=ImapTarget(proxy.host, proxy.port, user, password), smtp_port=smtp_server.port
    ).start()
    senders = []
    try:
        for _ in range(2):
            raw, sender, _ = submission(files)
            senders.append(sender)
            dovecot.append(user, password, raw)
        wait_for(lambda: all(_to(smtp_server, s) for s in senders), "the first two replies")
        connections = proxy.connections
        proxy.blackhole(new_too=True)
        raw, sender, _ = submission(files)
        senders.append(sender)
        dovecot.append(user, password, raw)
        old, new = dovecot.renumber(user, password)
        assert new != old
        wait_for(lambda: "connection lost" in daemon.log_text() or "timed out" in daemon.log_text(),
                 "the daemon to notice the dead link")
        proxy.heal()
        wait_for(lambda: _to(smtp_server, sender), "the reply to the message sent during the outage")
        wait_for(lambda: all("\\Seen" in f for f in _flags(dovecot, user, password).values()),
                 "every renumbered message flagged \\Seen")
        wait_for(lambda: daemon.count("SELECT COUNT(*) FROM outgoing WHERE status!='sent'") == 0,
                 "the queue to drain")
    finally:
        stopped = daemon.terminate()
    assert stopped == 0, daemon.log_tail()
    assert proxy.connections > connections
    assert [len(_to(smtp_server, s)) for s in senders] == [1, 1, 1]
    rows = daemon.query("SELECT uidvalidity, state FROM inputs ORDER BY id")
    assert [r["state"] for r in rows] == ["processed"] * 3
    assert Counter(r["uidvalidity"] for r in rows) == {old: 2, new: 1}
    assert daemon.count("SELECT COUNT(*) FROM versions") == 3
    assert len(_flags(dovecot, user, password)) == 3


def _flags(dovecot: Dovecot, user: str, password: str) -> dict[str, list[str]]:
    return folder_uids(dovecot.host, dovecot.port, user, password, "INBOX")
