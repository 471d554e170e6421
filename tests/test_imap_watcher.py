"""The IMAP watcher against a real Dovecot: exactly once, post-actions, IDLE, UIDVALIDITY, dead links."""

# Fixtures are imported by name and requested as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from datetime import datetime
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted

from bot.sources.imap.actions import KeywordAction, MoveAction, SeenAction, action_from_config
from bot.sources.imap.connect import (
    ImapConnectionLost,
    has_capability,
    logout_politely,
    open_mailbox,
)
from bot.sources.imap.watcher import ImapAccount, ImapWatcher
from tests.servers.dovecot import (  # noqa: F401
    Dovecot,
    dovecot,
    dovecot_plain_imap4,
    dovecot_tls,
    imap_user,
)
from tests.servers.tcp_proxy import TcpProxy, tcp_proxy_factory  # noqa: F401


class SqliteLedger:
    """A small real ``bot.store.ledger.Ledger``: SQLite rows + content-addressed files (fsync).

    Stands in for ``bot.store.database.Store`` until the tests switch to it.
    """

    def __init__(self, root: Path) -> None:
        self.archive = root / "archive"
        self.archive.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(root / "ledger.db", check_same_thread=False, isolation_level=None)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS inputs(id INTEGER PRIMARY KEY, account, folder, uidvalidity,"
            " uid, sha256, message_id, name, UNIQUE(account, folder, uidvalidity, uid))"
        )
        self.db.execute("CREATE TABLE IF NOT EXISTS copies(account, folder, uidvalidity, uid, sha256)")
        self.lock = threading.Lock()

    def _put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        with open(self.archive / sha, "wb") as f:
            f.write(data)
            f.flush()
            import os

            os.fsync(f.fileno())
        return sha

    def is_known_uid(self, account: str, folder: str, uidvalidity: int, uid: int) -> bool:
        with self.lock:
            key = (account, folder, uidvalidity, uid)
            q = ("SELECT 1 FROM inputs WHERE account=? AND folder=? AND uidvalidity=? AND uid=? UNION ALL"
                 " SELECT 1 FROM copies WHERE account=? AND folder=? AND uidvalidity=? AND uid=?")
            return self.db.execute(q, key + key).fetchone() is not None

    def remember_copy(self, account: str, folder: str, uidvalidity: int, uid: int, sha256: str) -> None:
        with self.lock:
            self.db.execute("INSERT INTO copies VALUES(?,?,?,?,?)", (account, folder, uidvalidity, uid, sha256))

    def is_known_message(self, sha256: str, message_id: str | None) -> bool:
        with self.lock:
            q = "SELECT 1 FROM inputs WHERE uid IS NOT NULL AND (sha256=? OR (? IS NOT NULL AND message_id=?))"
            return self.db.execute(q, (sha256, message_id, message_id)).fetchone() is not None

    def accept_mail(self, raw, *, account, folder, uidvalidity, uid, received_at, declared_size=None) -> str:  # noqa: ANN001
        sha = self._put(raw)
        mid = BytesHeaderParser().parsebytes(raw).get("Message-ID")
        with self.lock:
            row = self.db.execute(
                "SELECT id FROM inputs WHERE account=? AND folder=? AND uidvalidity=? AND uid=?",
                (account, folder, uidvalidity, uid),
            ).fetchone()
            if row:
                return str(row[0])
            cur = self.db.execute(
                "INSERT INTO inputs(account, folder, uidvalidity, uid, sha256, message_id) VALUES(?,?,?,?,?,?)",
                (account, folder, uidvalidity, uid, sha, mid and mid.strip()),
            )
            return str(cur.lastrowid)

    def accept_path(self, path: Path, *, taken_at: datetime) -> str:
        if path.is_dir():
            parts = sorted(
                (p.relative_to(path).as_posix(), self._put(p.read_bytes()))
                for p in path.rglob("*")
                if p.is_file()
            )
            sha = hashlib.sha256(repr(parts).encode()).hexdigest()
        else:
            sha = self._put(path.read_bytes())
        with self.lock:
            cur = self.db.execute("INSERT INTO inputs(sha256, name) VALUES(?, ?)", (sha, path.name))
            return str(cur.lastrowid)

    def rows(self) -> list[tuple]:
        with self.lock:
            return self.db.execute(
                "SELECT folder, uidvalidity, uid, sha256, message_id FROM inputs ORDER BY id"
            ).fetchall()


