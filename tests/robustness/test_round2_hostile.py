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
