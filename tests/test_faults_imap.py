"""The IMAP link dies silently during IDLE, then the mailbox comes back renumbered (new UIDVALIDITY)."""

# Fixtures are imported by name and requested as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import base64
import hashlib
import os
from collections import Counter

import pytest

from bot.sources.imap.connect import ImapConnectionLost
from bot.sources.imap.watcher import ImapAccount, ImapWatcher
from bot.store.database import Store
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


def test_connection_reset_in_the_middle_of_a_fetch_loses_nothing_and_takes_once(
    tmp_path, dovecot: Dovecot, imap_user, tcp_proxy_factory
):
    """GIVEN a 1.5 MB submission in the mailbox, reached through a proxy armed to reset the
    connection after 300 KB from the server WHEN the watcher syncs THEN the fetch fails with
    ImapConnectionLost, nothing is archived or recorded and the message stays unseen; the next
    sync (link back) takes it exactly once, byte for byte, and flags it \\Seen."""
    user, password = imap_user
    raw = (
        b"From: a@example.com\r\nTo: intake@example.org\r\nSubject: big\r\n"
        b"Message-ID: <mid-fetch@example.com>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: application/octet-stream; name=x.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ) + base64.encodebytes(os.urandom(1_200_000)).replace(b"\n", b"\r\n")
    assert len(raw) > 1_000_000
    dovecot.append(user, password, raw)
    proxy: TcpProxy = tcp_proxy_factory(dovecot.host, dovecot.port)
    store = Store.open(tmp_path / "s.sqlite3", tmp_path / "archive")
    account = ImapAccount(name="intake", host=proxy.host, port=proxy.port, security="plain",
                          username=user, password=password, timeout_s=5.0)
    watcher = ImapWatcher(account, store)
    try:
        proxy.cut_after(300_000)
        with pytest.raises(ImapConnectionLost):
            watcher.sync_once()
        assert proxy.cuts == 1
        assert store.inputs() == []
        assert not any("\\Seen" in f for f in _flags(dovecot, user, password).values())
        watcher.close()
        assert watcher.sync_once() == 1
        assert watcher.sync_once() == 0
    finally:
        watcher.close()
    (row,) = store.inputs()
    stored = store.archive.path_for(row.sha256).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == row.sha256
    assert stored.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert all("\\Seen" in f for f in _flags(dovecot, user, password).values())
    store.close()
