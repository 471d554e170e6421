"""Reply prefixes: the one pattern for ``Re:``/``RE:``/``回复：``/``答复：``/``转发：``/``Fwd:``.

A clerk answers a 补正通知 with any of these in front of our subject (one or several, either
colon width, Outlook's ``RE[2]:`` counter). Our own replies add ``[outbox] reply_prefix`` only when
the subject does not start with one already. Which dossier a reply continues is decided in one
place, ``bot/processing/threading_rules.py`` (tag, cited Message-IDs, sender + project).
"""

from __future__ import annotations

import re

REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|fw|fwd|回复|答复|转发)\s*(?:\[\d+\])?\s*[:：]\s*", re.I)


def has_reply_prefix(subject: str | None) -> bool:
    """True when ``subject`` starts with a reply or forward prefix."""
    return bool(REPLY_PREFIX.match(subject or ""))


def strip_reply_prefixes(subject: str) -> str:
    """``"RE: 回复：Fwd: 【补正通知】x"`` → ``"【补正通知】x"`` (any number, either colon width)."""
    s = subject or ""
    while m := REPLY_PREFIX.match(s):
        s = s[m.end():]
    return s.strip()
