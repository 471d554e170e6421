"""Which dossier a reply belongs to: our tracking tag in the subject, or our Message-IDs it cites.

Used for resubmissions (issue 6): a clerk answers a 补正通知 with ``Re:``/``RE:``/``回复：``/``答复：``/
``转发：``/``Fwd:`` in front of our subject, or a client drops the tag but keeps In-Reply-To /
References (RFC 5322 §3.6.4). Matching by sender + project name is the store's job (it knows both).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from outbox.mail.tracking import parse_tracking
from parsers.facts import MailFacts

_PREFIX = re.compile(r"^\s*(?:(?:re|aw|fw|fwd|回复|答复|转发)\s*(?:\[\d+\])?\s*[:：]\s*)+", re.I)


def strip_reply_prefixes(subject: str) -> str:
    """``"RE: 回复：Fwd: 【补正通知】x"`` → ``"【补正通知】x"`` (any number, either colon width)."""
    return _PREFIX.sub("", subject or "").strip()


def thread_tracking(mail: MailFacts, message_tracking: Callable[[str], str | None]) -> str | None:
    """The tracking number ``mail`` answers, or ``None`` for a new submission.

    Order: a valid tag in the subject; then In-Reply-To; then References from the newest back,
    each looked up with ``message_tracking(message_id)`` (the store maps our sent Message-IDs to
    tracking numbers) or else read from its left part (our Message-IDs start with the number).
    """
    if tag := parse_tracking(mail.subject):
        return tag
    cited = ([mail.in_reply_to] if mail.in_reply_to else []) + list(reversed(mail.references))
    for msg_id in cited:
        if found := message_tracking(msg_id) or parse_tracking(msg_id.split("@", 1)[0]):
            return found
    return None
