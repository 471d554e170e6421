"""The IMAP watcher: takes every message of the watched folders exactly once (issue 5, "Mailbox").

Store, then acknowledge: a message is fetched with ``BODY.PEEK[]`` (no \\Seen), handed to the
ledger (archived with fsync and recorded under account, folder, UIDVALIDITY, UID), and only then
flagged, tagged or moved. New mail arrives by IDLE (RFC 2177, re-issued well before 29 minutes),
with a periodic UID resync that catches what IDLE missed and notices a silently dead connection,
and reconnection with exponential backoff. Servers without IDLE are polled.
"""

from __future__ import annotations

import hashlib
import imaplib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from imap_tools import BaseMailBox
from imap_tools.errors import ImapToolsError
from imap_tools.utils import encode_folder

from bot.crashpoints import crashpoint
from bot.sources.imap.actions import PostAction, PostActionError, action_from_config
from bot.sources.imap.connect import (
    TRANSIENT,
    ImapConnectionLost,
    ImapError,
    ImapLoginRefused,
    close_quietly,
    has_capability,
    logout_politely,
    open_mailbox,
)
from bot.store.ledger import Ledger

log = logging.getLogger("intake.imap")

IDLE_MAX_S = 29 * 60  # RFC 2177 §3: re-issue IDLE at least every 29 minutes
_FETCH_ITEMS = "(UID INTERNALDATE RFC822.SIZE BODY.PEEK[])"  # PEEK: fetching must not set \Seen
_SIZE_ITEMS = "(UID RFC822.SIZE)"
_HEADER_ITEMS = "(UID INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER])"


@dataclass
class ImapAccount:
    """One mailbox to watch. Times in seconds, sizes in bytes.

    ``security``: ``"ssl"`` | ``"starttls"`` | ``"plain"`` (loopback only). ``post_action``:
    ``"seen"`` | ``"move:<folder>"`` | ``"keyword:<kw>"``. ``ca_file`` trusts a private CA.
    """

    name: str
    host: str
    port: int
    security: str
    username: str
    password: str
    folders: list[str] = field(default_factory=lambda: ["INBOX"])
    post_action: str = "seen"
    oauth2_token: str | None = None
    timeout_s: float = 60.0
    idle_s: float = 25 * 60
    resync_s: float = 60.0
    max_message_bytes: int = 50 * 1024 * 1024
    ca_file: Path | None = None
    backoff_min_s: float = 1.0
    backoff_max_s: float = 300.0


@dataclass
class _FolderState:
    uidvalidity: int
    high_uid: int  # every UID up to this one has been looked at under this UIDVALIDITY


