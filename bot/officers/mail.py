"""Officers' commands by mail: an interceptor that takes command mails from ``[office] officers``.

The daemon registers :func:`make_interceptor` (``Intake.__init__``); the pipeline tries the
interceptor before an input becomes dossiers. A mail is a command mail when its From address is
a configured officer's, it is no automatic message (RFC 3834, loop defence), and its subject or
first body lines hold at least one command (``bot/officers/commands.py``). Anything else, above
all mail from anyone not on the list, is ordinary mail and goes on to the pipeline: a forged
command is never executed.

A command mail is answered with one confirmation listing each command's outcome. The commands,
the new verdicts, the applicants' notices, the confirmation and the input's new state are
committed in one transaction. Where the receiving server stamps ``Authentication-Results``
(RFC 8601), a mail whose dkim, spf or dmarc result is ``fail`` (or ``softfail``/``permerror``) is
refused; with ``[office] require_authentication_results`` a mail without a dkim or spf ``pass``
is refused too.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32

from bot.config.model import Officer, Settings
from bot.officers.actions import OfficerDesk
from bot.officers.commands import Command, CommandProblem, parse_commands
from bot.processing.instance import Instance
from bot.processing.pipeline import Outcome, Pipeline
from bot.store.database import InputRow, Store
from bot.store.decisions import DecisionError
from outbox.delivery import queue as outgoing
from outbox.mail.decision_mail import CommandResult, compose_officer_reply
from parsers.facts import DossierFacts

log = logging.getLogger("intake.officers")

_RESULT = re.compile(r"(?:^|[;\s])(dkim|spf|dmarc)\s*=\s*([A-Za-z]+)", re.I)
FAILING = {"fail", "softfail", "permerror"}


def authentication_problem(raw: bytes, *, require_pass: bool = False) -> str | None:
    """Why the ``Authentication-Results`` headers of ``raw`` forbid executing commands, or None.

    Every such header is read (a forger may add one saying pass, never one saying fail): any
    dkim/spf/dmarc result in ``FAILING`` gives e.g. ``"dkim=fail"``. With ``require_pass`` a mail
    with no dkim or spf ``pass`` gives ``"no authentication pass"`` (RFC 8601 §2.7).
    """
    head = BytesHeaderParser(policy=compat32).parsebytes(raw, headersonly=True)
    results = [
        (m.group(1).lower(), m.group(2).lower())
        for value in head.get_all("Authentication-Results", [])
        for m in _RESULT.finditer(" ".join(str(value).split()))
    ]
    for method, result in results:
        if result in FAILING:
            return f"{method}={result}"
    if require_pass and not any(m in ("dkim", "spf") and r == "pass" for m, r in results):
        return "no authentication pass"
    return None


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
        raw = self.store.archive.path_for(row.sha256).read_bytes()
        refused = authentication_problem(
            raw, require_pass=self.settings.office.require_authentication_results
        )
        now = self.pipeline.now()
        results: list[CommandResult] = []
        with self.store.transaction() as conn:
            for item in items:
                results.append(self._one(item, officer, refused, now))
            reply = compose_officer_reply(
                self.pipeline.replies.context(now),
                to=officer.email,
                officer_name=officer.name,
                results=results,
                original=mail,
            )
            outgoing.enqueue(
                conn, reply, kind="officer_reply", tracking=None,
                dedupe_key=f"officer-reply:{row.id}", now=now, commit=False,
            )  # fmt: skip
            self.store.mark_processed(row.id)
        done = sum(1 for r in results if r.ok)
        log.info(
            "input %s: officer command mail, %d command(s), %d carried out%s",
            row.id, len(results), done, f", refused ({refused})" if refused else "",
        )  # fmt: skip
        return Outcome(
            row.id, row.name, skipped=f"officer commands: {done}/{len(results)} carried out"
        )

    def _one(
        self, item: Command | CommandProblem, officer: Officer, refused: str | None, now: datetime
    ) -> CommandResult:
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
                    item, officer=officer.name, via="mail", allowed=officer, now=now
                )
        except DecisionError as exc:
            return CommandResult(item.line, False, exc.message)
        return CommandResult(item.line, True, outcome.message, outcome.details)


def make_interceptor(intake: Instance) -> OfficerMail:
    """The interceptor for a ``bot.daemon.Intake`` (its settings, store and pipeline)."""
    return OfficerMail(intake.settings, intake.store, intake.pipeline)
