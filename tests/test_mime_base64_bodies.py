"""Large base64 bodies decoded on their way into the parser (parsers/base64_bodies.py, issue 16):
the bytes must be exactly those of decoding the whole body, whatever the line shape, nesting or
a forged placeholder."""

from __future__ import annotations

import base64
import hashlib
import os
from email.message import EmailMessage
from pathlib import Path

import pytest

from parsers import mime
from parsers.base64_bodies import MIN_BYTES, decode_aligned
from parsers.mime import parse_message, parse_message_file

BIG = 3 * MIN_BYTES  # decoded bytes: the encoded body is well over the threshold


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _raw_mail(body_lines: list[bytes], eol: bytes, name: str = "video.mp4") -> bytes:
    """A multipart mail, one text part and one base64 part whose encoded lines are given."""
    head = [
        b"From: a@example.com", b"To: b@example.org", b"Subject: x", b"Message-ID: <m@example.com>",
        b"MIME-Version: 1.0", b'Content-Type: multipart/mixed; boundary="BB"', b"",
        b"--BB", b"Content-Type: text/plain; charset=utf-8", b"", "申报材料见附件".encode(), b"",
        b"--BB", b"Content-Type: video/mp4",
        b'Content-Disposition: attachment; filename="' + name.encode("utf-8") + b'"',
        b"Content-Transfer-Encoding: base64", b"",
    ]  # fmt: skip
    return eol.join(head + body_lines + [b"--BB--", b""])


def _lines(data: bytes, width: int) -> list[bytes]:
    text = base64.b64encode(data)
    return [text[i : i + width] for i in range(0, len(text), width)]