class ImapWatcher:
    """Watch ``account``'s folders; each new message goes into ``ledger`` exactly once.

    ``on_new(input_id)`` is called after each accepted message (e.g. to wake the processing queue).
    Not thread-safe: use either ``run`` in one thread or ``sync_once`` calls, not both at once.
    """

    def __init__(
        self,
        account: ImapAccount,
        ledger: Ledger,
        *,
        on_new: Callable[[str], None] | None = None,
    ) -> None:
        self.account = account
        self.ledger = ledger
        self.on_new = on_new
        self.action: PostAction = action_from_config(account.post_action)
        self._mailbox: BaseMailBox | None = None
        self._folders: dict[str, _FolderState] = {}
        # (folder, UIDVALIDITY, UID) found to be copies of archived mail; not fetched again (the
        # ledger remembers them too, so a restart does not fetch them either).
        self._copies: set[tuple[str, int, int]] = set()
        self.fetched = 0  # message bodies fetched (for logs, tests and the bench)
        self.connects = 0  # how many sessions were opened (for logs and tests)
        self.last_sync_at: float | None = None  # POSIX time of the last sync that went through

    # -- connection ------------------------------------------------------------------------------

    def _connect(self) -> BaseMailBox:
        if self._mailbox is None:
            a = self.account
            self._mailbox = open_mailbox(
                host=a.host,
                port=a.port,
                security=a.security,
                username=a.username,
                password=a.password,
                oauth2_token=a.oauth2_token,
                timeout_s=a.timeout_s,
                ca_file=a.ca_file,
            )
            self.connects += 1
            # A new session starts with full scans: they redo post-actions lost to a crash.
            self._folders.clear()
            try:
                self.action.prepare(self._mailbox)
            except PostActionError as e:
                log.error("[%s] %s", a.name, e)
        return self._mailbox

    def _drop(self) -> None:
        close_quietly(self._mailbox)
        self._mailbox = None

    def close(self) -> None:
        """Log out (bounded by ``timeout_s``) and forget the session."""
        if self._mailbox is not None:
            logout_politely(self._mailbox)
            self._mailbox = None

    # -- one pass ------------------------------------------------------------------------------

    def sync_once(self) -> int:
        """Connect if needed and take every new message of every folder; return how many.

        Raises ``ImapConnectionLost`` (the session is dropped; call again to reconnect) or
        ``ImapLoginRefused``. A folder that cannot be selected is logged and skipped.
        """
        mailbox = self._connect()
        taken = 0
        try:
            for folder in self.account.folders:
                taken += self._sync_folder(mailbox, folder)
        except TRANSIENT as e:
            self._drop()
            raise ImapConnectionLost(f"[{self.account.name}] connection lost: {e}") from e
        self.last_sync_at = time.time()
        return taken

    def _select(self, mailbox: BaseMailBox, folder: str) -> int | None:
        """SELECT ``folder`` and return its UIDVALIDITY, or None when the server refuses it."""
        client = mailbox.client
        try:
            typ, data = client.select(encode_folder(folder))
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as e:
            typ, data = "NO", [str(e).encode()]
        if typ != "OK":
            log.error("[%s] cannot select %s: %r", self.account.name, folder, data)
            return None
        _, values = client.response("UIDVALIDITY")
        if values and values[0]:
            return int(values[0])
        status = mailbox.folder.status(folder, ["UIDVALIDITY"])
        return int(status["UIDVALIDITY"])

    def _search(self, mailbox: BaseMailBox, criteria: str) -> list[int]:
        # No CHARSET argument, ever: Aliyun enterprise mail rejects SEARCH CHARSET (and Exchange
        # rejects CHARSET US-ASCII); our criteria are ASCII keys and UID ranges only.
        typ, data = mailbox.client.uid("SEARCH", criteria)
        if typ != "OK":
            raise ImapError(f"UID SEARCH {criteria}: {typ} {data!r}")
        return [int(x) for x in (data[0] or b"").split()] if data else []

    def _sync_folder(self, mailbox: BaseMailBox, folder: str) -> int:
        name = self.account.name
        uidvalidity = self._select(mailbox, folder)
        if uidvalidity is None:
            return 0
        state = self._folders.get(folder)
        full = state is None or state.uidvalidity != uidvalidity
        if state is not None and state.uidvalidity != uidvalidity:
            log.warning(
                "[%s] %s: UIDVALIDITY changed %s -> %s; rescanning (archived mail is recognised by "
                "sha256)",
                name,
                folder,
                state.uidvalidity,
                uidvalidity,
            )
        high = 0 if full or state is None else state.high_uid
        try:
            # "UID n:*" always matches the last message even when its UID < n (RFC 3501 §6.4.8).
            uids = self._search(mailbox, "ALL" if full else f"UID {high + 1}:*")
        except ImapError as e:
            log.error("[%s] %s: %s", name, folder, e)
            return 0
        uids = [u for u in uids if u > high]
        taken = 0
        complete = True
        known: list[int] = []
        todo: list[int] = []
        for uid in uids:
            if (folder, uidvalidity, uid) in self._copies:
                continue
            if self.ledger.is_known_uid(name, folder, uidvalidity, uid):
                known.append(uid)
            else:
                todo.append(uid)
        sizes = self._sizes(mailbox, todo)
        for uid in todo:
            try:
                taken += self._take(mailbox, folder, uidvalidity, uid, declared=sizes.get(uid))
            except TRANSIENT:
                raise
            except Exception:  # noqa: BLE001 - one bad message must not stop the others (Mailman)
                log.exception(
                    "[%s] %s UID %s: could not be taken; retried on the next full scan",
                    name,
                    folder,
                    uid,
                )
                complete = False
        if full and known:
            self._redo_post_actions(mailbox, folder, known)
        if complete:
            self._folders[folder] = _FolderState(uidvalidity, max([high, *uids]))
        else:
            self._folders.pop(folder, None)
        return taken

    def _sizes(self, mailbox: BaseMailBox, uids: list[int]) -> dict[int, int]:
        """``{uid: RFC822.SIZE}`` for ``uids``, asked in one command per 500 UIDs (no bodies)."""
        sizes: dict[int, int] = {}
        for i in range(0, len(uids), 500):
            chunk = ",".join(str(u) for u in uids[i : i + 500])
            typ, data = mailbox.client.uid("FETCH", chunk, _SIZE_ITEMS)
            if typ != "OK":
                raise ImapError(f"UID FETCH {chunk} RFC822.SIZE: {typ} {data!r}")
            for item in data or []:
                line = item[0] if isinstance(item, tuple) else item
                if not isinstance(line, bytes):
                    continue
                uid = _uid_of(line)
                if uid is not None:
                    sizes[uid] = _rfc822_size(line, -1)
        return sizes

    def _take(
        self,
        mailbox: BaseMailBox,
        folder: str,
        uidvalidity: int,
        uid: int,
        *,
        declared: int | None = None,
    ) -> int:
        """Fetch, archive through the ledger, then the post-action. 1 when archived, else 0.

        ``declared`` is the server's RFC822.SIZE (bytes), asked before the body: above
        ``max_message_bytes`` only the header block is fetched and archived (the body stays on
        the server) and the input records the declared size, so the sender is told where large
        files go without the daemon ever holding the body in memory.
        """
        name = self.account.name
        limit = self.account.max_message_bytes
        headers_only = declared is not None and declared > limit
        fetched = self._fetch(mailbox, uid, _HEADER_ITEMS if headers_only else _FETCH_ITEMS)
        if fetched is None:
            log.info("[%s] %s UID %s vanished before it was fetched", name, folder, uid)
            return 0
        raw, received_at, size = fetched
        if headers_only:
            size = max(size, declared or 0)
        crashpoint("after_fetch")
        sha = hashlib.sha256(raw).hexdigest()
        message_id = _message_id(raw)
        if self.ledger.is_known_message(sha, message_id):
            # A renumbered folder (new UIDVALIDITY) or a copy of mail already taken: never twice.
            log.info(
                "[%s] %s UID %s is already archived (sha256 %s, %s)",
                name,
                folder,
                uid,
                sha[:12],
                message_id,
            )
            self._copies.add((folder, uidvalidity, uid))
            self.ledger.remember_copy(name, folder, uidvalidity, uid, sha)
            self._apply(mailbox, folder, uid)
            return 0
        input_id = self.ledger.accept_mail(
            raw,
            account=name,
            folder=folder,
            uidvalidity=uidvalidity,
            uid=uid,
            received_at=received_at,
            declared_size=size if headers_only else None,
        )
        crashpoint("after_archive")
        if headers_only:
            log.warning(
                "[%s] input %s (%s): %d bytes is above the %d-byte limit; headers archived, "
                "the body left on the server",
                name,
                input_id,
                message_id,
                size,
                limit,
            )
        log.info(
            "[%s] took %s UID %s as input %s (%s, %d bytes)",
            name,
            folder,
            uid,
            input_id,
            message_id,
            size,
        )
        self._apply(mailbox, folder, uid)
        crashpoint("after_post_action")
        if self.on_new is not None:
            try:
                self.on_new(input_id)
            except Exception:  # noqa: BLE001 - the callback must not undo an accepted message
                log.exception("[%s] on_new(%s) failed", name, input_id)
        return 1

    def _fetch(
        self, mailbox: BaseMailBox, uid: int, items: str = _FETCH_ITEMS
    ) -> tuple[bytes, datetime | None, int] | None:
        typ, data = mailbox.client.uid("FETCH", str(uid), items)
        self.fetched += 1
        if typ != "OK":
            raise ImapError(f"UID FETCH {uid}: {typ} {data!r}")
        for item in data or []:
            # Unsolicited FETCH responses (flag changes) come as bare bytes; ours is a tuple.
            if isinstance(item, tuple) and f"UID {uid} ".encode() in item[0] + b" ":
                header, raw = item
                return raw, _internaldate(header), _rfc822_size(header, len(raw))
        return None

    def _apply(self, mailbox: BaseMailBox, folder: str, uid: int) -> None:
        try:
            self.action.apply(mailbox, uid)
        except PostActionError as e:
            log.error(
                "[%s] %s UID %s: %s (retried on the next full scan)",
                self.account.name,
                folder,
                uid,
                e,
            )

    def _redo_post_actions(self, mailbox: BaseMailBox, folder: str, known: list[int]) -> None:
        """Apply the post-action to archived messages still waiting for it (crash after archive)."""
        try:
            pending = set(self._search(mailbox, self.action.pending_criteria))
        except ImapError as e:
            log.error("[%s] %s: %s", self.account.name, folder, e)
            return
        for uid in known:
            if uid in pending:
                log.info(
                    "[%s] %s UID %s: archived earlier, post-action redone",
                    self.account.name,
                    folder,
                    uid,
                )
                self._apply(mailbox, folder, uid)

    # -- the loop ------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Sync, wait for news (IDLE or polling), repeat until ``stop`` is set; never raises.

        Each wait lasts at most ``min(resync_s, idle_s, 29 min)``; a resync follows every wait.
        Connection failures reconnect after ``backoff_min_s`` doubling up to ``backoff_max_s``.
        """
        a = self.account
        backoff = a.backoff_min_s
        while not stop.is_set():
            try:
                self.sync_once()
                backoff = a.backoff_min_s
                self._wait_for_news(stop)
            except ImapLoginRefused as e:
                log.error("%s; retrying in %.0f s", e, backoff)
                self._drop()
                stop.wait(backoff)
                backoff = min(backoff * 2, a.backoff_max_s)
            except (ImapError, ImapToolsError, *TRANSIENT) as e:
                said = str(e) if str(e).startswith(f"[{a.name}]") else f"[{a.name}] {e}"
                log.warning("%s; reconnecting in %.1f s", said, backoff)
                self._drop()
                stop.wait(backoff)
                backoff = min(backoff * 2, a.backoff_max_s)
            except Exception:  # noqa: BLE001 - the daemon's watcher must outlive any surprise
                log.exception("[%s] unexpected error; reconnecting in %.1f s", a.name, backoff)
                self._drop()
                stop.wait(backoff)
                backoff = min(backoff * 2, a.backoff_max_s)
        self.close()

    def _wait_for_news(self, stop: threading.Event) -> None:
        """Block until the first folder may have news, ``stop`` is set, or the resync is due."""
        a = self.account
        period = min(a.resync_s, a.idle_s, IDLE_MAX_S)
        mailbox = self._mailbox
        if mailbox is None or not has_capability(mailbox, "IDLE"):
            stop.wait(period)
            return
        # IDLE watches the selected folder only: the first one. The others wait for the resync.
        if len(a.folders) > 1 and self._select(mailbox, a.folders[0]) is None:
            stop.wait(period)
            return
        try:
            self._idle(mailbox, stop, period)
        except TRANSIENT as e:
            self._drop()
            raise ImapConnectionLost(f"[{a.name}] connection lost during IDLE: {e}") from e
        except ImapToolsError as e:
            self._drop()
            raise ImapConnectionLost(f"[{a.name}] IDLE failed: {e}") from e

    def _idle(self, mailbox: BaseMailBox, stop: threading.Event, period: float) -> None:
        deadline = time.monotonic() + period
        mailbox.idle.start()
        try:
            while not stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                step = min(1.0, remaining)
                started = time.monotonic()
                lines = mailbox.idle.poll(timeout=step)
                if any(line.startswith(b"* BYE") for line in lines):
                    raise ImapConnectionLost(f"server said {lines[-1]!r}")
                if any(line.endswith((b"EXISTS", b"RECENT")) for line in lines):
                    log.debug("[%s] IDLE woke: %r", self.account.name, lines)
                    return
                if not lines and time.monotonic() - started < step * 0.5:
                    # Readable at once but nothing to read: the peer closed the connection.
                    raise ImapConnectionLost("server closed the connection during IDLE")
        finally:
            if self._mailbox is mailbox:
                # DONE, then the tagged OK; a dead peer makes this time out after timeout_s.
                mailbox.idle.stop()


def _message_id(raw: bytes) -> str | None:
    """The Message-ID header (stripped), or None; only the header block is parsed."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    head = raw if end < 0 else raw[: end + 2]
    value = BytesHeaderParser(policy=compat32).parsebytes(head).get("Message-ID")
    if value is None:
        return None
    return str(value).strip() or None


def _internaldate(header: bytes) -> datetime | None:
    """INTERNALDATE from a FETCH response (``"17-Jul-1996 02:44:25 -0700"``), timezone-aware."""
    start = header.find(b'INTERNALDATE "')
    if start < 0:
        return None
    value = header[start + 14 : header.find(b'"', start + 14)].decode("ascii", "replace").strip()
    try:
        return datetime.strptime(value, "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def _uid_of(line: bytes) -> int | None:
    start = line.find(b"UID ")
    if start < 0:
        return None
    digits = line[start + 4 :].split(b" ", 1)[0].rstrip(b")")
    return int(digits) if digits.isdigit() else None


def _rfc822_size(header: bytes, default: int) -> int:
    start = header.find(b"RFC822.SIZE ")
    if start < 0:
        return default
    digits = header[start + 12 :].split(b" ", 1)[0].rstrip(b")")
    return int(digits) if digits.isdigit() else default
