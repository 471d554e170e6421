"""parse_message_file and spill: a mail read from disk in blocks, attachments written as decoded."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest

from parsers.mime import SPILL_KEEP_BYTES, parse_message, parse_message_file
from tests.factories import make_submission_eml

HERE = Path(__file__).parent
MAILS = sorted((HERE / "corpus").rglob("*.eml")) + sorted((HERE / "cases").rglob("*.eml"))


@pytest.mark.parametrize("path", MAILS, ids=lambda p: p.parent.name)
def test_file_gives_the_same_facts_as_bytes(path: Path) -> None:
    """GIVEN a corpus mail WHEN read from its file in blocks THEN the facts equal those of the bytes."""
    assert parse_message_file(path) == parse_message(path.read_bytes())


def _mail(tmp_path: Path, big: int) -> tuple[Path, bytes, bytes]:
    video, scan = os.urandom(big), os.urandom(50_000)
    (tmp_path / "项目视频.mp4").write_bytes(video)
    (tmp_path / "全套扫描件.pdf").write_bytes(scan)
    raw = make_submission_eml([tmp_path / "项目视频.mp4", tmp_path / "全套扫描件.pdf"])
    (tmp_path / "m.eml").write_bytes(raw)
    return tmp_path / "m.eml", video, scan


def test_spill_sees_each_attachment_once_and_big_bytes_are_let_go(tmp_path):
    """GIVEN a mail with a 2 MB video and a 50 KB PDF WHEN parsed with a spill
    THEN spill gets both decoded in order; the video keeps size and sha256 but not its bytes,
    the PDF (under SPILL_KEEP_BYTES) keeps its bytes."""
    path, video, scan = _mail(tmp_path, 2 * SPILL_KEEP_BYTES)
    seen: list[tuple[str, bytes]] = []
    mail = parse_message_file(path, spill=lambda a: seen.append((a.name, a.data)))
    assert seen == [("项目视频.mp4", video), ("全套扫描件.pdf", scan)]
    v, s = mail.attachments
    assert (v.data, v.size, v.sha256) == (b"", len(video), hashlib.sha256(video).hexdigest())
    assert s.data == scan


def test_a_failing_spill_propagates(tmp_path):
    """GIVEN a spill that cannot write (disk full) WHEN the mail is parsed THEN the OSError
    propagates (the input is retried), it is not recorded as an unreadable mail."""
    path, _, _ = _mail(tmp_path, 10_000)

    def full(_att):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        parse_message_file(path, spill=full)


def test_big_mail_is_parsed_in_under_three_times_its_size(tmp_path):
    """GIVEN a 16 MB mail (a 12 MB video, base64) WHEN parsed from its file with a spill that
    writes to disk THEN Python's peak allocation stays under 3 × the mail (it was ≈ 10 × the
    attachment: bytes, text, lines, re-encoded and joined copies)."""
    path, video, _ = _mail(tmp_path, 12 * 1024 * 1024)
    size = path.stat().st_size
    out = tmp_path / "out"
    out.mkdir()
    tracemalloc.start()
    try:
        mail = parse_message_file(path, spill=lambda a: (out / a.sha256).write_bytes(a.data))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (out / mail.attachments[0].sha256).read_bytes() == video
    assert peak < 3 * size, f"peak {peak / 2**20:.0f} MB for a {size / 2**20:.0f} MB mail"
