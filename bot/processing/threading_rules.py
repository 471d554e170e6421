"""Resubmissions: which dossier a mail continues, and how its files merge into the next version.

A mail *claims* a dossier when it carries the tracking tag in the Subject, refers to one of our
replies by In-Reply-To/References (RFC 5322 §3.6.4), or comes from one of the dossier's
correspondents for the same project name. A claim is *honoured* only when the mail's From address
is one of the dossier's correspondents (``bot/store/trust.py``: the original sender, the forms'
contact emails, addresses an officer added): tags and Message-IDs are public (a tag is in every
subject we send, and tracking numbers are sequential), so from anybody else a claim changes
nothing (issue 14, "dossier hijack"). Reply-To never counts: it is the sender's to write.
Only mail threads: a drop-folder input has no sender to trust.

Tracking numbers stay readable, without a random part: officers and applicants quote them on the
phone, and since a number alone no longer lets anybody change a dossier, guessing one gains nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.trust import correspondents
from outbox.delivery import queue as outgoing
from outbox.mail.tracking import parse_tracking
from parsers.assemble import assemble_dossier
from parsers.facts import DossierFacts
from rules.names import normalise_name


@dataclass(frozen=True)
class Claim:
    """A mail's claim to continue dossier ``tracking``, and how it was made."""

    tracking: str
    how: str  # tag | reference | sender
    honoured: bool  # the mail's From is one of the dossier's correspondents


def _from(facts: DossierFacts) -> str:
    return ((facts.mail.from_addr if facts.mail else "") or "").strip().strip("<>").lower()


def may_continue(store, tracking: str, sender: str) -> bool:
    """True when ``sender`` is one of dossier ``tracking``'s correspondents."""
    d = store.dossier_by_tracking(tracking)
    return d is not None and bool(sender) and sender in correspondents(store.conn, d.id, d.tracking, d.sender)


def thread_claim(facts: DossierFacts, store) -> Claim | None:
    """The dossier this submission claims to continue, or None for a new dossier."""
    mail = facts.mail
    if mail is None:
        return None
    sender = _from(facts)
    tag = parse_tracking(mail.subject)
    if tag and store.dossier_by_tracking(tag):
        return Claim(tag, "tag", may_continue(store, tag, sender))
    refs = [r for r in [mail.in_reply_to, *mail.references] if r]
    answered = outgoing.tracking_of(store.conn, refs)
    if answered:
        return Claim(answered, "reference", may_continue(store, answered, sender))
    if sender and facts.project_name:
        key = normalise_name(facts.project_name)
        for tracking, project_name in store.project_names():
            if normalise_name(project_name) == key and may_continue(store, tracking, sender):
                return Claim(tracking, "sender", True)
    return None


def thread_key(facts: DossierFacts, store) -> str | None:
    """The tracking number of the dossier this submission continues (an honoured claim), or None."""
    claim = thread_claim(facts, store)
    return claim.tracking if claim is not None and claim.honoured else None


def merge_versions(previous: DossierFacts, new: DossierFacts) -> DossierFacts:
    """Version N+1: the new files replace the previous ones of the same role; the rest are kept.

    Files of role ``other`` accumulate. Fields are read again from the merged form.
    """
    new_roles = {m.role for m in new.materials if m.role != "other"}
    kept = [m for m in previous.materials if m.role == "other" or m.role not in new_roles]
    merged = assemble_dossier(
        new.source,
        kept + new.materials,
        problems=new.problems,
        mail=new.mail,
        links=previous.links + new.links if "video" not in new_roles else new.links,
        received_at=new.received_at,
    )
    return merged
