"""Bounces of our mails: matched to the reply they return, recorded on its dossier, and the
officers of the dossier's category told once, so they can call the applicant.

A bounce is never answered (``outbox.mail.loops``). What is matched: our Message-ID quoted back,
looked up in the outgoing queue (which says what kind of mail it was, about which dossier, to
whom); a bounce naming only a tracking number is not believed (anyone can write one), and the
failed address must be one we sent to, so one mail of ours raises at most one alert per recipient. Bounces of mails to officers (digests, confirmations, alerts)
and delays (DSN ``Action: delayed``) are recorded nowhere and alert nobody; the input is kept as
``ignored`` with the reason, like any other automatic mail.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.store import bounces as bounce_store
from bot.store.database import InputRow, Store
from outbox.delivery import queue as outgoing
from outbox.mail.bounce_mail import BounceAlert, compose_bounce_alert
from outbox.mail.bounces import CAUSE_ZH, Bounce, read_bounce
from parsers.facts import MailFacts

log = logging.getLogger("intake.bounces")

# Mails to officers or to other instances: their bounces concern no applicant.
NOT_TO_APPLICANTS = {"bounce_alert", "digest", "packet_receipt", "packet_refusal"}


def to_officers(kind: str) -> bool:
    """True for the kinds of mail that go to officers or other instances, not to an applicant."""
    return kind in NOT_TO_APPLICANTS or kind.startswith("officer_")


class BounceDesk:
    """Takes bounce mails for one pipeline (``pipeline.replies`` gives the office and officers)."""

    def __init__(self, store: Store, replies) -> None:  # replies: bot.processing.replies.ReplyBuilder
        self.store = store
        self.replies = replies

    def take(self, row: InputRow, mail: MailFacts, now: datetime) -> tuple[bool, str] | None:
        """Handle ``mail`` when it is a bounce: ``(recorded on a dossier, what was done)``, or
        None when it is no bounce. Runs in the caller's transaction."""
        raw = self.store.archive.path_for(row.sha256).read_bytes()
        bounce = read_bounce(mail, raw)
        if bounce is None:
            return None
        if not bounce.final:
            return False, "bounce: delay notice (not a failure)"
        sent = self._our_mail(bounce)
        if sent is None:
            # Anyone can write a "bounce" quoting a tracking number; only one quoting the exact
            # Message-ID of a mail we sent (random part: 48 bits) counts.
            return False, "bounce: quotes no mail of ours"
        if to_officers(sent["kind"]):
            return False, f"bounce of a {sent['kind']} (to officers)"
        dossier = self.store.dossier_by_tracking(sent["tracking"]) if sent["tracking"] else None
        if dossier is None:
            return False, "bounce: names none of our dossiers"
        rcpts = json.loads(sent["rcpts"])
        # The failed address as the bounce names it when it is one we sent to, else our first
        # recipient: a forged bounce cannot multiply alerts by inventing addresses.
        rcpt = bounce.rcpt if bounce.rcpt in rcpts else (rcpts[0] if rcpts else "")
        kind = sent["kind"]
        bounce_id = bounce_store.record_bounce(
            self.store,
            tracking=dossier.tracking,
            message_id=bounce.message_id or "",
            rcpt=rcpt,
            reply_kind=kind,
            form=bounce.form,
            status=bounce.status,
            cause=bounce.cause,
            reason=bounce.reason,
            input_id=row.id,
            at=now,
        )
        if bounce_id is None:
            return False, f"bounce of {dossier.tracking} to {rcpt} (recorded already)"
        self._alert(bounce_id, dossier.tracking, bounce, rcpt, kind, sent, now)
        log.warning(
            "%s: the %s to %s bounced (%s): %s", dossier.tracking, kind, rcpt, bounce.form, bounce.reason
        )
        return True, f"bounce of {dossier.tracking} {kind} to {rcpt}: {bounce.reason}"

    def _our_mail(self, bounce: Bounce):
        if not bounce.message_id:
            return None
        return self.store.conn.execute(
            "SELECT kind, tracking, rcpts, created_at FROM outgoing WHERE message_id=?"
            " ORDER BY id DESC LIMIT 1",
            (bounce.message_id,),
        ).fetchone()

    def _alert(self, bounce_id: int, tracking: str, bounce: Bounce, rcpt: str, kind: str, sent,
               now: datetime) -> None:
        """Queue the one 退信提醒 for this bounce to the dossier category's officers."""
        from bot.store.facts_codec import loads_facts

        dossier = self.store.dossier_by_tracking(tracking)
        assert dossier is not None
        versions = self.store.versions_of(dossier.id)
        facts = loads_facts(versions[-1]["facts"]) if versions else None
        officers = self.replies.responsible_officers(dossier.category)
        if not officers:
            log.warning("%s: bounce recorded, but no officer is configured to tell", tracking)
            return
        ctx = self.replies.context(now)
        contact = facts.contact if facts is not None else None
        tz = ZoneInfo(self.replies.campaign.timezone)
        sent_at = datetime.fromtimestamp(sent["created_at"], tz=tz)
        alert = BounceAlert(
            tracking=tracking,
            applicant=dossier.applicant or "",
            project_name=dossier.project_name or "",
            contact_name=(contact.name if contact else None) or "",
            phone=(contact.mobile or contact.phone or "") if contact else "",
            rcpt=rcpt,
            reply_kind=kind,
            sent_at=f"{sent_at:%Y年%m月%d日 %H:%M}",
            cause=CAUSE_ZH[bounce.cause],
            reason=bounce.reason,
        )
        msg = compose_bounce_alert(ctx, [(o.name, o.email) for o in officers], alert)
        outgoing.enqueue(
            self.store.conn, msg, kind="bounce_alert", tracking=tracking,
            dedupe_key=f"bounce-alert:{bounce_id}", now=now, commit=False,
        )  # fmt: skip
