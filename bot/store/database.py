"""The SQLite store (WAL): the inbox ledger, dossiers and their versions, and the outgoing queue.

Raw bytes live in the content-addressed archive (``bot/store/archive.py``); the database holds what was
taken, from where, and what became of it. Each pipeline step commits its result in one
transaction, so a crash at any point resumes on restart without loss and without a second reply.
The schema is ``bot/store/schema.py`` (numbered migration steps, applied on open).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from bot.store.archive import Archive
from bot.store.facts_codec import dumps_facts
from bot.store.nofollow import FolderListing, open_entry, walk_folder
from bot.store.schema import migrate
from parsers.charsets import decode_os_name
from parsers.facts import DossierFacts
from parsers.junk import is_junk_name
from parsers.message_id import message_id_of
from parsers.safe_names import safe_file_name, unused_path
from rules.finding import Finding

log = logging.getLogger("intake.store")

MAX_ATTEMPTS = 3  # an input failing this many times is quarantined (Mailman's shunt queue)


@dataclass
class InputRow:
    """One taken input (a mail, a file or a dossier folder)."""

    id: int
    source: str
    kind: str
    name: str
    sha256: str
    manifest: list[list] | None
    size: int
    message_id: str | None
    received_at: datetime | None
    state: str
    attempts: int
    error: str | None
    parse_attempts: int = 0


@dataclass
class DossierRow:
    id: int
    tracking: str
    applicant: str | None
    uscc: str | None
    project_name: str | None
    category: str | None
    direction: str | None
    sender: str | None
    created_at: str
    current_version: int
    verdict: str
    state: str
    signer: str | None = None  # the [[packet.senders]] unit whose packet created it; None: taken here


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class CurrentVersion(NamedTuple):
    """A dossier's current version, its facts left in the database (``Store.current_version_ids``)."""

    dossier_id: int
    state: str  # the dossier's: open, rejected…
    version_id: int  # the versions row
    tracking: str
    input_id: int  # the input it was read from


