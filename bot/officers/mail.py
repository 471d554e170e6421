"""Officers' commands by mail: nothing runs before a confirmation round trip (GNU Mailman's model).

The daemon registers :func:`make_interceptor` (``Intake``); the pipeline tries the
interceptor before an input becomes dossiers. Two kinds of mail are taken:

1. **A command mail**: its From is a configured officer's address (``[office] officers``), it is
   no automatic message (RFC 3834, loop defence), and its subject or first body lines hold at
   least one command (``bot/officers/commands.py``). A From proves nothing, so the commands are
   NOT executed: they are stored with a single-use random token (``bot/store/confirmations.py``)
   and a confirmation request listing what was understood goes to the officer's *configured*
   address (never to the From or Reply-To of the mail). A forged command thus changes nothing;
   the real officer sees a request nobody asked for and can report it.
2. **A confirming reply**: any mail carrying ``confirm <token>`` in its subject or body. Only a
   reply whose From is the configured address the token was sent to, not automatic, within
   ``[office] confirmation_valid_s`` and for a token not used before, runs the stored commands,
   in one transaction with marking the token used; the officer gets one mail with each
   command's outcome. A used, expired or unknown token, or one from another address, runs
   nothing; the officer's configured address gets a short note (at most
   ``NOTES_PER_OFFICER_PER_DAY`` requests and notes a day, so a forger cannot flood the officer).

``Authentication-Results`` (RFC 8601) is read only from our own receiving server
(``bot/officers/auth_results.py``, ``[office] trusted_authserv_id``): a trusted dkim/spf/dmarc
fail refuses the mail outright; with ``require_authentication_results`` so does a mail without a
trusted pass. With ``trusted_dkim_skips_confirmation`` a trusted dkim=pass for the officer's
domain runs the commands at once. Every decision's audit row records the authorising mail's
envelope sender (Return-Path), its Message-ID and the token used.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config.model import Officer, Settings
from bot.officers.actions import OfficerDesk
from bot.officers.auth_results import Trace, authentication_problem, dkim_pass_for, read_trace
from bot.officers.commands import Command, CommandProblem, parse_commands, parse_line
from bot.officers.held_requests import EXPIRES_FORMAT
from bot.processing.instance import Instance
from bot.processing.pipeline import Outcome, Pipeline
from bot.store import confirmations
from bot.store.database import InputRow, Store
from bot.store.decisions import DecisionError, Evidence
from outbox.delivery import held
from outbox.delivery import queue as outgoing
from outbox.mail.decision_mail import (
    CommandResult,
    PendingLine,
    compose_confirmation_request,
    compose_officer_note,
    compose_officer_reply,
)
from outbox.mail.template_files import subject
from parsers.facts import DossierFacts, MailFacts

log = logging.getLogger("intake.officers")

NOTES_PER_OFFICER_PER_DAY = 30  # confirmation requests to one officer per day (flood brake)
# Notes ("not run: unknown token" …) have their own, smaller cap: anyone can make one by forging
# the officer's From, and they must not use up the requests the officer's real commands need.
UNASKED_NOTES_PER_OFFICER_PER_DAY = 10
MAX_LINE_CHARS = 200  # a command line as echoed in a confirmation request


class OfficerMail:
    """The interceptor: ``(InputRow, [DossierFacts]) -> Outcome | None`` (None: ordinary mail)."""

    def __init__(self, settings: Settings, store: Store, pipeline: Pipeline):
        self.settings = settings
        self.store = store
        self.pipeline = pipeline
        self.desk = OfficerDesk(settings, store, pipeline)

    def __call__(self, row: InputRow, dossiers: list[DossierFacts]) -> Outcome | None:
        if row.kind != "mail":
            return None
        mail = next((d.mail for d in dossiers if d.mail is not None), None)
        if mail is None:
            return None
        token = confirmations.find_token(mail.subject, mail.body_text)
        if token is not None and (
            self.desk.officer_by_address(mail.from_addr) is not None
            or confirmations.get_request(self.store.conn, token) is not None
        ):
            # "confirm <40 hex digits>" from anyone else, with a token we never issued, is
            # ordinary mail (an applicant quoting a SHA-1), not a confirmation to drop.
            return self._confirmation(row, mail, token)
        officer = self.desk.officer_by_address(mail.from_addr)
        if officer is None:
            return None  # ordinary mail: a command from anyone else is never executed
        if self.pipeline.replies.no_reply_reason(mail):
            return (
                None  # an auto-reply or bounce from an officer's mailbox: the pipeline ignores it
            )
        items = parse_commands(mail.subject, mail.body_text)
        if not items:
            return None
        trace = self._trace(row)
        office = self.settings.office
        refused = authentication_problem(trace, require_pass=office.require_authentication_results)
        runnable = [i for i in items if isinstance(i, Command)]
        if (
            refused is None
            and runnable
            and not (
                office.trusted_dkim_skips_confirmation
                and dkim_pass_for(trace, officer.email.rpartition("@")[2])
            )
        ):
            return self._ask(row, mail, officer, items, trace)
        # Refused, nothing runnable, or a trusted dkim pass allowed to skip the round trip.
        evidence = Evidence(trace.envelope_sender, mail.message_id, None)
        return self._execute(row, mail, officer, items, refused, evidence)

    # -- the two legs ------------------------------------------------------------------------

    def _ask(
        self, row: InputRow, mail: MailFacts, officer: Officer, items: list, trace: Trace
    ) -> Outcome:
        """Store the runnable commands under a new token and mail the officer's configured
        address what was understood; nothing is executed."""
        now = self.pipeline.now()
        lines = [
            PendingLine(_short(i.line), isinstance(i, Command), getattr(i, "message", ""))
            for i in items
        ]
        with self.store.transaction() as conn:
            capped = self._notes_today(officer.email, now, "officer_confirm") >= NOTES_PER_OFFICER_PER_DAY
            req = confirmations.create_request(
                conn, officer_email=officer.email, officer_name=officer.name,
                commands=[i.line for i in items if isinstance(i, Command)], now=now,
                valid_s=self.settings.office.confirmation_valid_s, input_id=row.id,
                message_id=mail.message_id, envelope_sender=trace.envelope_sender,
            )  # fmt: skip
            tz = ZoneInfo(self.pipeline.campaign.timezone)
            local = req.expires_at.astimezone(tz)
            sent = mail.date.astimezone(tz) if mail.date and mail.date.tzinfo else mail.date
            msg = compose_confirmation_request(
                self.pipeline.replies.context(now), to=officer.email, officer_name=officer.name,
                token=req.token, lines=lines, expires=local.strftime(EXPIRES_FORMAT),
                valid_hours=f"{self.settings.office.confirmation_valid_s / 3600:g}",
                request_date=sent.strftime("%Y-%m-%d %H:%M") if sent else "（无日期）",
                request_message_id=_short(mail.message_id or ""),
                request_envelope=_short(trace.envelope_sender or ""), original=mail,
            )  # fmt: skip
            if capped:
                # Forged command mails must not use up the requests a genuine command needs, nor
                # lose it: past the cap the request is held (outbox/delivery/held.py); the digest
                # counts it and the officer releases it (intake held release ID) or discards it.
                held.hold(conn, msg, kind="officer_confirm", tracking=None,
                          dedupe_key=f"officer-confirm:{row.id}", now=now,
                          reason=f"officer confirmation requests: daily cap of {NOTES_PER_OFFICER_PER_DAY} reached")
            else:
                outgoing.enqueue(conn, msg, kind="officer_confirm", tracking=None,
                                 dedupe_key=f"officer-confirm:{row.id}", now=now, commit=False)  # fmt: skip
            self.store.mark_processed(row.id)
        n = sum(1 for x in lines if x.runnable)
        if capped:
            log.warning("input %s: the confirmation request for %s's %d command(s) is held: daily cap "
                        "of %d reached (intake held list)", row.id, officer.name, n, NOTES_PER_OFFICER_PER_DAY)
            return Outcome(row.id, row.name, waiting=True,
                           skipped=f"officer commands: {n} awaiting confirmation "
                                   "(request held: daily cap reached)")
        log.info("input %s: %d command(s) from %s's address await confirmation", row.id, n,
                 officer.name)  # fmt: skip
        return Outcome(row.id, row.name, waiting=True,
                       skipped=f"officer commands: {n} awaiting confirmation")

    def _confirmation(self, row: InputRow, mail: MailFacts, token: str) -> Outcome:
        """A mail carrying a token: run the stored commands once, or only tell the officer why not."""
        now = self.pipeline.now()
        sender = (mail.from_addr or "").strip().strip("<>").lower()
        req = confirmations.get_request(self.store.conn, token)
        if self.pipeline.replies.no_reply_reason(mail):
            # an out-of-office answer to our request quotes the token: it confirms nothing
            return self._done(row, "confirmation: automatic mail ignored", state="ignored")
        if req is None:
            officer = self.desk.officer_by_address(sender)
            if officer is None:
                return self._done(row, "confirmation: unknown token from a non-officer")
            return self._note(row, mail, officer, "unknown token",
                              "您回复的确认码不存在，未执行任何指令。请重新发送指令邮件。")  # fmt: skip
        officer = self.desk.officer_by_address(req.officer_email)
        if officer is None:
            return self._done(row, "confirmation: officer no longer configured")
        if sender != req.officer_email:
            return self._note(row, mail, officer, "from another address",
                              f"有人从另一地址（{_short(sender, 80)}）回复了发给您的确认码，"
                              "未执行任何指令。如非您本人转发，请报告信息安全负责人。")  # fmt: skip
        if req.state == "used":
            return self._note(row, mail, officer, "token already used",
                              "该确认码已使用过，指令不会再次执行。如需再次办理，请重新发送指令邮件。")  # fmt: skip
        if req.expired(now):
            return self._note(row, mail, officer, "token expired",
                              "该确认码已过期，未执行任何指令。请重新发送指令邮件。")  # fmt: skip
        trace = self._trace(row)
        refused = authentication_problem(
            trace, require_pass=self.settings.office.require_authentication_results
        )
        if refused:
            return self._note(row, mail, officer, f"authentication {refused}",
                              f"这封确认回复的来源认证未通过（{refused}），未执行任何指令。")  # fmt: skip
        items = [p for p in (parse_line(line) for line in req.commands) if p is not None]
        evidence = Evidence(trace.envelope_sender, mail.message_id, token)
        return self._execute(row, mail, officer, items, None, evidence, token=token)

    # -- helpers -----------------------------------------------------------------------------

    def _execute(
        self, row: InputRow, mail: MailFacts, officer: Officer, items: list, refused: str | None,
        evidence: Evidence, *, token: str | None = None,
    ) -> Outcome:  # fmt: skip
        """Carry out ``items`` (or refuse each when ``refused``) and answer with one results mail,
        all in one transaction; with ``token``, that transaction also marks it used."""
        now = self.pipeline.now()
        results: list[CommandResult] = []
        with self.store.transaction() as conn:
            if token is not None and not confirmations.consume(
                conn, token, now=now, input_id=row.id, message_id=mail.message_id,
                envelope_sender=evidence.envelope_sender,
            ):  # fmt: skip
                # raced with another reply carrying the same token: that one ran it
                self.store.mark_processed(row.id)
                return Outcome(row.id, row.name, skipped="confirmation: token already used")
            for item in items:
                results.append(self._one(item, officer, refused, now, evidence))
            # the results answer the confirming reply, without repeating its spent token (a
            # reply to the results with new commands must become a new request, not a "used")
            shown = replace(
                mail, subject=" ".join(confirmations.TOKEN_RE.sub("", mail.subject).split())
            )
            reply = compose_officer_reply(
                self.pipeline.replies.context(now),
                to=officer.email,
                officer_name=officer.name,
                results=results,
                original=shown,
            )
            outgoing.enqueue(
                conn, reply, kind="officer_reply", tracking=None,
                dedupe_key=f"officer-reply:{row.id}", now=now, commit=False,
            )  # fmt: skip
            self.store.mark_processed(row.id)
        done = sum(1 for r in results if r.ok)
        log.info(
            "input %s: officer command mail, %d command(s), %d carried out%s%s",
            row.id, len(results), done, f", refused ({refused})" if refused else "",
            ", confirmed" if token else "",
        )  # fmt: skip
        return Outcome(
            row.id, row.name, skipped=f"officer commands: {done}/{len(results)} carried out"
        )

    def _one(
        self, item: Command | CommandProblem, officer: Officer, refused: str | None,
        now: datetime, evidence: Evidence,
    ) -> CommandResult:  # fmt: skip
        if refused is not None:
            return CommandResult(
                item.line,
                False,
                f"邮件来源认证未通过（{refused}），为安全起见不执行任何指令；"
                "请从单位邮箱直接发送，或在服务器上使用 intake 命令。",
            )
        if not isinstance(item, Command):
            return CommandResult(item.line, False, item.message)
        try:
            with self.store.savepoint("officer_command"):
                outcome = self.desk.carry_out(
                    item, officer=officer.name, via="mail", allowed=officer, now=now, evidence=evidence
                )
        except DecisionError as exc:
            return CommandResult(item.line, False, exc.message)
        return CommandResult(item.line, True, outcome.message, outcome.details)

    def _note(
        self, row: InputRow, mail: MailFacts, officer: Officer, why: str, message: str
    ) -> Outcome:
        """Run nothing; tell the officer's configured address why, in a short note (capped)."""
        now = self.pipeline.now()
        with self.store.transaction() as conn:
            if self._notes_today(officer.email, now, "officer_note") < UNASKED_NOTES_PER_OFFICER_PER_DAY:
                note = compose_officer_note(
                    self.pipeline.replies.context(now), to=officer.email,
                    officer_name=officer.name, subject=subject("officer_note"), message=message,
                    original=mail if (mail.from_addr or "").lower() == officer.email.lower() else None,
                )  # fmt: skip
                outgoing.enqueue(conn, note, kind="officer_note", tracking=None,
                                 dedupe_key=f"officer-note:{row.id}", now=now, commit=False)  # fmt: skip
            self.store.mark_processed(row.id)
        log.warning("input %s: confirmation for %s did nothing: %s", row.id, officer.name, why)
        return Outcome(row.id, row.name, skipped=f"confirmation: {why}")

    def _done(self, row: InputRow, why: str, *, state: str = "processed") -> Outcome:
        with self.store.transaction():
            self.store.close_input(row.id, state, why)
        log.info("input %s: %s", row.id, why)
        return Outcome(row.id, row.name, skipped=why)

    def _trace(self, row: InputRow) -> Trace:
        raw = self.store.archive.path_for(row.sha256).read_bytes()
        return read_trace(raw, self.settings.office.trusted_authserv_id)

    def _notes_today(self, officer_email: str, now: datetime, kind: str) -> int:
        """Mails of ``kind`` (``officer_confirm`` or ``officer_note``) to the officer today."""
        return outgoing.queued_on(self.store.conn, officer_email, now.date(), kinds=(kind,))


def _short(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """``text`` on one line, at most ``limit`` characters (an echo of outside text)."""
    one = " ".join((text or "").split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def make_interceptor(intake: Instance) -> OfficerMail:
    """The interceptor for a ``bot.daemon.Intake`` (its settings, store and pipeline)."""
    return OfficerMail(intake.settings, intake.store, intake.pipeline)
