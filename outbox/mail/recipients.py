"""Whom a reply goes to (issue 14, "reply discipline").

Replies go to the From address. A ``Reply-To`` is honoured only when its domain is the From's
domain (a company's shared intake mailbox, ``shenbao@corp.cn`` answering for ``wang@corp.cn``):
a stranger's Reply-To would make the bureau mail its 补正通知 (the victim's company and files) or a
phishing subject to a third party of the forger's choosing. An address that is not a plain ASCII
``local@domain`` gets no reply at all.
"""

from __future__ import annotations

import re

from parsers.facts import MailFacts

_ADDR = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


def plain_address(addr: str | None) -> str | None:
    """``addr`` stripped and lower-cased when it is a plain ASCII addr-spec, else None."""
    a = (addr or "").strip().strip("<>").lower()
    return a if len(a) <= 254 and _ADDR.match(a) else None


def domain_of(addr: str) -> str:
    return addr.rsplit("@", 1)[-1].lower()


def reply_address(mail: MailFacts) -> str | None:
    """The address a reply to ``mail`` goes to (see the module docstring), or None."""
    sender = plain_address(mail.from_addr)
    if sender is None:
        return None
    reply_to = plain_address(mail.reply_to)
    if reply_to and domain_of(reply_to) == domain_of(sender):
        return reply_to
    return sender