class Store:
    """The database plus the archive; implements ``bot.store.ledger.Ledger`` for the watchers.

    Each thread gets its own SQLite connection (watcher threads and the processing loop write
    concurrently; WAL and ``busy_timeout`` serialise the writers).
    """

    def __init__(self, db_path: Path, archive: Archive, *, busy_timeout_s: float = 30.0):
        self.db_path = db_path
        self.archive = archive
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Transactions rolled back so far (any thread): a rolled-back row id can be used again by
        # the next insert, so what callers keep by row id is stale once this has moved.
        self.rollbacks = 0

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; explicit transactions via ``transaction()``)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.db_path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @classmethod
    def open(cls, db_path: Path, archive_dir: Path, *, busy_timeout_s: float = 30.0) -> Store:
        """Open (creating if needed) the store; folders are owner-only (0700), the file 0600.

        ``busy_timeout_s``: how long a write waits for another process's lock before the
        operation fails with "database is locked" (the daemon then backs off and retries).
        """
        db_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        store = cls(db_path, Archive(archive_dir), busy_timeout_s=busy_timeout_s)
        _ = store.conn  # creates the file
        try:
            os.chmod(db_path, 0o600)
        except OSError:
            pass
        store._migrate()
        return store

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    def _migrate(self) -> None:
        migrate(self.conn)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on any exception, a failed COMMIT included)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            # A COMMIT that fails (disk full, I/O error) leaves the transaction open: it is rolled
            # back below like any other failure, or every later BEGIN would fail too.
            self.conn.execute("COMMIT")
        except BaseException:
            self.rollbacks += 1
            if self.conn.in_transaction:
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("ROLLBACK failed")
            raise

    # -- meta values (health marks) -------------------------------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        """Set ``meta[key]`` (autocommit; e.g. ``health.last_sync_at``)."""
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    def get_meta(self, key: str) -> str | None:
        """``meta[key]``, or None when unset."""
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @contextmanager
    def savepoint(self, name: str) -> Iterator[sqlite3.Connection]:
        """A nested step (``SAVEPOINT``): undone alone when it raises, the enclosing work kept."""
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        self.conn.execute(f"RELEASE {name}")

    # -- Ledger (bot/store/ledger.py) -------------------------------------------------------------

    def is_known_uid(self, account: str, folder: str, uidvalidity: int, uid: int) -> bool:
        key = (account, folder, uidvalidity, uid)
        row = self.conn.execute(
            "SELECT 1 FROM inputs WHERE account=? AND folder=? AND uidvalidity=? AND uid=?"
            " UNION ALL SELECT 1 FROM uid_copies WHERE account=? AND folder=? AND uidvalidity=? AND uid=?",
            key + key,
        ).fetchone()
        return row is not None

    def remember_copy(self, account: str, folder: str, uidvalidity: int, uid: int, sha256: str) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO uid_copies(account, folder, uidvalidity, uid, sha256) VALUES(?,?,?,?,?)",
            (account, folder, uidvalidity, uid, sha256),
        )

    def is_known_message(self, sha256: str, message_id: str | None) -> bool:
        """True when these exact bytes were archived already. ``message_id`` is not consulted:
        a sender chooses it, and a different mail reusing one (a client's "resend", a forger)
        must still be archived, judged and answered (issue 14)."""
        del message_id
        row = self.conn.execute(
            "SELECT 1 FROM inputs WHERE kind='mail' AND sha256=?", (sha256,)
        ).fetchone()
        return row is not None

    def accept_mail(
        self,
        raw: bytes,
        *,
        account: str,
        folder: str,
        uidvalidity: int,
        uid: int,
        received_at: datetime | None,
        declared_size: int | None = None,
    ) -> str:
        """Archive a raw message (fsync) and record it; idempotent per (account, folder, UIDVALIDITY, UID).

        ``declared_size`` (bytes): ``raw`` is the header block only (the body was left on the
        server because the message is above the size limit); the input records the declared size.
        """
        row = self.conn.execute(
            "SELECT id FROM inputs WHERE account=? AND folder=? AND uidvalidity=? AND uid=?",
            (account, folder, uidvalidity, uid),
        ).fetchone()
        if row:
            return str(row["id"])
        sha, size = self.archive.put_bytes(raw)
        if declared_size is not None:
            size = max(size, declared_size)
        message_id = message_id_of(raw)
        with self.transaction():
            existing = self.conn.execute(
                "SELECT id FROM inputs WHERE kind='mail' AND sha256=?", (sha,)
            ).fetchone()
            state = "duplicate" if existing else "received"
            cur = self.conn.execute(
                "INSERT INTO inputs(source, kind, name, sha256, size, account, folder, uidvalidity, uid,"
                " message_id, received_at, taken_at, state) VALUES('imap','mail',?,?,?,?,?,?,?,?,?,?,?)",
                (
                    f"{account}/{folder}/{uid}",
                    sha,
                    size,
                    account,
                    folder,
                    uidvalidity,
                    uid,
                    message_id,
                    received_at.isoformat() if received_at else None,
                    _now(),
                    state,
                ),
            )
        return str(cur.lastrowid)

    def accept_path(self, path: Path, *, taken_at: datetime) -> str:
        """Archive a file or a dossier folder from a drop folder and record it.

        The same content (file bytes, or folder manifest of names and hashes) taken twice returns
        the first input's id: dropping a dossier again creates nothing new. Every component is
        opened with ``O_NOFOLLOW`` relative to its parent's descriptor and archived from that
        descriptor (``bot/store/nofollow.py``): a symlink, a hard-linked file or a special file
        is never read. Raises ``UnsafeEntry`` when ``path`` itself is one of those.
        """
        name = decode_os_name(path.name)  # GBK bytes from a Windows zip or share: as text
        with open_entry(path) as (fd, st):
            if stat.S_ISDIR(st.st_mode):
                manifest = []
                listing = FolderListing()
                for rel, file_fd, _ in walk_folder(fd, listing, skip=is_junk_name):
                    sha, size = self.archive.put_fd(file_fd, rel)
                    manifest.append([rel, sha, size])
                for rel, why in listing.refused:
                    log.warning("%s/%s not taken: %s", name, rel, why)
                blob = json.dumps(manifest, ensure_ascii=False, sort_keys=True).encode()
                sha = hashlib.sha256(blob).hexdigest()
                size = sum(m[2] for m in manifest)
                kind = "folder"
                manifest_json: str | None = json.dumps(manifest, ensure_ascii=False)
            else:
                sha, size = self.archive.put_fd(fd, name)
                kind = "mail" if path.suffix.lower() == ".eml" else "file"
                manifest_json = None
        row = self.conn.execute(
            "SELECT id FROM inputs WHERE source='folder' AND sha256=? AND name=?", (sha, name)
        ).fetchone()
        if row:
            return str(row["id"])
        message_id = message_id_of(self.archive.path_for(sha).read_bytes()[:65536]) if kind == "mail" else None
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO inputs(source, kind, name, sha256, manifest, size, message_id, received_at,"
                " taken_at) VALUES('folder',?,?,?,?,?,?,?,?)",
                (kind, name, sha, manifest_json, size, message_id, taken_at.isoformat(), _now()),
            )
        return str(cur.lastrowid)

    # -- the processing queue ----------------------------------------------------------------

    def pending_inputs(self) -> list[InputRow]:
        """Inputs taken but not yet processed, oldest first."""
        rows = self.conn.execute("SELECT * FROM inputs WHERE state='received' ORDER BY id").fetchall()
        return [self._input(r) for r in rows]

    def get_input(self, input_id: int) -> InputRow:
        return self._input(self.conn.execute("SELECT * FROM inputs WHERE id=?", (input_id,)).fetchone())

    def inputs(self) -> list[InputRow]:
        return [self._input(r) for r in self.conn.execute("SELECT * FROM inputs ORDER BY id")]

    def _input(self, r: sqlite3.Row) -> InputRow:
        return InputRow(
            id=r["id"],
            source=r["source"],
            kind=r["kind"],
            name=r["name"],
            sha256=r["sha256"],
            manifest=json.loads(r["manifest"]) if r["manifest"] else None,
            size=r["size"],
            message_id=r["message_id"],
            received_at=datetime.fromisoformat(r["received_at"]) if r["received_at"] else None,
            state=r["state"],
            attempts=r["attempts"],
            error=r["error"],
            parse_attempts=r["parse_attempts"],
        )

    def materialise(self, row: InputRow, work_root: Path) -> Path:
        """Make an input's bytes readable in a fresh work folder (hard links to the archived,
        read-only blobs; copies across file systems); return its path.

        Processing reads only these, never the drop folder or the server.
        """
        work = work_root / f"input-{row.id}"
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True, mode=0o700)
        if row.kind == "folder":
            base = work / safe_file_name(row.name)
            base.mkdir()
            for rel, sha, _size in row.manifest or []:
                parts = [safe_file_name(p) for p in rel.split("/")]
                folder = base.joinpath(*parts[:-1])
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError:  # a file already holds the folder's (cleaned) name
                    folder = base
                # Names alike once cleaned (note:1.txt, note_1.txt) each keep their own file.
                self.archive.link_out(sha, unused_path(folder, parts[-1]))
            return base
        name = safe_file_name(row.name) if row.kind == "file" else "message.eml"
        if row.kind == "mail" and row.source == "folder":
            name = safe_file_name(row.name)
        dest = work / name
        self.archive.link_out(row.sha256, dest)
        return dest

    def mark_processed(self, input_id: int) -> None:
        self.conn.execute("UPDATE inputs SET state='processed', error=NULL WHERE id=?", (input_id,))

    def close_input(self, input_id: int, state: str, note: str | None) -> None:
        """End an input without a dossier: ``state`` is ``ignored``, ``refused`` or ``oversize``,
        ``note`` says why (shown by ``intake status`` and the digest)."""
        self.conn.execute("UPDATE inputs SET state=?, error=? WHERE id=?", (state, note, input_id))

    def record_failure(self, input_id: int, error: str) -> str:
        """Count a failed attempt; after MAX_ATTEMPTS the input is quarantined. Returns the new state."""
        with self.transaction():
            self.conn.execute(
                "UPDATE inputs SET attempts=attempts+1, error=? WHERE id=?", (error, input_id)
            )
            row = self.conn.execute("SELECT attempts FROM inputs WHERE id=?", (input_id,)).fetchone()
            state = "quarantined" if row["attempts"] >= MAX_ATTEMPTS else "received"
            self.conn.execute("UPDATE inputs SET state=? WHERE id=?", (state, input_id))
        return state

    def start_parse(self, input_id: int, max_attempts: int) -> bool:
        """Count a parse of the input about to start, committed before it starts: a crash or a
        kill -9 during a hostile parse still counts. Returns False, and quarantines the input
        instead, when ``max_attempts`` parses of it have started without finishing.

        An unfinished attempt counts only if it had turned slow (``mark_parse_slow``): a normal
        parse cut short by a crash elsewhere (parses run several at a time) is not held against
        its input; a hostile one is always slow long before anyone kills the daemon.
        """
        with self.transaction():
            row = self.conn.execute(
                "SELECT parse_attempts, parse_slow FROM inputs WHERE id=?", (input_id,)
            ).fetchone()
            counted = row["parse_attempts"] - (1 if row["parse_attempts"] and not row["parse_slow"] else 0)
            if counted >= max_attempts:
                self.conn.execute(
                    "UPDATE inputs SET state='quarantined', parse_attempts=?, error=? WHERE id=?",
                    (counted, f"parsing was interrupted {counted} times (killed, crashed or stopped"
                     " during a long parse); `intake reprocess` tries again", input_id),
                )
                return False
            self.conn.execute(
                "UPDATE inputs SET parse_attempts=?, parse_slow=0 WHERE id=?", (counted + 1, input_id)
            )
        return True

    def mark_parse_slow(self, input_id: int) -> None:
        """The running parse passed ``[budgets] hold_s``: if it never finishes, it counts."""
        with self.transaction():
            self.conn.execute("UPDATE inputs SET parse_slow=1 WHERE id=?", (input_id,))

    def finish_parse(self, input_id: int) -> None:
        """The parse ended (read, or over budget and answered): unfinished attempts back to 0."""
        with self.transaction():
            self.conn.execute("UPDATE inputs SET parse_attempts=0, parse_slow=0 WHERE id=?", (input_id,))

    def storage_used(self, sender: str, day: str) -> int:
        """Material bytes archived for ``sender`` on ``day`` (YYYY-MM-DD)."""
        row = self.conn.execute("SELECT bytes FROM storage_use WHERE sender=? AND day=?", (sender, day)).fetchone()
        return int(row["bytes"]) if row else 0

    def add_storage(self, sender: str, day: str, n: int) -> None:
        """Count ``n`` more material bytes archived for ``sender`` on ``day``."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO storage_use(sender, day, bytes) VALUES(?, ?, ?)"
                " ON CONFLICT(sender, day) DO UPDATE SET bytes=bytes+excluded.bytes",
                (sender, day, n),
            )

    def quarantine(self, input_id: int, error: str) -> None:
        """Set an input aside at once (a problem retrying cannot fix); ``intake reprocess`` retries it."""
        self.conn.execute(
            "UPDATE inputs SET state='quarantined', attempts=attempts+1, error=? WHERE id=?",
            (error, input_id),
        )

    # What `intake reprocess` may put back: set aside (quarantined), or ended without a dossier
    # (over the size limit, refused, ignored). A processed input already has its dossier and
    # reply; a duplicate is another input's bytes; a received one is in the queue already.
    REQUEUE_STATES = ("quarantined", "oversize", "refused", "ignored")

    def input_state(self, input_id: int) -> str | None:
        """The state of input ``input_id`` (``received``, ``processed``, ``quarantined``…), or None."""
        row = self.conn.execute("SELECT state FROM inputs WHERE id=?", (input_id,)).fetchone()
        return None if row is None else str(row[0])

    def requeue(self, input_id: int) -> bool:
        """Put an input in one of ``REQUEUE_STATES`` back in the queue (``intake reprocess``);
        False when there is no such input or it is in another state."""
        cur = self.conn.execute(
            "UPDATE inputs SET state='received', attempts=0, parse_attempts=0, parse_slow=0, error=NULL"
            f" WHERE id=? AND state IN ({','.join('?' * len(self.REQUEUE_STATES))})",
            (input_id, *self.REQUEUE_STATES),
        )
        return cur.rowcount == 1

    # -- dossiers ---------------------------------------------------------------------------

    def next_seq(self, name: str) -> int:
        """The next number of a counter (call inside a transaction)."""
        self.conn.execute(
            "INSERT INTO counters(name, value) VALUES(?, 1) ON CONFLICT(name) DO UPDATE SET value=value+1",
            (name,),
        )
        return self.conn.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()[0]

    def dossiers(self) -> list[DossierRow]:
        return [DossierRow(**dict(r)) for r in self.conn.execute("SELECT * FROM dossiers ORDER BY id")]

    def project_names(self) -> list[tuple[str, str]]:
        """``(tracking, project name)`` of every dossier naming a project, by id (two short columns:
        the threading rules read them for each mail, and whole rows cost O(N) objects)."""
        return [(str(t), str(p)) for t, p in self.conn.execute(
            "SELECT tracking, project_name FROM dossiers WHERE project_name IS NOT NULL AND project_name != ''"
            " ORDER BY id")]

    def file_under(self, input_id: int, tracking: str, *, officer: str, at: datetime) -> None:
        """Record that input ``input_id`` continues dossier ``tracking`` (an officer said so)."""
        self.conn.execute(
            "INSERT OR REPLACE INTO input_threads(input_id, tracking, officer, at) VALUES(?,?,?,?)",
            (int(input_id), tracking, officer, at.isoformat()),
        )

    def filed_under(self, input_id: int) -> str | None:
        """The dossier an officer filed input ``input_id`` under, or None."""
        row = self.conn.execute(
            "SELECT tracking FROM input_threads WHERE input_id=?", (int(input_id),)
        ).fetchone()
        return None if row is None else str(row[0])

    def fetched_links(self) -> dict[str, tuple[str, str]]:
        """``{tracking: (officer, at)}``: the dossiers an officer filed a downloaded video under."""
        return {r[0]: (r[1], r[2]) for r in self.conn.execute(
            "SELECT tracking, officer, MAX(at) FROM input_threads GROUP BY tracking")}

    def dossier_by_tracking(self, tracking: str) -> DossierRow | None:
        r = self.conn.execute("SELECT * FROM dossiers WHERE tracking=?", (tracking,)).fetchone()
        return DossierRow(**dict(r)) if r else None

    def version_for_input(self, input_id: int, part: int) -> sqlite3.Row | None:
        return self.conn.execute(
            "SELECT * FROM versions WHERE input_id=? AND part=?", (input_id, part)
        ).fetchone()

    def rejudge(self, dossier_id: int, version_id: int, findings: list[Finding], verdict: str) -> None:
        """Replace a stored version's findings and verdict (and the dossier's) after a new judgement."""
        self.conn.execute(
            "UPDATE versions SET findings=?, verdict=? WHERE id=?",
            (json.dumps([f.to_json() for f in findings], ensure_ascii=False), verdict, version_id),
        )
        self.conn.execute("UPDATE dossiers SET verdict=? WHERE id=?", (verdict, dossier_id))

    def current_versions(self) -> list[tuple[DossierRow, sqlite3.Row]]:
        """Each open dossier with its current version row (facts, findings, verdict)."""
        rows = self.conn.execute(
            "SELECT v.*, d.tracking FROM dossiers d JOIN versions v"
            " ON v.dossier_id=d.id AND v.version=d.current_version ORDER BY d.id"
        ).fetchall()
        by_id = {d.id: d for d in self.dossiers()}
        return [(by_id[r["dossier_id"]], r) for r in rows]

    def current_version_ids(self) -> list[CurrentVersion]:
        """Each dossier's current version, without its facts text, by dossier id.

        The facts text stays in the database: callers that keep decoded facts by version row id
        (a version's facts never change) read only the versions they have not seen
        (``version_facts``).
        """
        return [CurrentVersion(int(r[0]), str(r[1]), int(r[2]), str(r[3]), int(r[4])) for r in self.conn.execute(
            "SELECT d.id, d.state, v.id, d.tracking, v.input_id FROM dossiers d JOIN versions v"
            " ON v.dossier_id=d.id AND v.version=d.current_version ORDER BY d.id")]

    def version_facts(self, version_id: int) -> str:
        """The facts JSON of version row ``version_id``. Raises KeyError when there is none."""
        row = self.conn.execute("SELECT facts FROM versions WHERE id=?", (int(version_id),)).fetchone()
        if row is None:
            raise KeyError(version_id)
        return str(row[0])

    def save_version(
        self,
        input_id: int,
        part: int,
        tracking: str,
        facts: DossierFacts,
        findings: list[Finding],
        verdict: str,
        now: datetime,
        *,
        signer: str | None = None,
    ) -> int:
        """Record a judged version of dossier ``tracking`` (created when new); returns its number.

        ``signer``: the unit whose signed packet brings it, recorded when the dossier is created
        (``bot/upstream/packet_intake.py`` lets only that signer update it). Call inside
        ``transaction()``: the version, its findings and the reply are one commit.
        """
        conn = self.conn
        earlier = self.dossier_by_tracking(tracking)
        if earlier is None:
            cur = conn.execute(
                "INSERT INTO dossiers(tracking, applicant, uscc, project_name, category, direction,"
                " sender, created_at, current_version, verdict, signer) VALUES(?,?,?,?,?,?,?,?,1,?,?)",
                (tracking, facts.applicant, facts.uscc, facts.project_name, facts.category,
                 facts.direction, facts.sender or facts.contact.email, now.isoformat(), verdict,
                 signer),
            )
            dossier_id, version = cur.lastrowid, 1
        else:
            dossier_id, version = earlier.id, earlier.current_version + 1
            conn.execute(
                "UPDATE dossiers SET current_version=?, verdict=?, applicant=?, uscc=?, project_name=?,"
                " category=?, direction=? WHERE id=?",
                (version, verdict, facts.applicant, facts.uscc, facts.project_name, facts.category,
                 facts.direction, dossier_id),
            )
        conn.execute(
            "INSERT INTO versions(dossier_id, version, input_id, part, facts, findings, verdict,"
            " created_at) VALUES(?,?,?,?,?,?,?,?)",
            (dossier_id, version, input_id, part, dumps_facts(facts),
             json.dumps([f.to_json() for f in findings], ensure_ascii=False), verdict, now.isoformat()),
        )
        return version

    def versions_of(self, dossier_id: int) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT * FROM versions WHERE dossier_id=? ORDER BY version", (dossier_id,)
        ).fetchall()
