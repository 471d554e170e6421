"""parse_message_file and spill: a mail read from disk in blocks, attachments written as decoded."""

from __future__ import annotations

import base64
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
    writes to disk THEN Python's peak allocation stays under 2.5 × the mail (it was ≈ 10 × the
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
    assert peak < 2.5 * size, f"peak {peak / 2**20:.0f} MB for a {size / 2**20:.0f} MB mail"


def test_joined_base64_lines_change_nothing_the_facts_say(tmp_path):
    """GIVEN a CRLF mail with a base64 attachment, a text body of 64-character hex lines and a
    quoted-printable part with soft breaks WHEN read from its file (base64 lines joined)
    THEN the facts equal those of the bytes: bodies and attachment bytes unchanged."""
    payload = os.urandom(300_000)
    b64 = base64.encodebytes(payload).decode().replace("\n", "\r\n")
    hexes = "\r\n".join(hashlib.sha256(bytes([i])).hexdigest() for i in range(5))
    qp = ("A" * 75 + "=\r\n") * 3 + "end\r\n"
    raw = (
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\nMessage-ID: <j@example.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
        f"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{hexes}\r\n"
        f"--b1\r\nContent-Type: text/plain; name=\"q.txt\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{qp}"
        f"--b1\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}"
        "--b1--\r\n"
    ).encode()
    path = tmp_path / "m.eml"
    path.write_bytes(raw)
    from_file = parse_message_file(path)
    assert from_file == parse_message(raw)
    assert from_file.attachments[1].data == payload
    assert hashlib.sha256(bytes([4])).hexdigest() in from_file.body_text.splitlines()
