"""From a judged dossier to a queued 回执 or 补正通知: the office's context, the recipient, the cap."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime

from bot.config.model import Officer, Settings
from outbox.delivery import queue as outgoing
from outbox.mail.compose import compose_defect_notice, compose_receipt
from outbox.mail.context import ReplyContext
from outbox.mail.headers import address_header, set_header
from outbox.mail.loops import should_not_reply
from outbox.mail.tracking import make_tracking
from parsers.facts import DossierFacts, MailFacts
from rules.campaign import Campaign, CampaignError
from rules.finding import Finding

log = logging.getLogger("intake.replies")


class ReplyBuilder:
    """Writes replies for one instance (its office, level and campaign) into the outgoing queue."""

    def __init__(self, settings: Settings, campaign: Campaign):
        self.settings = settings
        self.campaign = campaign
        office = settings.office
        self.loop_value = f"dossier-intake {office.level} {office.division_code}"
        self.own_addresses = {settings.outbox.from_addr.lower()}

    def tracking(self, seq: int) -> str:
        """``IIP2023-420100-0017-5``: campaign code, this office's division code, sequence, check."""
        return make_tracking(self.campaign.code, self.settings.office.division_code, seq)

    def no_reply_reason(self, mail: MailFacts | None) -> str | None:
        """Why this mail must not be answered (RFC 3834 and loop defence), or None."""
        if mail is None:
            return None
        return should_not_reply(
            mail, own_addresses=self.own_addresses, loop_header_value=self.loop_value
        )

    def context(self, now: datetime, *, version_note: str = "") -> ReplyContext:
        """The office and campaign facts every reply is written with."""
        s = self.settings
        try:
            level = self.campaign.level(s.office.level)
        except CampaignError:
            level = None
        return ReplyContext(
            campaign_name=self.campaign.name,
            level=s.office.level,
            unit=s.office.unit,
            from_addr=s.outbox.from_addr,
            from_name=s.outbox.from_name,
            domain=s.outbox.domain,
            officer_contact=s.office.officer_contact,
            deadline=level.deadline if level else None,
            next_steps=next_steps(level, s.office.unit) if level else [],
            now=now,
            loop_header_value=self.loop_value,
            timezone=self.campaign.timezone,
            large_file_note=(
                "视频文件较大、邮件无法发送时，请刻录光盘报送，或联系我们获取共享文件夹地址。"
            ),
            extra={"version_note": version_note} if version_note else {},
        )

    def responsible_officers(self, category: str | None) -> list[Officer]:
        """Officers whose categories include ``category``; when none does, those with all categories."""
        officers = self.settings.office.officers
        named = [o for o in officers if category and category in o.categories]
        return named or [o for o in officers if not o.categories]

    def recipient(self, facts: DossierFacts) -> str | None:
        """Who gets the reply: the mail's sender (Reply-To first), else the form's email."""
        if facts.mail is not None:
            return facts.mail.reply_to or facts.mail.from_addr or None
        return facts.contact.email or None

    def enqueue(
        self,
        conn: sqlite3.Connection,
        facts: DossierFacts,
        findings: list[Finding],
        verdict: str,
        tracking: str,
        version: int,
        *,
        dedupe_key: str,
        now: datetime,
        same_as: int | None = None,
    ) -> int | None:
        """Compose the reply and put it in the outgoing queue (idempotent on ``dedupe_key``).

        Returns the queue id, or None when there is nobody to answer or the sender's daily cap
        (``outbox.replies_per_sender_per_day``) is reached. ``same_as``: the earlier version whose
        files this one repeats unchanged (said in the reply).
        """
        to = self.recipient(facts)
        if not to:
            log.info("%s: no address to answer (no sender, no email in the form)", tracking)
            return None
        cap = self.settings.outbox.replies_per_sender_per_day
        if outgoing.sent_today(conn, to, now.date()) >= cap:
            log.warning("%s: reply cap of %d per day reached for a sender", tracking, cap)
            return None
        compose = compose_receipt if verdict == "accepted" else compose_defect_notice
        msg = compose(
            self.context(now, version_note=f"（与第 {same_as} 版相同，未作改动）" if same_as else ""),
            facts, findings, tracking, to=to, original=facts.mail, version=version
        )
        kind = "receipt" if verdict == "accepted" else "defect_notice"
        cc = []
        if kind == "defect_notice" and self.settings.office.cc_officers_on_defects:
            cc = self.responsible_officers(facts.category)
        if cc:
            set_header(msg, "Cc", address_header("Cc", [(o.name, o.email) for o in cc]))
        return outgoing.enqueue(
            conn, msg, kind=kind, tracking=tracking, dedupe_key=dedupe_key, now=now, commit=False
        )


def next_steps(level, unit: str) -> list[str]:
    """The notice's next steps for this level, as lines for the receipt (Wuhan's and MIIT's notices)."""
    steps = []
    when = f"{level.deadline.year}年{level.deadline.month}月{level.deadline.day}日前" if level.deadline else "按通知要求"
    if level.form_sets:
        steps.append(f"请于{when}将项目申报书纸质版装订成册一式{_cn(level.form_sets)}套报送{unit}。")
    if level.discs:
        steps.append(
            f"电子版光盘一式{_cn(level.discs)}份：刻录5-10分钟项目相关视频证明材料、申报书可编辑文档及全套扫描件，"
            "盘面请标注申报单位简称。"
        )
    steps.append("申报单位对单位资质、项目申报书内容的真实性负责。")
    return steps


def _cn(n: int) -> str:
    # Counting things, Chinese says 两 for 2 (一式两份), not 二.
    return "两" if n == 2 else "零一二三四五六七八九十"[n] if 0 <= n <= 10 else str(n)
