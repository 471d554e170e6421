"""Hostile mails: broken structure, floods of parts, huge headers, deep nesting, bad charsets and names."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from parsers.mime import MAX_PARTS, parse_message
from tests.robustness import hostile as H
from tests.robustness.harness import Judged, judge


def _judge_mail(raw: bytes, root: Path) -> Judged:
    src = root / "in" / "mail.eml"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(raw)
    return judge(src, root)


def test_ten_thousand_parts_are_read_up_to_the_cap_and_reported(tmp_path: Path) -> None:
    """GIVEN a mail with 10,000 attachments
    THEN the walk stops at MAX_PARTS, says so (FILE_UNREADABLE on the message), and the defect list is short."""
    got = _judge_mail(H.mail_many_parts(10_000), tmp_path)
    assert len(got.dossier.materials) == MAX_PARTS - 1  # the multipart root is a part too
    assert [p.kind for p in got.dossier.problems] == ["mail_too_many_parts"]
    assert "message" in got.where("FILE_UNREADABLE")
    assert len(got.findings) < 30


@pytest.mark.parametrize("make", [H.mail_huge_header, H.mail_huge_subject], ids=["10MB-folded-header", "10MB-subject"])
def test_a_10_mb_header_is_parsed_in_seconds(make) -> None:
    raw = make(10)
    started = time.monotonic()
    facts = parse_message(raw)
    assert time.monotonic() - started < 30
    assert facts.from_addr == H.FROM and facts.body_text.strip() == "body"


def test_multipart_nested_two_thousand_deep_is_unreadable_not_a_crash(tmp_path: Path) -> None:
    got = _judge_mail(H.mail_deep_multipart(2000), tmp_path)
    assert {p.kind for p in got.dossier.problems} <= {"mail_unreadable", "mail_too_deep"}
    assert got.dossier.problems and "FILE_UNREADABLE" in got.codes()
    assert got.dossier.mail is not None and got.dossier.mail.from_addr == H.FROM


def test_rfc822_nested_two_hundred_deep_stops_at_the_depth_cap(tmp_path: Path) -> None:
    got = _judge_mail(H.mail_deep_rfc822(200), tmp_path)
    assert [p.kind for p in got.dossier.problems] == ["mail_too_deep"]
    assert got.where("FILE_UNREADABLE") == ["message"]


@pytest.mark.parametrize("i", range(5), ids=["none", "unused", "empty", "2000-chars", "unterminated"])
def test_malformed_boundaries_keep_the_bytes_as_an_attachment(tmp_path: Path, i: int) -> None:
    """Whatever the boundary does, the mail is parsed, its sender known, and no byte is dropped
    silently: the payload is an attachment (a material) or the structure is reported."""
    raw = H.mail_bad_boundaries()[i]
    got = _judge_mail(raw, tmp_path)
    assert got.dossier.mail is not None and got.dossier.mail.from_addr == H.FROM
    assert got.dossier.materials or got.dossier.problems


def test_invalid_charsets_decode_without_replacement_where_bytes_are_valid(tmp_path: Path) -> None:
    facts = parse_message(H.mail_bad_charsets())
    assert facts.from_addr == H.FROM
    assert "申" in facts.body_text  # GB18030 bytes under an unknown charset label
    assert [a.name for a in facts.attachments] == ["申.docx"]


def test_hostile_attachment_names_are_sanitised_on_disk_and_kept_distinct(tmp_path: Path) -> None:
    """GIVEN names that are paths (../../x.docx, C:\\x.docx, /etc/cron.d/x.docx), hold a NUL, are 1,000
    characters, are dots, a device name, duplicates, or a right-to-left override
    THEN every attachment is a material, each file is written under its own folder of the work
    folder with a name of at most 200 bytes, and the duplicates keep both contents."""
    got = _judge_mail(H.mail_hostile_names(), tmp_path)
    assert len(got.dossier.materials) == len(H.HOSTILE_NAMES)
    assert len(got.written) == len(H.HOSTILE_NAMES)
    for p in got.written:
        assert len(p.name.encode()) <= 200 and "\x00" not in p.name and not p.name.startswith(".")
    dups = [m for m in got.dossier.materials if m.name == "dup.pdf"]
    assert len(dups) == 2 and dups[0].sha256 != dups[1].sha256
    assert not Path("/etc/cron.d/x.docx").exists()
    assert got.where("FILE_FORBIDDEN") == ["\u202egpj.exe"]
