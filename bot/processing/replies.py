"""From a judged dossier to a queued 回执 or 补正通知: the office's context, the recipient, the cap."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta
from email.message import EmailMessage

from bot.config.model import Officer, Settings
from bot.store.trust import rate_alerted, record_event
from outbox.delivery import held
from outbox.delivery import queue as outgoing
from outbox.mail.compose import compose_defect_notice, compose_receipt
from outbox.mail.context import ReplyContext
from outbox.mail.headers import address_header, set_header
from outbox.mail.loops import should_not_reply
from outbox.mail.notices import compose_notice
from outbox.mail.recipients import plain_address, reply_address
from outbox.mail.tracking import make_tracking
from parsers.facts import DossierFacts, MailFacts
from rules.campaign import Campaign, CampaignError
from rules.catalog import OFFICER_ONLY
from rules.finding import Finding

log = logging.getLogger("intake.replies")

# Mail to outsiders that the hourly reply rate counts (digests and officers' mail are not).
REPLY_KINDS = ("receipt", "defect_notice", "oversize", "foreign_tag", "owner_warning", "no_materials")


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
        """Who gets the reply: the mail's sender (a Reply-To only in the From's own domain,
        ``outbox/mail/recipients.py``), else the form's email."""
        if facts.mail is not None:
            return reply_address(facts.mail)
        return plain_address(facts.contact.email)

    def hold_reason(self, conn: sqlite3.Connection, to: str, now: datetime) -> str | None:
        """Why no reply to ``to`` may be queued now, or None: the sender's daily cap
        (``outbox.replies_per_sender_per_day``), or the rate of all replies to outsiders per hour
        (``outbox.replies_per_hour``; reaching it alerts the officers once per clock hour)."""
        cap = self.settings.outbox.replies_per_sender_per_day
        if outgoing.sent_today(conn, to, now.date()) >= cap:
            return f"reply cap of {cap} per day reached for this sender"
        hourly = self.settings.outbox.replies_per_hour
        if outgoing.queued_since(conn, now - timedelta(hours=1), REPLY_KINDS) >= hourly:
            self._alert_rate(conn, hourly, now)
            return f"reply rate of {hourly} per hour reached"
        return None

    def _alert_rate(self, conn: sqlite3.Connection, hourly: int, now: datetime) -> None:
        """One alert to the officers (and one trust event) per clock hour the limit is hit."""
        hour = now.strftime("%Y-%m-%dT%H")
        if rate_alerted(conn, hour):
            return
        text = (f"{now:%Y-%m-%d %H:%M}：一小时内发出的自动回复已达上限 {hourly} 封（[outbox] replies_per_hour），"
                "此后的回复暂缓发送（已保存，intake held list 查看，intake held release 编号 放行），"
                "申报材料照常存档和审查。这通常表示有人批量伪造发件人来信，"
                "请查看 intake status 与汇总邮件中的安全提示。")
        record_event(conn, "reply_rate", at=now, detail=f"{hour} {text}")
        log.error("reply rate of %d per hour reached: further replies are held (intake held list)", hourly)
        officers = [o.email for o in self.settings.office.officers if plain_address(o.email)]
        for addr in officers:
            msg = compose_notice("officer_alert", self.context(now), to=addr, values={"text": text})
            outgoing.enqueue(conn, msg, kind="alert", tracking=None,
                             dedupe_key=f"reply-rate:{hour}:{addr}", now=now, commit=False)

    def notice(
        self,
        conn: sqlite3.Connection,
        kind: str,
        *,
        to: str | None,
        original: MailFacts | None,
        dedupe_key: str,
        now: datetime,
        tracking: str | None = None,
        values: dict[str, str] | None = None,
    ) -> str:
        """Queue a short notice (``outbox/mail/notices.py``) unless loop defence or a limit forbids;
        returns what was done (for the input's record)."""
        if not to:
            return f"{kind}: no address to answer"
        if original is not None and (why := self.no_reply_reason(original)):
            return f"{kind}: not sent ({why})"
        if outgoing.has_key(conn, dedupe_key):
            return f"{kind}: already sent"
        if held.is_held(conn, dedupe_key):
            return f"{kind}: already held"
        msg = compose_notice(kind, self.context(now), to=to, original=original,
                             values=values, tracking=tracking)
        if why := self.queue_or_hold(conn, msg, to=to, kind=kind, tracking=tracking,
                                     dedupe_key=dedupe_key, now=now)[1]:
            return f"{kind}: held ({why})"
        return f"{kind}: sent"

    def queue_or_hold(
        self,
        conn: sqlite3.Connection,
        msg: EmailMessage,
        *,
        to: str,
        kind: str,
        tracking: str | None,
        dedupe_key: str,
        now: datetime,
    ) -> tuple[int | None, str | None]:
        """Queue ``msg`` to ``to``, or hold it when a limit forbids (:meth:`hold_reason`;
        ``outbox/delivery/held.py``: an officer releases it later). Returns ``(queue id, None)``
        or ``(None, why it was held)``. Runs in the caller's transaction."""
        if not outgoing.has_key(conn, dedupe_key) and (why := self.hold_reason(conn, to, now)):
            held.hold(conn, msg, kind=kind, tracking=tracking, dedupe_key=dedupe_key, reason=why, now=now)
            log.warning("%s: %s held: %s", tracking or dedupe_key, kind, why)
            return None, why
        return outgoing.enqueue(conn, msg, kind=kind, tracking=tracking, dedupe_key=dedupe_key,
                                now=now, commit=False), None

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

        Returns the queue id, or None when there is nobody to answer or a limit holds it
        (:meth:`queue_or_hold`: kept for an officer to release). ``same_as``: the earlier version
        whose files this one repeats unchanged (said in the reply).
        """
        findings = [f for f in findings if f.code not in OFFICER_ONLY]
        to = self.recipient(facts)
        if not to:
            log.info("%s: no address to answer (no sender, no email in the form)", tracking)
            return None
        if held.is_held(conn, dedupe_key):
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
        return self.queue_or_hold(conn, msg, to=to, kind=kind, tracking=tracking,
                                  dedupe_key=dedupe_key, now=now)[0]


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