def _forwarding_mail(encoded: list[bytes]) -> bytes:
    """A mail forwarding ``encoded`` (base64 lines) as a message/rfc822 part (Foxmail, case C06)."""
    return b"\r\n".join([
        b"From: a@example.com", b"To: b@example.org", b"Subject: Fwd", b"MIME-Version: 1.0",
        b'Content-Type: multipart/mixed; boundary="BB"', b"", b"--BB",
        b"Content-Type: text/plain", b"", b"fwd", b"--BB", b"Content-Type: message/rfc822",
        b"Content-Transfer-Encoding: base64", b"", *encoded, b"--BB--", b"",
    ])  # fmt: skip


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"], ids=["crlf", "lf"])
@pytest.mark.parametrize("width", [76, 64, 62, 998], ids=lambda w: f"{w}-wide")
def test_decoded_on_the_way_equals_the_whole_body(
    tmp_path: Path, eol: bytes, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a large base64 attachment in lines of 76, 64, 62 (not a multiple of 4) or 998
    characters WHEN read from bytes and from a file THEN it was decoded on the way and its bytes
    are exactly the original."""
    calls = []

    def counted(pending: bytes, run: bytes) -> tuple[bytes, bytes]:
        calls.append(len(run))
        return decode_aligned(pending, run)

    monkeypatch.setattr(mime, "decode_aligned", counted)
    data = os.urandom(BIG + 7)  # a short last line with padding
    raw = _raw_mail(_lines(data, width), eol)
    (tmp_path / "m.eml").write_bytes(raw)
    for facts in (parse_message(raw), parse_message_file(tmp_path / "m.eml")):
        (att,) = facts.attachments
        assert (att.size, att.sha256) == (len(data), _sha(data))
        assert facts.body_text.strip() == "申报材料见附件"
    assert sum(calls) >= 2 * (len(base64.b64encode(data)) - width - 4)  # both reads, nearly all


def test_a_short_line_inside_the_body_keeps_the_order(tmp_path: Path) -> None:
    """GIVEN a large body with one short line in its middle (a broken mailer) THEN the bytes are
    still those of decoding the whole body (the part after the short line is not decoded early)."""
    data = os.urandom(BIG * 2)
    text = base64.b64encode(data)
    cut = (len(text) // 2) // 4 * 4
    first, second = text[:cut], text[cut:]
    lines = [first[i : i + 76] for i in range(0, len(first), 76)]
    lines[-1:] = [lines[-1][:40], lines[-1][40:]]  # a 40-character line, then the rest
    lines += [second[i : i + 76] for i in range(0, len(second), 76)]
    (att,) = parse_message(_raw_mail(lines, b"\r\n")).attachments
    assert att.sha256 == _sha(data)


def test_forwarded_mail_inside_keeps_its_large_attachment() -> None:
    """GIVEN a message/rfc822 part (7bit) holding a mail with a large base64 attachment
    THEN the inner attachment is read with its exact bytes."""
    data = os.urandom(BIG)
    inner = EmailMessage()
    inner["From"], inner["To"], inner["Subject"] = "c@example.com", "a@example.com", "内层"
    inner.set_content("见附件")
    inner.add_attachment(data, maintype="video", subtype="mp4", filename="项目视频.mp4")
    outer = EmailMessage()
    outer["From"], outer["To"], outer["Subject"] = "a@example.com", "b@example.org", "Fwd: 内层"
    outer.set_content("转发")
    outer.add_attachment(inner)
    facts = parse_message(outer.as_bytes())
    shas = {a.sha256 for a in facts.attachments}
    assert _sha(data) in shas


def test_base64_forwarded_mail_is_decoded_and_read() -> None:
    """GIVEN a forwarded mail sent as a base64 message/rfc822 part (Foxmail, case C06) over the
    threshold THEN it is decoded and its attachment read with its exact bytes."""
    data = os.urandom(BIG)
    inner = EmailMessage()
    inner["From"], inner["To"], inner["Subject"] = "c@example.com", "a@example.com", "内层"
    inner.set_content("见附件")
    inner.add_attachment(data, maintype="application", subtype="pdf", filename="全套扫描件.pdf")
    encoded = _lines(inner.as_bytes(), 76)
    raw = _forwarding_mail(encoded)
    facts = parse_message(raw)
    assert _sha(data) in {a.sha256 for a in facts.attachments}


def test_a_forged_placeholder_is_only_text() -> None:
    """GIVEN a body that begins with a line shaped like a placeholder (a guessed token) THEN it is
    decoded as base64 text like any other body, and no other part's bytes leak into it."""
    data = os.urandom(BIG)
    forged = [b"=intake-" + b"0" * 24 + b"-0="] + _lines(data, 76)
    facts = parse_message(_raw_mail(forged, b"\r\n"))
    (att,) = facts.attachments
    assert att.sha256 != _sha(b"")  # something was decoded from the text
    assert att.size <= len(data) + 32


@pytest.mark.parametrize("cte", [b"base64 ", b"Base64\t", b"base64  "], ids=["space", "tab", "spaces"])
def test_white_space_after_base64_in_the_header_still_gives_the_bytes(cte: bytes) -> None:
    """GIVEN ``Content-Transfer-Encoding: base64 `` (white space before the line break, which
    ``_blocks`` accepts as base64) on a large attachment THEN its bytes are the original, not the
    placeholder line."""
    data = os.urandom(BIG)
    raw = _raw_mail(_lines(data, 76), b"\r\n").replace(
        b"Content-Transfer-Encoding: base64\r\n", b"Content-Transfer-Encoding: " + cte + b"\r\n"
    )
    (att,) = parse_message(raw).attachments
    assert (att.size, att.sha256) == (len(data), _sha(data))


def test_a_second_encoding_header_never_yields_the_placeholder() -> None:
    """GIVEN a part with ``Content-Transfer-Encoding: 7bit`` then ``…: base64`` (the parser reads
    the first, ``_blocks`` saw the second) THEN the part's bytes are its base64 text, as the parser
    reads it, never the placeholder line with its token."""
    data = os.urandom(BIG)
    raw = _raw_mail(_lines(data, 76), b"\r\n").replace(
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n",
    )
    (att,) = parse_message(raw).attachments
    assert b"=intake-" not in bytes(att.data)
    assert base64.b64decode(bytes(att.data)) == data


@pytest.mark.parametrize("rest", [0, 45, 54], ids=lambda r: f"last-line-{r * 4 // 3 or 76}")
def test_base64_forwarded_mail_without_a_short_last_line(rest: int) -> None:
    """GIVEN a base64 message/rfc822 part whose encoded text ends with a full line of 76, 60 or 72
    characters (no padding, no short line: the placeholder is the part's last line, right before
    the boundary) THEN the forwarded mail is still opened and its attachment read exactly."""
    data = os.urandom(BIG)

    def forwarded(pad: int) -> bytes:
        inner = EmailMessage()
        inner["From"], inner["To"], inner["Subject"] = "c@example.com", "a@example.com", "x"
        inner.set_content("see" + "x" * pad)  # one short line: each character is one byte more
        inner.add_attachment(data, maintype="application", subtype="pdf", filename="a.pdf")
        return inner.as_bytes()

    mail = forwarded((rest - len(forwarded(0))) % 57)
    assert len(mail) % 57 == rest
    encoded = _lines(mail, 76)
    del mail
    assert not encoded[-1].endswith(b"=") and len(encoded[-1]) >= 60
    raw = _forwarding_mail(encoded)
    assert _sha(data) in {a.sha256 for a in parse_message(raw).attachments}


def test_base64_runs_end_where_the_regular_expression_ends_them():
    """GIVEN 3,000 random blocks of base64 lines (widths 57-100, LF and CRLF, lines cut short,
    a stray ``=``, ``-``, space or CR, a line break missing) among boundary and header lines
    WHEN the run at a position is found piece by piece (``_b64_run_end``, the fast path) THEN it
    ends exactly where one match of ``_B64_RUN`` ends it, and no piece ends past that match."""
    import random

    from parsers.mime import _B64_RUN, _b64_run_end

    rnd = random.Random(20261203)
    for _ in range(3000):
        parts = []
        for _ in range(rnd.randint(1, 6)):
            eol = rnd.choice([b"\n", b"\r\n"])
            if rnd.random() < 0.5:
                width, n = rnd.choice([57, 60, 64, 76, 76, 100]), rnd.randint(1, 30)
                body = base64.b64encode(os.urandom(width * n))
                for i in range(n):
                    line = body[i * width : (i + 1) * width]
                    if rnd.random() < 0.05:
                        cut = rnd.randint(0, len(line))
                        line = line[:cut] + rnd.choice([b"=", b"-", b" ", b"\r", b""]) + line[cut + 1 :]
                    parts.append(line + (eol if rnd.random() > 0.03 else b""))
            else:
                parts.append(rnd.choice([b"--boundary\n", b"Content-Type: x\r\n", b"\r\n", b"short==\n", b"A" * 80]))
        buf = b"".join(parts)
        pos = rnd.randint(0, min(len(buf), 100)) if rnd.random() < 0.3 else 0
        m = _B64_RUN.match(buf, pos)
        expected = m.end() if m else pos
        end = pos
        while (nxt := _b64_run_end(buf, end)) != end:
            assert nxt <= expected
            end = nxt
        assert end == expected
