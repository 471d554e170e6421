"""What of an incoming subject a reply may repeat (issue 14, "phishing relay").

Every reply goes out from the bureau's address. Echoing a stranger's subject whole made the desk a
relay: 1,000 forged mails titled "补贴资金已到账，请登录 http://…" got 1,000 replies from the bureau
repeating the lure. So a reply quotes at most :data:`MAX_ECHO` characters of the subject, with
URLs and anything that looks like a web or mail address removed, control and bidirectional
characters dropped and white space collapsed; what is left is only there so the clerk recognises
which mail we answer.
"""

from __future__ import annotations

import re
import unicodedata

from outbox.mail.threads import strip_reply_prefixes

MAX_ECHO = 60  # characters of the incoming subject a reply may repeat

# A URL with a scheme, a www. host, or any dotted host name / mail address (ASCII or full-width dot).
_URLISH = re.compile(
    r"(?:[a-z][a-z0-9+.-]*:/+\S*|www[.．。]\S*|\S*@\S+|"
    r"\b[a-z0-9-]+(?:[.．。][a-z0-9-]+)*[.．。](?:[a-z]{2,}|xn--[a-z0-9-]+)\b\S*)",
    re.I,
)
_SPACE = re.compile(r"\s+")


def echo_subject(subject: str | None, limit: int = MAX_ECHO) -> str:
    """The part of ``subject`` a reply may repeat: no URLs, at most ``limit`` characters (``…``
    ends a cut one), reply prefixes dropped; ``""`` when nothing harmless is left."""
    text = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c
        for c in strip_reply_prefixes(subject or "")
    )
    text = _URLISH.sub(" ", text)
    text = _SPACE.sub(" ", text).strip(" ，,：:;；-")
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text
