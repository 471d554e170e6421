"""Resubmissions: which dossier a mail continues, and how its files merge into the next version.

A reply to our 补正通知 continues its dossier when it carries the tracking tag in the Subject,
refers to one of our replies by In-Reply-To/References (RFC 5322 §3.6.4), or comes from the same
sender for the same project name. Only mail threads: a drop-folder input has no sender to trust.
"""

from __future__ import annotations

from outbox.delivery import queue as outgoing
from outbox.mail.tracking import parse_tracking
from parsers.assemble import assemble_dossier
from parsers.facts import DossierFacts
from rules.names import normalise_name


def thread_key(facts: DossierFacts, store) -> str | None:
    """The tracking number of the dossier this submission continues, or None for a new dossier."""
    mail = facts.mail
    if mail is None:
        return None
    tag = parse_tracking(mail.subject)
    if tag and store.dossier_by_tracking(tag):
        return tag
    refs = [r for r in [mail.in_reply_to, *mail.references] if r]
    answered = outgoing.tracking_of(store.conn, refs)
    if answered:
        return answered
    sender = (mail.reply_to or mail.from_addr or "").lower()
    if sender and facts.project_name:
        key = normalise_name(facts.project_name)
        for d in store.dossiers():
            if (d.sender or "").lower() == sender and d.project_name and normalise_name(d.project_name) == key:
                return d.tracking
    return None


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
