"""The one database schema: numbered migration steps, applied in order, each in one transaction.

``PRAGMA user_version`` holds the number of the last step applied (0 for a new file). A schema
change is a new step at the end of ``MIGRATIONS`` (never an edit of a step already released):
``CREATE … IF NOT EXISTS`` for new tables, ``ALTER TABLE`` for new columns. Steps 1–9 use
``IF NOT EXISTS`` so stores made before the numbering (their tables created on first use by
each module) are adopted as they are. The outgoing queue's tables are defined beside its
queries (``outbox/delivery/queue.py``) and created by step 1; the held replies' table likewise
(``outbox/delivery/held.py``, step 11).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from outbox.delivery import held as held_replies
from outbox.delivery import queue as outgoing_queue


@dataclass(frozen=True)
class Migration:
    """One schema step: its number (1, 2, …), what it adds, and its SQL statements."""

    number: int
    title: str
    sql: str
    # Columns added when absent, (table, column, type): ALTER TABLE … ADD COLUMN, skipped for a
    # store whose table already has the column (made by code from before the numbering).
    columns: tuple[tuple[str, str, str], ...] = ()

    def statements(self) -> list[str]:
        """The script cut into complete statements (a trigger body's ``;`` does not cut)."""
        out, buf = [], ""
        for line in self.sql.splitlines(keepends=True):
            buf += line
            if sqlite3.complete_statement(buf):
                if buf.strip():
                    out.append(buf.strip())
                buf = ""
        if buf.strip():
            out.append(buf.strip())
        return out


CORE = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inputs(
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,            -- imap | folder
  kind TEXT NOT NULL,              -- mail | file | folder
  name TEXT NOT NULL,              -- file or folder name, or the mailbox label
  sha256 TEXT NOT NULL,            -- of the raw mail or file; for a folder, of its manifest
  manifest TEXT,                   -- folder: JSON [[relative path, sha256, size], ...]
  size INTEGER NOT NULL,           -- bytes
  account TEXT, folder TEXT, uidvalidity INTEGER, uid INTEGER, message_id TEXT,
  received_at TEXT,                -- IMAP INTERNALDATE or the moment a file was taken
  taken_at TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'received',   -- received | processed | quarantined
  attempts INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  UNIQUE(account, folder, uidvalidity, uid)
);
CREATE INDEX IF NOT EXISTS inputs_sha ON inputs(sha256);
CREATE INDEX IF NOT EXISTS inputs_state ON inputs(state);
CREATE TABLE IF NOT EXISTS dossiers(
  id INTEGER PRIMARY KEY,
  tracking TEXT UNIQUE NOT NULL,
  applicant TEXT, uscc TEXT, project_name TEXT, category TEXT, direction TEXT,
  sender TEXT,
  created_at TEXT NOT NULL,
  current_version INTEGER NOT NULL,
  verdict TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'open'        -- open | rejected
);
CREATE TABLE IF NOT EXISTS versions(
  id INTEGER PRIMARY KEY,
  dossier_id INTEGER NOT NULL REFERENCES dossiers(id),
  version INTEGER NOT NULL,
  input_id INTEGER NOT NULL REFERENCES inputs(id),
  part INTEGER NOT NULL,                    -- which dossier of that input (a packet holds several)
  facts TEXT NOT NULL,                      -- DossierFacts as JSON (bot/store/facts_codec.py)
  findings TEXT NOT NULL,                   -- [Finding.to_json()]
  verdict TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE(dossier_id, version),
  UNIQUE(input_id, part)
);
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

DECISIONS = """CREATE TABLE IF NOT EXISTS decisions(
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,                 -- ISO 8601 with offset
  at_ts REAL NOT NULL,              -- the same moment in POSIX seconds (for range queries)
  officer TEXT NOT NULL,            -- configured officer name, else the mail address or $USER
  action TEXT NOT NULL CHECK (action IN ('waive', 'reject', 'restore', 'note')),
  tracking TEXT NOT NULL,
  code TEXT,                        -- waive: the finding code; else NULL
  reason TEXT NOT NULL DEFAULT '',  -- why (waive, reject, restore) or the note's text
  via TEXT NOT NULL DEFAULT 'cli'   -- cli | mail
);
CREATE INDEX IF NOT EXISTS decisions_tracking ON decisions(tracking);
CREATE INDEX IF NOT EXISTS decisions_at ON decisions(at_ts);
CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only: rows are never updated'); END;
CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only: rows are never deleted'); END;
"""

DIGESTS = """
CREATE TABLE IF NOT EXISTS digests(
  id INTEGER PRIMARY KEY,
  recipient TEXT NOT NULL,         -- officer email, or "" for a rendering to a file
  at TEXT NOT NULL,
  snapshot TEXT NOT NULL           -- JSON {tracking: verdict}
);
"""

PACKETS = """
CREATE TABLE IF NOT EXISTS packets(
  id TEXT PRIMARY KEY,
  dir TEXT NOT NULL,
  built_at TEXT NOT NULL,
  dossiers INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS packet_sends(
  packet_id TEXT NOT NULL,
  part INTEGER NOT NULL,
  total INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  sent_at TEXT NOT NULL,
  response TEXT,
  PRIMARY KEY(packet_id, part, total)
);
CREATE TABLE IF NOT EXISTS ranking(
  tracking TEXT PRIMARY KEY,
  position INTEGER NOT NULL,       -- 1 = first recommended
  set_at TEXT NOT NULL,
  source TEXT NOT NULL             -- cli | table:<file name>
);
"""

PACKETS_IN = """
CREATE TABLE IF NOT EXISTS packet_parts_in(
  packet_id TEXT NOT NULL,
  part INTEGER NOT NULL,
  total INTEGER NOT NULL,
  input_id INTEGER NOT NULL,
  sender TEXT,
  PRIMARY KEY(packet_id, part, total)
);
CREATE TABLE IF NOT EXISTS packets_in(
  packet_id TEXT PRIMARY KEY,
  sender TEXT,
  unit TEXT,
  registered_at TEXT NOT NULL,
  input_id INTEGER NOT NULL,
  result TEXT NOT NULL              -- JSON [{tracking, result}]
);
"""

UID_COPIES_AND_INPUT_THREADS = """
-- UIDs under a new UIDVALIDITY that hold mail already archived (a renumbered folder): never
-- fetched again, also after a restart (issue 16).
CREATE TABLE IF NOT EXISTS uid_copies(
  account TEXT NOT NULL, folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (account, folder, uidvalidity, uid)
);
-- An input an officer filed under a dossier (``intake fetched T FILE``: a video downloaded from
-- the applicant's cloud-drive link); the pipeline makes it that dossier's next version.
CREATE TABLE IF NOT EXISTS input_threads(
  input_id INTEGER PRIMARY KEY REFERENCES inputs(id),
  tracking TEXT NOT NULL,
  officer TEXT NOT NULL,
  at TEXT NOT NULL
);
"""

TRUST = """
CREATE TABLE IF NOT EXISTS officer_requests(
  token TEXT PRIMARY KEY,           -- 40 hex digits, mailed only to officer_email
  officer_email TEXT NOT NULL,      -- the configured address the confirmation went to
  officer_name TEXT NOT NULL,
  commands TEXT NOT NULL,           -- JSON [command line, ...] as understood
  created_at TEXT NOT NULL,         -- ISO 8601
  expires_ts REAL NOT NULL,         -- POSIX seconds
  request_input INTEGER NOT NULL,   -- inputs.id of the command mail
  request_message_id TEXT,
  request_envelope_sender TEXT,     -- Return-Path of the command mail
  state TEXT NOT NULL DEFAULT 'pending',    -- pending | used
  used_at TEXT,
  used_input INTEGER,
  used_message_id TEXT,
  used_envelope_sender TEXT
);
CREATE INDEX IF NOT EXISTS officer_requests_input ON officer_requests(request_input);
"""

BOUNCES = """CREATE TABLE IF NOT EXISTS bounces(
  id INTEGER PRIMARY KEY,
  tracking TEXT NOT NULL,           -- the dossier our returned mail was about
  message_id TEXT NOT NULL,         -- our returned mail's Message-ID ('' when not quoted)
  rcpt TEXT NOT NULL,               -- the address it did not reach ('' when not said)
  reply_kind TEXT NOT NULL,         -- what bounced: receipt | defect_notice | decision_* | …
  form TEXT NOT NULL,               -- dsn (RFC 3464) | text (a provider's 退信 in words)
  status TEXT,                      -- RFC 3463 code (5.7.1) when given
  cause TEXT NOT NULL,              -- content_rejected | no_such_user | mailbox_full | other
  reason TEXT NOT NULL,             -- the remote server's words (550 Mail content denied)
  input_id INTEGER NOT NULL,        -- the bounce mail in the inbox ledger
  at TEXT NOT NULL,                 -- when the bounce was read
  UNIQUE(message_id, rcpt)
);
CREATE INDEX IF NOT EXISTS bounces_tracking ON bounces(tracking);
"""

PARSE_BUDGETS_AND_CORRESPONDENTS = """
CREATE TABLE IF NOT EXISTS storage_use(    -- material bytes archived per sender per day (issue 15)
  sender TEXT NOT NULL, day TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY(sender, day)
);
CREATE TABLE IF NOT EXISTS correspondents(
  tracking TEXT NOT NULL,
  address TEXT NOT NULL,           -- lower case
  added_by TEXT NOT NULL,          -- the officer
  added_at TEXT NOT NULL,
  PRIMARY KEY(tracking, address)
);
CREATE TABLE IF NOT EXISTS trust_events(
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,                -- ISO 8601, aware
  kind TEXT NOT NULL,              -- foreign_tag | reply_rate
  tracking TEXT,
  sender TEXT,
  input_id INTEGER,
  detail TEXT NOT NULL DEFAULT ''
);
"""

# The hourly reply rate ([outbox] replies_per_hour) is counted before every reply. Without an
# index the count read each queued row up to created_at, past its raw mail (overflow pages): O(N)
# stored mail bytes per reply (3 ms at 300 replies of 20 KB). Covering: no row is read. A reply's
# In-Reply-To (threading) and a dossier's replies are found by index too.
OUTGOING_RATE_INDEX = """
CREATE INDEX IF NOT EXISTS outgoing_created ON outgoing (created_at, kind, status, failure);
CREATE INDEX IF NOT EXISTS outgoing_message_id ON outgoing (message_id);
CREATE INDEX IF NOT EXISTS outgoing_tracking ON outgoing (tracking);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "inputs, dossiers, versions, counters; the outgoing queue", CORE + outgoing_queue.SCHEMA),
    Migration(2, "decisions: the officers' append-only audit table", DECISIONS),
    Migration(3, "digests: what each officer's last digest showed", DIGESTS),
    Migration(4, "packets built and sent upstream, the officers' ranking", PACKETS),
    Migration(5, "packets received from the level below", PACKETS_IN),
    Migration(6, "IMAP UIDs known as copies; inputs an officer filed under a dossier",
              UID_COPIES_AND_INPUT_THREADS),
    Migration(7, "trust: officers' pending requests; dossiers.signer; what authorised a decision",
              TRUST, columns=(("dossiers", "signer", "TEXT"), ("decisions", "envelope_sender", "TEXT"),
                              ("decisions", "message_id", "TEXT"), ("decisions", "token", "TEXT"))),
    Migration(8, "bounces matched to the mail they return", BOUNCES),
    Migration(9, "parses counted per input (a kill counts), storage per sender and day, "
              "dossiers' correspondents and trust events",
              PARSE_BUDGETS_AND_CORRESPONDENTS,
              # parse_attempts: parses started and not finished; parse_slow: the last started
              # parse ran past [budgets] hold_s
              columns=(("inputs", "parse_attempts", "INTEGER NOT NULL DEFAULT 0"),
                       ("inputs", "parse_slow", "INTEGER NOT NULL DEFAULT 0"))),
    Migration(10, "outgoing: indexes for the reply rate (never reading the stored mails), "
              "Message-IDs and trackings",
              OUTGOING_RATE_INDEX),
    Migration(11, "replies held back by a sending limit, until an officer releases or discards them",
              held_replies.SCHEMA),
    Migration(12, "packets: the split each part was sent in; when a registered packet was built",
              "",
              # split: the digest of the signed split (outbox/documents/packet_split.py) a part was
              # sent in; created_at: the signed manifest's build time of a packet from below
              columns=(("packet_sends", "split", "TEXT"), ("packets_in", "created_at", "TEXT"))),
    Migration(13, "packet parts received: the sha256 of each part's signed zip, kept in the archive",
              "",
              columns=(("packet_parts_in", "zip_sha256", "TEXT"),)),
)
SCHEMA_VERSION = MIGRATIONS[-1].number


def schema_version(conn: sqlite3.Connection) -> int:
    """The number of the last step applied to this database (``PRAGMA user_version``)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the steps this database lacks, in order; returns the version reached.

    Runs under ``BEGIN IMMEDIATE`` so two processes opening one store apply each step once; a
    failing step is rolled back whole (raises ``sqlite3.Error``). Call outside a transaction.
    """
    if schema_version(conn) >= SCHEMA_VERSION:
        return schema_version(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(conn)
        for step in MIGRATIONS:
            if step.number <= current:
                continue
            for statement in step.statements():
                conn.execute(statement)
            for table, column, kind in step.columns:
                have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            conn.execute(f"PRAGMA user_version = {int(step.number)}")
        conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return schema_version(conn)
