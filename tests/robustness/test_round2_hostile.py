"""Attacks on the round-2 parts: bounces, cloud-drive links, OFD scans, the seal search, the archive
behind ``intake fetched`` (tests/robustness/README.md, rows B*, L*, F*, G*).

Inputs that used to run for minutes or hours run here in a child interpreter with a generous
``timeout`` (60 s: the fixed code takes well under a second), so a regression fails instead of
hanging the suite; the assertions are on the outcome, not on the time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT_S = 60


def _child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line as its last output."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT, check=True, timeout=LIMIT_S)
    return json.loads(proc.stdout.strip().splitlines()[-1])


_BOUNCE = r"""
import json
from email.message import EmailMessage
from outbox.mail.bounces import read_bounce
from parsers.mime import parse_message
m = EmailMessage()
m["From"] = "someone@example.com"; m["To"] = "intake@example.org"; m["Subject"] = "hello"
m["X-Failed-Recipients"] = "x"
m.set_content("a" * 400_000)
raw = m.as_bytes()
b = read_bounce(parse_message(raw), raw)
print(json.dumps({"rcpt": b.rcpt, "message_id": b.message_id}))
"""


def test_b1_free_text_bounce_without_addresses_is_read_quickly() -> None:
    """B1: a "bounce" (any sender can add X-Failed-Recipients) whose body is one 400 KB word.
    The recipient search's address regex was quadratic (≈ hours, in the daemon's own process,
    inside a transaction): now linear. It quotes nothing of ours, so nothing is recorded."""
    out = _child(_BOUNCE)
    assert out == {"rcpt": None, "message_id": None}


_LINK_TEXT = r"""
import json
from parsers.cloud_links import find_cloud_links
gap = " " * 200_000
text = ("视频链接 https://pan.baidu.com/s/1abcDEF 提取码" + gap + "! 有效期" + gap + "! 有效期至" + gap
        + "! 2030年1月1日" + gap + "!")
links = find_cloud_links(["https://pan.baidu.com/s/1abcDEF"], text, sent_at=None)
print(json.dumps([[l.provider, l.code, l.expires_at] for l in links]))
"""


def test_l1_cloud_link_words_then_long_blanks_are_read_quickly() -> None:
    """L1: 提取码 / 有效期 / 有效期至 each followed by 200,000 blanks. ``\\s*[:：]?\\s*`` was
    quadratic (≈ 25 min for this text); the gaps are bounded now and nothing is read."""
    assert _child(_LINK_TEXT) == [["baidu", None, None]]


def test_l2_ten_thousand_cloud_links_are_capped() -> None:
    """L2: a mail with 10,000 distinct Baidu links: at most ``MAX_CLOUD_LINKS`` are kept (each
    one is listed in the 回执, the digest and ``intake links``), each with its own code."""
    from email.message import EmailMessage

    from parsers.cloud_links import MAX_CLOUD_LINKS, find_cloud_links
    from parsers.mime import parse_message

    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "a@example.com", "intake@example.org", "申报"
    m.set_content("\n".join(f"https://pan.baidu.com/s/1abc{i:06d}xyz 提取码: c{i % 1000:03d}"
                            for i in range(10_000)))
    mail = parse_message(m.as_bytes())
    links = find_cloud_links(mail.links, mail.body_text, sent_at=None)
    assert 1 <= len(links) == MAX_CLOUD_LINKS <= 50
    assert [link.code for link in links[:3]] == ["c000", "c001", "c002"]
