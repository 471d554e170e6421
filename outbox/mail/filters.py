"""What spam filters hold against a mail, checked on our own outgoing mail before it is queued.

QQ Mail answers ``550 Mail content denied`` and 163.com ``554 DT:SPM`` to mail their filters
score as spam. The signs they and SpamAssassin-style filters score, and that we can avoid:

- ``from_domain_mismatch``: From, envelope sender (MAIL FROM) and Message-ID on different domains
  (SpamAssassin ``MSGID_FROM_MTA_HEADER``-style rules, DMARC alignment);
- ``text_html_mismatch``: an HTML part saying things the plain-text part does not (``MPART_ALT_DIFF``);
  our plain part must carry every sentence of the HTML part;
- ``link_shortener``: links through URL shorteners (``t.cn``, ``dwz.cn``, ``url.cn``, ``bit.ly`` …),
  listed by every provider's URI blocklists;
- ``subject_all_caps`` and ``subject_punctuation``: a subject in capitals (``SUBJ_ALL_CAPS``) or
  with repeated ``!``/``?`` (``！！``, ``???``).

:func:`content_problems` returns the slugs with a detail; the outgoing queue logs them, the tests
assert every kind of mail we compose has none.
"""

from __future__ import annotations

import re
from email.message import EmailMessage, Message
from email.utils import getaddresses
from html import unescape

from outbox.mail.headers import raw_values
from outbox.mail.tracking import _CANDIDATE as _TRACKING

SHORTENERS = (
    "t.cn", "dwz.cn", "url.cn", "suo.im", "w.url.cn", "bit.ly", "tinyurl.com", "goo.gl", "ow.ly",
    "is.gd", "t.co", "rebrand.ly", "cutt.ly", "u.nu", "kks.me", "mrw.so", "sohu.gg", "dwz.date",
)  # fmt: skip
_URL = re.compile(r"https?://([^/\s\"'<>]+)[^\s\"'<>]*", re.I)
_REPEATED_PUNCT = re.compile(r"[!！?？]{2,}|[.。]{4,}|[~～]{2,}")
_NOT_TEXT = re.compile(r"[\s\u3000:：,，.。;；、!！?？()（）\[\]【】<>《》\"'“”‘’…—\-]+")


def _domain(addr: str) -> str:
    return addr.rsplit("@", 1)[-1].strip().strip(">").lower() if "@" in addr else ""


def _squash(text: str) -> str:
    """Text without spaces and punctuation, so wrapping and table layout do not count."""
    return _NOT_TEXT.sub("", text)


_HIDDEN = re.compile(r"<!--.*?-->|<(style|script|title|head)(?=[\s/>])[^>]*>.*?</\1\s*>", re.S | re.I)
# Tags that start a line: these opening tags, and these closing ones.
_LINE_TAG = re.compile(r"<(?:br|p|tr|td|th|li|div|table|h1|h2|h3|/p|/tr|/li|/div|/td|/th)(?=[\s/>])[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")


def html_lines(html: str) -> list[str]:
    """The visible lines of an HTML body (tags dropped, entities decoded); each table cell is a
    line of its own, so a table may be written out as labelled lines in the plain part.

    For the HTML we write (our templates: no ``>`` inside attribute values): regular expressions
    do what ``html.parser`` would, at a tenth of its cost on every reply."""
    text = _TAG.sub("", _LINE_TAG.sub("\n", _HIDDEN.sub("", html)))
    return [ln.strip() for ln in unescape(text).splitlines() if ln.strip()]


def _parts(msg: Message) -> tuple[str, str]:
    plain = html = ""
    for part in msg.walk():
        if part.get_content_maintype() != "text" or part.get_filename():
            continue
        payload = part.get_payload(decode=True) or b""
        text = payload.decode(part.get_content_charset() or "utf-8", "replace")
        if part.get_content_subtype() == "plain" and not plain:
            plain = text
        elif part.get_content_subtype() == "html" and not html:
            html = text
    return plain, html


def content_problems(msg: EmailMessage, *, mail_from: str | None = None) -> list[str]:
    """``["slug: detail", …]`` for ``msg`` (see the module docstring); [] when none.

    ``mail_from``: the envelope sender (default: the From address, as the queue uses).
    """
    out: list[str] = []
    from_addrs = [a for _, a in getaddresses(raw_values(msg, "from")) if a]
    from_domain = _domain(from_addrs[0]) if from_addrs else ""
    envelope_domain = _domain(mail_from) if mail_from else from_domain
    mid_domain = _domain("".join(raw_values(msg, "message-id")[:1]))
    if len({d for d in (from_domain, envelope_domain, mid_domain) if d}) > 1:
        out.append(f"from_domain_mismatch: From {from_domain}, MAIL FROM {envelope_domain}, "
                   f"Message-ID {mid_domain}")  # fmt: skip
    plain, html = _parts(msg)
    if html:
        flat = _squash(plain)
        missing = [ln for ln in html_lines(html) if _squash(ln) and _squash(ln) not in flat]
        if missing:
            out.append(f"text_html_mismatch: not in the plain part: {missing[0]!r}"
                       + (f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""))  # fmt: skip
    for text in (plain, html):
        for m in _URL.finditer(text):
            host = m.group(1).lower().split(":")[0]
            if host in SHORTENERS or any(host.endswith("." + s) for s in SHORTENERS):
                out.append(f"link_shortener: {m.group(0)}")
    subject = " ".join(str(msg.get("subject", "")).split())
    letters = re.sub(r"[^A-Za-z]", "", _TRACKING.sub("", subject))
    if len(letters) >= 6 and letters.isupper():
        out.append(f"subject_all_caps: {subject!r}")
    if _REPEATED_PUNCT.search(subject):
        out.append(f"subject_punctuation: {subject!r}")
    return out
