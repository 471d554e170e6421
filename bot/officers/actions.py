"""Carrying out an officer's command: record the decision, judge the dossiers again, queue the
applicant's notice; the same path for ``intake waive …`` on the server and for commands by mail.

Everything happens inside the caller's transaction (``store.transaction()``), so a decision, the
new verdicts and the mail that tells the applicant are committed together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.config.model import Officer, Settings
from bot.officers.commands import Command
from bot.processing.pipeline import Pipeline, findings_of
from bot.store.database import DossierRow, Store
from bot.store.decisions import (
    Decision,
    DecisionError,
    Evidence,
    is_rejected,
    note,
    reject,
    restore,
    waive,
    waived_codes,
)
from bot.store.facts_codec import loads_facts
from bot.store.history import dossier_history, history_text
from outbox.delivery import queue as outgoing
from outbox.mail.decision_mail import (
    Threading,
    compose_rejection_notice,
    compose_restore_notice,
    compose_waiver_notice,
)
from parsers.facts import DossierFacts
from rules.catalog import RULES_BY_CODE
from rules.finding import Finding

log = logging.getLogger("intake.officers")

VERDICT_ZH = {"accepted": "受理", "defective": "需补正"}


@dataclass
class ActionOutcome:
    """What one command did: ``message`` is one Chinese sentence for the officer; ``details`` the
    history text of a 查询; ``notice_id`` the queued mail to the applicant (outgoing id), if any."""

    ok: bool
    message: str
    tracking: str | None = None
    verdict: str | None = None
    decision: Decision | None = None
    notice_id: int | None = None
    details: str = ""


class OfficerDesk:
    """Executes officers' commands for one instance (its settings, store and pipeline)."""

    def __init__(self, settings: Settings, store: Store, pipeline: Pipeline):
        self.settings = settings
        self.store = store
        self.pipeline = pipeline

    def officer_by_address(self, address: str | None) -> Officer | None:
        """The configured officer whose email is ``address`` (case-insensitive), else None."""
        addr = (address or "").strip().strip("<>").lower()
        if not addr:
            return None
        return next(
            (o for o in self.settings.office.officers if o.email.strip().lower() == addr), None
        )

    def carry_out(
        self,
        command: Command,
        *,
        officer: str,
        via: str,
        allowed: Officer | None = None,
        force: bool = False,
        now: datetime | None = None,
        evidence: Evidence | None = None,
    ) -> ActionOutcome:
        """Carry out ``command`` as ``officer`` (a name recorded in the audit table).

        ``allowed``: when given (mail), an officer with categories may change only dossiers of
        those categories (a lead, or an officer without categories, may change any). ``force``
        (``intake waive --force`` only): record a waiver of a code the dossier's current version
        does not have, so that later versions do not count it; without it such a waiver is
        refused (``not_present``), since it is most often a typo of the tracking number or code.
        ``via``: ``cli``, ``mail`` or ``web`` (the web desk); it decides how the message says the
        notice will be sent.
        ``evidence``: for mail, the confirming reply's envelope sender, Message-ID and token, kept in
        the audit row. Must run inside ``store.transaction()``. Raises DecisionError (see
        ``bot/store/decisions.py``).
        """
        now = now or self.pipeline.now()
        tracking = command.tracking
        dossier = self.store.dossier_by_tracking(tracking)
        if dossier is None:
            raise DecisionError("unknown_tracking", f"受理编号 {tracking} 不存在，请核对。")
        if command.verb == "show":
            history = dossier_history(self.store, tracking, self.pipeline.campaign.timezone)
            assert history is not None
            return ActionOutcome(
                True, f"{tracking} 的办理记录如下。", tracking, dossier.verdict,
                details=history_text(history),
            )  # fmt: skip
        if allowed is not None and command.verb != "note":
            self._check_allowed(allowed, dossier)
        if command.verb == "note":
            d = note(self.store, tracking, command.text, officer=officer, via=via, now=now,
                     evidence=evidence)
            return ActionOutcome(True, f"已为 {tracking} 记录备注（仅内部可见）。", tracking,
                                 dossier.verdict, d)  # fmt: skip
        if command.verb == "waive":
            return self._waive(command, dossier, officer=officer, via=via, force=force, now=now,
                               evidence=evidence)
        if command.verb == "reject":
            d = reject(self.store, tracking, officer=officer, reason=command.text, via=via, now=now,
                       evidence=evidence)
            self.pipeline.refresh_verdicts()
            notice = self._notify(dossier, d, now)
            return ActionOutcome(
                True,
                f"已将 {tracking} 设为不予推荐，不再列入汇总表；" + _told(notice, via),
                tracking, self._verdict(tracking), d, notice,
            )  # fmt: skip
        if command.verb == "restore":
            d = restore(
                self.store, tracking, officer=officer, reason=command.text, via=via, now=now,
                evidence=evidence,
            )
            self.pipeline.refresh_verdicts()
            notice = self._notify(dossier, d, now)
            v = self._verdict(tracking)
            return ActionOutcome(
                True,
                f"已恢复 {tracking}，当前结论：{VERDICT_ZH.get(v, v)}；" + _told(notice, via),
                tracking, v, d, notice,
            )  # fmt: skip
        raise DecisionError("unknown_verb", f"不认识的指令：{command.verb}")

    def _waive(
        self,
        command: Command,
        dossier: DossierRow,
        *,
        officer: str,
        via: str,
        force: bool,
        now: datetime,
        evidence: Evidence | None = None,
    ) -> ActionOutcome:
        tracking, code = dossier.tracking, (command.code or "").strip().upper()
        before_version = self.store.versions_of(dossier.id)[-1]
        before = findings_of(before_version)
        was_error = any(f.code == code and f.severity == "error" for f in before)
        present = any(f.code == code for f in before)
        already = code in waived_codes(self.store).get(tracking, set())
        if not present and not force and code in RULES_BY_CODE and not already:
            hint = (
                "如确需为今后的版本预先豁免，请加 --force。"
                if via == "cli"
                else "网页和邮件指令不能预先豁免；如确有需要，请在服务器上使用 intake waive --force。"
            )
            raise DecisionError(
                "not_present",
                f"{tracking} 该项目当前没有“{RULES_BY_CODE[code].title}”（{code}）问题，"
                f"未予豁免；请核对受理编号和问题代码。{hint}",
            )
        d = waive(
            self.store, tracking, code, officer=officer, reason=command.text, via=via, now=now,
            evidence=evidence,
        )
        self.pipeline.refresh_verdicts()
        after = self._verdict(tracking)
        title = RULES_BY_CODE[code].title
        head = f"已豁免 {tracking} 的 {code}（{title}）"
        if not present:
            return ActionOutcome(
                True,
                f"{head}；该项目当前没有这一问题，豁免已记录，今后的版本不再计此项；未通知申报单位。",
                tracking, after, d,
            )  # fmt: skip
        notice = None
        if was_error and not is_rejected(self.store, tracking):
            notice = self._notify(dossier, d, now, before=before)
        change = f"结论：{VERDICT_ZH.get(dossier.verdict, dossier.verdict)} → {VERDICT_ZH.get(after, after)}"
        return ActionOutcome(
            True, f"{head}；{change}；" + _told(notice, via), tracking, after, d, notice
        )

    def _check_allowed(self, officer: Officer, dossier: DossierRow) -> None:
        if officer.lead or not officer.categories or dossier.category in officer.categories:
            return
        raise DecisionError(
            "not_allowed",
            f"{dossier.tracking} 属于“{dossier.category or '未填类别'}”，不在您负责的类别"
            f"（{'、'.join(officer.categories)}）之内，无权处理；请联系牵头处室。",
        )

    def _verdict(self, tracking: str) -> str:
        row = self.store.dossier_by_tracking(tracking)
        return row.verdict if row else ""

    def _notify(
        self,
        dossier: DossierRow,
        decision: Decision,
        now: datetime,
        *,
        before: Sequence[Finding] = (),
    ) -> int | None:
        """Queue the applicant's notice for ``decision`` (in the caller's transaction);
        ``before``: a waiver's findings as they stood before it (to name the waived item)."""
        version = self.store.versions_of(dossier.id)[-1]
        facts: DossierFacts = loads_facts(version["facts"])
        to = self.pipeline.replies.recipient(facts) or dossier.sender
        if not to:
            log.info("%s: %s recorded; no address to tell the applicant", dossier.tracking,
                     decision.action)  # fmt: skip
            return None
        ctx = self.pipeline.replies.context(now)
        thread = self._thread(dossier.tracking, facts)
        if decision.action == "waive":
            msg = compose_waiver_notice(
                ctx, facts, findings_of(version), dossier.tracking, to=to,
                waived=[decision.code or ""], version=version["version"], thread=thread,
                reason=decision.reason, waived_findings=before,
            )  # fmt: skip
        elif decision.action == "reject":
            msg = compose_rejection_notice(
                ctx, facts, dossier.tracking, to=to, reason=decision.reason, thread=thread
            )
        else:
            msg = compose_restore_notice(
                ctx, facts, dossier.tracking, to=to, reason=decision.reason, thread=thread,
                findings=findings_of(version), version=version["version"],
            )  # fmt: skip
        return outgoing.enqueue(
            self.store.conn, msg, kind=f"decision_{decision.action}", tracking=dossier.tracking,
            dedupe_key=f"decision:{decision.id}", now=now, commit=False,
        )  # fmt: skip

    def _thread(self, tracking: str, facts: DossierFacts) -> Threading:
        """Answer under our last message about the dossier (and the applicant's mail, if any)."""
        row = self.store.conn.execute(
            "SELECT message_id FROM outgoing WHERE tracking=? ORDER BY id DESC LIMIT 1", (tracking,)
        ).fetchone()
        refs = [facts.mail.message_id] if facts.mail and facts.mail.message_id else []
        if row and row["message_id"]:
            refs.append(row["message_id"])
        return Threading(refs[-1], tuple(refs)) if refs else Threading()


def _told(notice: int | None, via: str) -> str:
    """How the applicant hears of it: the mail is only queued here, in the caller's transaction;
    the daemon's sender (or ``intake run --once``) delivers it."""
    if notice is None:
        return "未通知申报单位（无收件地址，或此项无需通知）。"
    if via == "cli":
        return "给申报单位的通知已排队，将由运行中的 intake run 或下一次 intake run --once 发出。"
    if via == "web":
        return "给申报单位的通知已排队，由运行中的 intake run 发出。"
    return "给申报单位的通知已排队，随即自动发出。"
