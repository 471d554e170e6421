"""The archive and the store: fsync'd content-addressed bytes, idempotent ledger, quarantine."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import UTC, datetime

from bot.store.archive import Archive
from bot.store.database import MAX_ATTEMPTS, Store


def test_archive_is_content_addressed_and_read_only(tmp_path):
    a = Archive(tmp_path / "a")
    sha, size = a.put_bytes(b"hello")
    assert sha == hashlib.sha256(b"hello").hexdigest() and size == 5
    p = a.path_for(sha)
    assert p.read_bytes() == b"hello"
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o400
    assert a.put_bytes(b"hello") == (sha, 5)
    f = tmp_path / "f.bin"
    f.write_bytes(b"x" * 3_000_000)
    sha2, size2 = a.put_file(f)
    assert size2 == 3_000_000 and a.verify(sha2)
    assert not list((tmp_path / "a" / "incoming").iterdir())  # no temp files left


def test_store_is_owner_only(tmp_path):
    store = Store.open(tmp_path / "db" / "s.sqlite3", tmp_path / "db" / "archive")
    assert stat.S_IMODE(os.stat(tmp_path / "db").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "db" / "s.sqlite3").st_mode) == 0o600
    store.close()


def test_accept_mail_is_idempotent_per_uid(tmp_path):
    store = Store.open(tmp_path / "s.sqlite3", tmp_path / "archive")
    raw = b"Message-ID: <a@x>\r\nSubject: t\r\n\r\nbody"
    now = datetime(2023, 11, 28, tzinfo=UTC)
    first = store.accept_mail(raw, account="a", folder="INBOX", uidvalidity=7, uid=1, received_at=now)
    again = store.accept_mail(raw, account="a", folder="INBOX", uidvalidity=7, uid=1, received_at=now)
    assert first == again
    assert store.is_known_uid("a", "INBOX", 7, 1) and not store.is_known_uid("a", "INBOX", 8, 1)
    assert store.is_known_message(hashlib.sha256(raw).hexdigest(), None)
    assert not store.is_known_message("0" * 64, "<a@x>")  # a Message-ID alone is no proof (issue 14)
    # the same bytes under a new UIDVALIDITY are recorded but never processed twice
    store.accept_mail(raw, account="a", folder="INBOX", uidvalidity=8, uid=1, received_at=now)
    assert [r.state for r in store.inputs()] == ["received", "duplicate"]
    assert [r.message_id for r in store.pending_inputs()] == ["<a@x>"]


def test_accept_path_dedupes_folders_by_content(tmp_path):
    store = Store.open(tmp_path / "s.sqlite3", tmp_path / "archive")
    d = tmp_path / "dossier"
    d.mkdir()
    (d / "申报书.docx").write_bytes(b"form")
    (d / ".DS_Store").write_bytes(b"junk")
    now = datetime.now(UTC)
    first = store.accept_path(d, taken_at=now)
    assert store.accept_path(d, taken_at=now) == first
    row = store.get_input(int(first))
    assert row.kind == "folder" and [m[0] for m in row.manifest] == ["申报书.docx"]
    work = store.materialise(row, tmp_path / "work")
    assert (work / "申报书.docx").read_bytes() == b"form"
    (d / "申报书.docx").write_bytes(b"form v2")
    assert store.accept_path(d, taken_at=now) != first


def test_failures_quarantine_after_three_attempts(tmp_path):
    store = Store.open(tmp_path / "s.sqlite3", tmp_path / "archive")
    f = tmp_path / "x.pdf"
    f.write_bytes(b"%PDF-")
    input_id = int(store.accept_path(f, taken_at=datetime.now(UTC)))
    states = [store.record_failure(input_id, "boom") for _ in range(MAX_ATTEMPTS)]
    assert states == ["received"] * (MAX_ATTEMPTS - 1) + ["quarantined"]
    assert store.pending_inputs() == []
    assert store.requeue(input_id)
    assert [r.id for r in store.pending_inputs()] == [input_id]


def test_unfinished_parses_count_only_when_they_had_turned_slow(tmp_path):
    """GIVEN an input whose parses are started and never finished (the daemon killed each time)
    WHEN the interrupted parses were quick (another input's crash), then slow (a hostile parse)
    THEN the quick ones are not held against it; the slow ones are, up to quarantine."""
    store = Store.open(tmp_path / "s.sqlite3", tmp_path / "archive")
    f = tmp_path / "x.pdf"
    f.write_bytes(b"%PDF-")
    input_id = int(store.accept_path(f, taken_at=datetime.now(UTC)))
    for _ in range(5):  # quick and interrupted: never counted
        assert store.start_parse(input_id, 2)
    assert store.get_input(input_id).parse_attempts == 1
    store.mark_parse_slow(input_id)
    assert store.start_parse(input_id, 2)  # the slow one counted: this is the 2nd
    store.mark_parse_slow(input_id)
    assert not store.start_parse(input_id, 2)
    row = store.get_input(input_id)
    assert row.state == "quarantined" and "interrupted 2 times" in (row.error or "")
    assert store.requeue(input_id)
    assert store.get_input(input_id).parse_attempts == 0