def mail(n: int, *, size: int = 0) -> bytes:
    """A small real message with a unique Message-ID (CRLF line ends, as on the wire)."""
    body = ("申报材料见附件。\r\n" + "x" * size).encode()
    return (
        f"From: applicant{n}@example.com\r\nTo: intake@example.org\r\nSubject: =?UTF-8?B?55Sz5oql?= {n}\r\n"
        f"Message-ID: <m{n}.{time.time_ns()}@example.com>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + body


def account(server_host: str, port: int, user: tuple[str, str], **kw) -> ImapAccount:  # noqa: ANN003
    kw.setdefault("security", "plain")
    return ImapAccount(
        name="intake", host=server_host, port=port, username=user[0], password=user[1], **kw
    )


def server_flags(
    dc: Dovecot, user: tuple[str, str], folder: str = "INBOX"
) -> list[tuple[str, ...]]:
    with MailBoxUnencrypted(dc.host, dc.port, timeout=10).login(*user, initial_folder=folder) as mb:
        msgs = mb.fetch("ALL", charset=None, mark_seen=False, headers_only=True)
        return [tuple(f for f in m.flags if f != "\\Recent") for m in msgs]


def wait_until(cond, timeout_s: float, step: float = 0.02) -> float:  # noqa: ANN001
    """Seconds until ``cond()`` held; fails the test after ``timeout_s``."""
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(step)
    return time.monotonic() - start


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    return SqliteLedger(tmp_path)


@pytest.fixture
def running():
    """Start ``watcher.run`` in a thread; stopped and joined after the test."""
    started: list[tuple[threading.Event, threading.Thread]] = []

    def start(watcher: ImapWatcher) -> None:
        stop = threading.Event()
        t = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
        t.start()
        started.append((stop, t))

    yield start
    for stop, t in started:
        stop.set()
        t.join(timeout=15)
        assert not t.is_alive(), "the watcher did not stop within 15 s"


def test_post_action_specs_parse_to_classes() -> None:
    assert action_from_config("seen") == SeenAction()
    assert action_from_config("move:已处理") == MoveAction("已处理")
    assert action_from_config("keyword:intake-taken").pending_criteria == "UNKEYWORD intake-taken"
    for bad in ("keyword:两 字", "keyword:\\Seen", "move:", "delete"):
        with pytest.raises(ValueError):
            action_from_config(bad)
    assert isinstance(action_from_config("keyword:$Taken"), KeywordAction)


@pytest.mark.dovecot
def test_sync_takes_each_message_once_and_flags_seen(dovecot: Dovecot, imap_user, ledger) -> None:
    """GIVEN two delivered messages WHEN synced twice THEN both archived byte-exact once, \\Seen on the server."""
    raws = [mail(1), mail(2)]
    for raw in raws:
        dovecot.deliver(imap_user[0], raw)
    woke: list[str] = []
    w = ImapWatcher(account(dovecot.host, dovecot.port, imap_user), ledger, on_new=woke.append)
    try:
        assert w.sync_once() == 2
        assert w.sync_once() == 0
    finally:
        w.close()
    rows = ledger.rows()
    assert [(r[0], r[2]) for r in rows] == [("INBOX", 1), ("INBOX", 2)]
    assert [r[3] for r in rows] == [hashlib.sha256(r).hexdigest() for r in raws]
    assert [(ledger.archive / r[3]).read_bytes() for r in rows] == raws
    assert woke == ["1", "2"]
    assert server_flags(dovecot, imap_user) == [("\\Seen",), ("\\Seen",)]


@pytest.mark.dovecot
def test_id_is_sent_after_login_before_select_and_search_has_no_charset(
    dovecot: Dovecot,
    imap_user,
    ledger,
    tcp_proxy_factory,
) -> None:
    """NetEase refuses SELECT before ID; Aliyun refuses SEARCH CHARSET (reference/mail-in-china.md)."""
    dovecot.deliver(imap_user[0], mail(1))
    proxy: TcpProxy = tcp_proxy_factory(dovecot.host, dovecot.port)
    w = ImapWatcher(account(proxy.host, proxy.port, imap_user), ledger)
    try:
        assert w.sync_once() == 1
    finally:
        w.close()
    sent = bytes(proxy.client_bytes)
    verbs = [line.split(b" ")[1].upper() for line in sent.split(b"\r\n") if line.count(b" ") >= 1]
    # imaplib asks CAPABILITY on connect; then LOGIN, CAPABILITY again (it changes), ID, SELECT.
    assert verbs[:5] == [b"CAPABILITY", b"LOGIN", b"CAPABILITY", b"ID", b"SELECT"]
    assert b"CHARSET" not in sent.upper()
    assert b"BODY.PEEK[]" in sent
    assert "ID sent: name=dossier-intake" in dovecot.log()


@pytest.mark.dovecot
def test_move_action_moves_to_chinese_folder(dovecot: Dovecot, imap_user, ledger) -> None:
    dovecot.deliver(imap_user[0], mail(1))
    w = ImapWatcher(
        account(dovecot.host, dovecot.port, imap_user, post_action="move:已处理"), ledger
    )
    try:
        assert (w.sync_once(), w.sync_once()) == (1, 0)
    finally:
        w.close()
    assert server_flags(dovecot, imap_user) == []
    assert server_flags(dovecot, imap_user, "已处理") == [
        ()
    ]  # moved, still unread for the officers


@pytest.mark.dovecot
def test_keyword_action_tags_and_leaves_unseen(dovecot: Dovecot, imap_user, ledger) -> None:
    dovecot.deliver(imap_user[0], mail(1))
    w = ImapWatcher(
        account(dovecot.host, dovecot.port, imap_user, post_action="keyword:intake-taken"), ledger
    )
    try:
        assert (w.sync_once(), w.sync_once()) == (1, 0)
    finally:
        w.close()
    assert server_flags(dovecot, imap_user) == [("intake-taken",)]


@pytest.mark.dovecot
def test_post_action_lost_to_a_crash_is_redone_without_a_second_archive(
    dovecot: Dovecot, imap_user, ledger
) -> None:
    """GIVEN a message archived but never flagged (crash in between) WHEN a new session syncs
    THEN it is flagged \\Seen and not archived again."""
    raw = mail(1)
    dovecot.deliver(imap_user[0], raw)
    uidvalidity = dovecot.uidvalidity(imap_user[0])
    ledger.accept_mail(
        raw, account="intake", folder="INBOX", uidvalidity=uidvalidity, uid=1, received_at=None
    )
    w = ImapWatcher(account(dovecot.host, dovecot.port, imap_user), ledger)
    try:
        assert w.sync_once() == 0
    finally:
        w.close()
    assert len(ledger.rows()) == 1
    assert server_flags(dovecot, imap_user) == [("\\Seen",)]


@pytest.mark.dovecot
def test_uidvalidity_change_takes_nothing_twice_and_skips_nothing(
    dovecot: Dovecot, imap_user, ledger
) -> None:
    """GIVEN two archived messages WHEN the folder is recreated with the same messages under a new
    UIDVALIDITY (new UIDs) and a third arrives THEN only the third is taken."""
    for n in (1, 2):
        dovecot.deliver(imap_user[0], mail(n))
    w = ImapWatcher(account(dovecot.host, dovecot.port, imap_user), ledger)
    try:
        assert w.sync_once() == 2
        w.close()
        old, new = dovecot.renumber(*imap_user)
        assert new != old
        dovecot.deliver(imap_user[0], mail(3))
        assert w.sync_once() == 1
        assert w.sync_once() == 0
    finally:
        w.close()
    # A restart (a new watcher, the same ledger) fetches nothing: the copies are remembered.
    restarted = ImapWatcher(account(dovecot.host, dovecot.port, imap_user), ledger)
    try:
        assert restarted.sync_once() == 0
        assert restarted.fetched == 0
    finally:
        restarted.close()
    rows = ledger.rows()
    assert [(r[1], r[2]) for r in rows] == [(old, 1), (old, 2), (new, 5)]
    assert server_flags(dovecot, imap_user) == [("\\Seen",)] * 3


@pytest.mark.dovecot
def test_uidvalidity_change_under_a_live_session(dovecot: Dovecot, imap_user, ledger) -> None:
    """The server renumbers while the watcher stays connected: it notices on its next sync."""
    dovecot.deliver(imap_user[0], mail(1))
    w = ImapWatcher(account(dovecot.host, dovecot.port, imap_user, backoff_min_s=0.1), ledger)
    try:
        assert w.sync_once() == 1
        dovecot.renumber(*imap_user)
        try:
            taken = w.sync_once()
        except ImapConnectionLost:  # Dovecot may hang up on a session whose UIDVALIDITY changed
            taken = w.sync_once()
        assert taken == 0
        assert w.sync_once() == 0
    finally:
        w.close()
    assert len(ledger.rows()) == 1


@pytest.mark.dovecot
def test_oversize_message_has_its_headers_archived_and_its_body_left_on_the_server(
    dovecot: Dovecot, imap_user, ledger
) -> None:
    """GIVEN a message above max_message_bytes (RFC822.SIZE is asked first)
    WHEN the watcher takes it
    THEN only its header block is fetched and archived; the body stays on the server."""
    raw = mail(1, size=5000)
    dovecot.deliver(imap_user[0], raw)
    w = ImapWatcher(account(dovecot.host, dovecot.port, imap_user, max_message_bytes=1000), ledger)
    try:
        assert w.sync_once() == 1
    finally:
        w.close()
    archived = (ledger.archive / ledger.rows()[0][3]).read_bytes()
    assert archived == raw[: raw.find(b"\r\n\r\n") + 4]
    assert len(archived) < 1000 < len(raw)
    with MailBoxUnencrypted(dovecot.host, dovecot.port).login(*imap_user) as box:
        (stored,) = [m.obj.as_bytes() for m in box.fetch(mark_seen=False)]
    assert "x" * 4000 in stored.decode()


@pytest.mark.dovecot
def test_idle_wakes_on_delivery(dovecot: Dovecot, imap_user, ledger, running) -> None:
    """GIVEN a watcher in IDLE with a 30 s resync WHEN a message is delivered THEN IDLE wakes it
    and it is archived well before any resync (the latency itself is measured in bench/, not here)."""
    woke = threading.Event()
    w = ImapWatcher(
        account(dovecot.host, dovecot.port, imap_user, resync_s=30),
        ledger,
        on_new=lambda _id: woke.set(),
    )
    running(w)
    wait_until(lambda: w.connects == 1, 5)
    time.sleep(0.3)  # let it enter IDLE
    dovecot.deliver(imap_user[0], mail(1))
    assert woke.wait(15)  # well under resync_s: only IDLE can have woken it
    assert len(ledger.rows()) == 1
    assert w.connects == 1


@pytest.mark.dovecot
def test_blackholed_connection_is_detected_and_mail_taken_once(
    dovecot: Dovecot,
    imap_user,
    ledger,
    running,
    tcp_proxy_factory,
) -> None:
    """GIVEN a watcher in IDLE behind a proxy WHEN the link silently dies (no FIN, no RST, no BYE)
    and a message arrives meanwhile THEN the resync times out, reconnects, and takes it once."""
    proxy: TcpProxy = tcp_proxy_factory(dovecot.host, dovecot.port)
    acc = account(proxy.host, proxy.port, imap_user, resync_s=1.5, timeout_s=1.5, backoff_min_s=0.2)
    taken: list[str] = []
    w = ImapWatcher(acc, ledger, on_new=taken.append)
    running(w)
    dovecot.deliver(imap_user[0], mail(1))
    wait_until(lambda: len(taken) == 1, 5)
    time.sleep(0.3)
    proxy.blackhole()
    dovecot.deliver(imap_user[0], mail(2))
    waited = wait_until(lambda: len(taken) == 2, 12)
    print(f"black-holed link: message taken after reconnect in {waited:.1f} s")
    time.sleep(2)  # another resync round: still nothing twice
    assert taken == ["1", "2"]
    assert w.connects >= 2
    assert proxy.connections >= 2
    assert [r[2] for r in ledger.rows()] == [1, 2]


@pytest.mark.dovecot
def test_server_without_idle_or_move_is_polled_and_moved_by_copy(
    dovecot_plain_imap4: Dovecot, ledger, running
) -> None:
    """GIVEN a server announcing neither IDLE nor MOVE WHEN mail arrives THEN the watcher polls
    every resync_s, takes it once, and moves it with COPY + \\Deleted + UID EXPUNGE."""
    dc = dovecot_plain_imap4
    user = dc.new_user()
    probe = open_mailbox(
        host=dc.host, port=dc.port, security="plain", username=user[0], password=user[1]
    )
    assert (has_capability(probe, "IDLE"), has_capability(probe, "MOVE")) == (False, False)
    logout_politely(probe)
    taken: list[str] = []
    acc = account(dc.host, dc.port, user, resync_s=0.5, post_action="move:已处理")
    w = ImapWatcher(acc, ledger, on_new=taken.append)
    running(w)
    wait_until(lambda: w.connects == 1, 5)
    dc.deliver(user[0], mail(1))
    wait_until(lambda: len(taken) == 1, 3)
    time.sleep(1.2)
    assert taken == ["1"]
    assert server_flags(dc, user) == []
    assert server_flags(dc, user, "已处理") == [()]


def test_missing_server_skips_locally_and_fails_in_ci(monkeypatch) -> None:
    from tests.servers.dovecot import _missing

    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        _missing("dovecot is not installed")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and dovecot is not installed"):
        _missing("dovecot is not installed")


@pytest.mark.dovecot
def test_starttls_verifies_the_certificate(dovecot_tls, ledger) -> None:
    """A self-signed server is refused by default and trusted with ``ca_file`` (imap-tools alone
    would verify nothing)."""
    dc, cert = dovecot_tls
    user = dc.new_user()
    dc.deliver(user[0], mail(1))
    untrusted = ImapWatcher(
        account(dc.host, dc.port, user, security="starttls", timeout_s=5), ledger
    )
    with pytest.raises(ImapConnectionLost, match="CERTIFICATE_VERIFY_FAILED"):
        untrusted.sync_once()
    trusted = ImapWatcher(
        account(dc.host, dc.port, user, security="starttls", timeout_s=5, ca_file=cert), ledger
    )
    try:
        assert trusted.sync_once() == 1
    finally:
        trusted.close()
