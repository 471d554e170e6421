"""The officers' digest: what the store says now, per category, and what changed since the last one.

Counts per category (received, accepted, defective, awaiting resubmission = defective with a
补正通知 queued or sent, late = LATE_SUBMISSION); changes since the last digest sent to the same
officer (new dossiers, verdict changes); outstanding defects with the days left to this level's
deadline; per-applicant limits hit (二（四）); quota use (二（五）, ``[office] unit_kind``); replies
that bounced or expired; inputs quarantined; officers' decisions when ``bot.store.decisions`` exists.
Each officer's digest covers their ``categories``; the lead (or an officer without categories)
gets everything (``[office] officers``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import Clock
from bot.config.model import Officer, Settings
from bot.processing.instance import Instance
from bot.processing.pipeline import findings_of
from bot.store import digests
from bot.store.bounces import bounces
from bot.store.database import Store
from bot.store.decisions import ACTION_LABELS, Decision, recent_decisions
from bot.store.trust import TrustEvent, events_since
from outbox.delivery import held
from outbox.delivery import queue as outgoing
from outbox.documents.digest import compose_digest, render
from outbox.documents.digest_data import CategoryCounts, DigestData
from rules.campaign import Campaign, CampaignError
from rules.verdict import verdict_label
from rules.wording import in_zone

log = logging.getLogger("intake.digest")

LIMIT_CODES = ("APPLICANT_OVER_LIMIT", "CATEGORY_REPEATED")
UNCATEGORISED = "未填写类别"


def gather(
    settings: Settings,
    store: Store,
    campaign: Campaign,
    *,
    categories: list[str] | None = None,
    recipient: str = "",
    now: datetime | None = None,
) -> DigestData:
    """The digest's data for ``categories`` (None or empty: all) as of ``now``."""
    now = in_zone(now or Clock(settings.campaign.now).now(), campaign.timezone)
    try:
        lv = campaign.level(settings.office.level)
    except CampaignError:
        lv = None
    deadline = lv.deadline if lv else None
    wanted = {campaign.category(c).name if campaign.category(c) else c for c in categories or []}
    data = DigestData(
        unit=settings.office.unit, level=settings.office.level, campaign_name=campaign.name, now=now,
        deadline=f"{deadline.year}年{deadline.month}月{deadline.day}日" if deadline else None,
        days_left=(deadline - now.date()).days if deadline else None,
        scope="、".join(sorted(wanted)) if wanted else "全部类别",
        timezone=campaign.timezone,
    )
    since, before = digests.last_snapshot(store.conn, recipient)
    notices = outgoing.trackings_sent(store.conn, "defect_notice")
    for c in campaign.categories:
        if not wanted or c.name in wanted:
            data.counts[c.name] = CategoryCounts()
    mine: set[str] = set()  # the dossiers this digest covers, in any state
    unit_accepted = 0  # the quota is the unit's, whatever categories this digest covers
    for d, v in store.current_versions():
        cat = campaign.category(d.category)
        name = cat.name if cat else UNCATEGORISED
        if d.state == "open" and v["verdict"] == "accepted":
            unit_accepted += 1
        if wanted and name not in wanted:
            continue
        mine.add(d.tracking)
        if d.state != "open":
            continue
        counts = data.counts.setdefault(name, CategoryCounts())
        findings = findings_of(v)
        counts.received += 1
        if v["verdict"] == "accepted":
            counts.accepted += 1
        else:
            counts.defective += 1
            if d.tracking in notices:
                counts.awaiting += 1
            errors = [f.message for f in findings if f.severity == "error"]
            data.defects.append((d.tracking, d.project_name or "", d.applicant or "", errors))
        if any(f.code == "LATE_SUBMISSION" for f in findings):
            counts.late += 1
        data.tasks += officer_tasks(d.tracking, d.applicant or d.project_name or "", findings)
        for f in findings:
            if f.code in LIMIT_CODES:
                data.limits.append((d.tracking, d.applicant or "", f.message))
        data.snapshot[d.tracking] = v["verdict"]
        old = before.get(d.tracking)
        if since is not None and old is None:
            data.changes.append(f"新收到：[{d.tracking}] {d.project_name or ''}（{verdict_label(v['verdict'])}）")
        elif old is not None and old != v["verdict"]:
            data.changes.append(
                f"结论变化：[{d.tracking}] {d.project_name or ''} {verdict_label(old)} → {verdict_label(v['verdict'])}")
    if since is None:
        data.changes.append("这是第一份汇总，以下为全部情况。")
    quota = campaign.quotas.get(settings.office.unit_kind) if settings.office.unit_kind else None
    if quota is not None:
        data.quota = (unit_accepted, quota.limit, quota.label)

    def covered(tracking: str | None) -> bool:
        """An item about a dossier is shown only to the officers of its category; an item about
        no dossier (a digest that failed, the relay down) to everyone."""
        return not wanted or not tracking or tracking in mine

    for item in outgoing.failures(store.conn):
        if covered(item.tracking):
            data.bounces.append((item.tracking or item.kind, (item.last_error or "")[:200]))
    for b in bounces(store):  # returned later by a DSN or a provider's 退信 (bot/processing/bounces.py)
        if b.tracking in data.snapshot:  # an open dossier of this digest's categories
            data.bounces.append((b.tracking, f"{b.reply_kind} 至 {b.rcpt or '-'} 被退回：{b.reason}"[:200]))
    for row in store.inputs():
        if row.state == "quarantined":
            last = (row.error or "").strip().splitlines()
            data.quarantined.append((row.id, row.name, last[-1] if last else ""))
    if held_n := held.count_waiting(store.conn):  # kept by a sending limit (outbox/delivery/held.py)
        data.tasks.append(f"{held_n} 封待发邮件因发送上限暂缓发送：intake held list 查看，"
                          "intake held release 编号 放行，intake held discard 编号 丢弃")
    data.decisions = _decisions(store, since, covered)
    data.alerts = [_alert_text(e) for e in events_since(store.conn, since) if covered(e.tracking)]
    data.links = _links_to_fetch(store, campaign, now, wanted)
    return data


def officer_tasks(tracking: str, who: str, findings) -> list[str]:
    """What an officer has to do for one dossier before it can go on (one line each)."""
    out = []
    for f in findings:
        if f.code == "VIDEO_LINK_ONLY":
            out.append(f"[{tracking}] {who}：下载网盘视频并核验时长、能否播放（{f.message}）；"
                       f"下载后 intake fetched {tracking} 文件")
        elif f.code == "LATE_SUBMISSION":
            out.append(f"[{tracking}] {who}：晚于截止日期收到，请决定是否受理（{f.message}）；"
                       f"受理：intake waive {tracking} LATE_SUBMISSION --reason …，"
                       f"不予受理：intake reject {tracking} --reason …")
    return out


def _links_to_fetch(store: Store, campaign: Campaign, now: datetime, wanted: set[str]) -> list[str]:
    """Videos sent as links that an officer must download: expiring within ``DUE_DAYS`` days or
    expired, not yet filed with ``intake fetched`` (issue 19)."""
    from zoneinfo import ZoneInfo

    from bot.processing.cloud_links import DUE_DAYS, link_rows

    today = now.astimezone(ZoneInfo(campaign.timezone)).date()
    lines = []
    for r in link_rows(store, today=today):
        cat = campaign.category(r.category)
        if wanted and (cat.name if cat else UNCATEGORISED) not in wanted:
            continue
        if r.state not in ("due", "expired"):
            continue
        when = f"{r.expires_at.month}月{r.expires_at.day}日" if r.expires_at else ""
        status = "已过期" if r.state == "expired" else f"{when}过期（{DUE_DAYS} 天内）"
        code = f"，提取码 {r.code}" if r.code else ""
        lines.append(f"[{r.tracking}] {r.applicant}：{status}，{r.url}{code}"
                     f"（下载后 intake fetched {r.tracking} 文件）")
    return lines


def _alert_text(e: TrustEvent) -> str:
    """One trust event as a line for the officers."""
    when = f"{e.at.month}月{e.at.day}日 {e.at:%H:%M}"
    if e.kind == "foreign_tag":
        how = {"tag": "主题中的受理编号", "reference": "回复我方邮件", "sender": "项目名称"}.get(e.detail, e.detail)
        return (f"{when} {e.sender or '未知发件人'} 以{how}试图修改 [{e.tracking}]（非该申报的联系邮箱，未采用，"
                f"已告知申报单位；如属实请 intake correspondent add {e.tracking} 地址；输入 {e.input_id}）")
    if e.kind == "reply_rate":
        return f"{when} 自动回复达到每小时上限，此后回复暂缓发送：{e.detail.split(' ', 1)[-1]}"
    return f"{when} {e.kind} {e.tracking or ''} {e.sender or ''} {e.detail}".strip()


def _decisions(store: Store, since: datetime | None, covered: Callable[[str | None], bool]) -> list[str]:
    """Officers' decisions since the last digest about the dossiers ``covered`` (by tracking
    number), one line each."""
    try:
        items = recent_decisions(store, since or datetime.fromtimestamp(0, UTC))
    except Exception:  # another module's failure must not stop the digest
        log.exception("recent_decisions failed; digest sent without decisions")
        return []
    return [_decision_text(i) for i in items if covered(i.tracking)]


def _decision_text(d: Decision) -> str:
    """One decision as a line: ``11月29日 09:30 张三 豁免 [tracking] CODE：reason`` (Beijing time)."""
    at = in_zone(d.at)
    when = f"{at.month}月{at.day}日 {at:%H:%M} "
    action = ACTION_LABELS.get(d.action, d.action)
    code = f" {d.code}" if d.code else ""
    reason = f"：{d.reason}" if d.reason.strip() else ""
    return f"{when}{d.officer} {action} [{d.tracking}]{code}{reason}"


def recipients(settings: Settings) -> list[tuple[Officer, list[str] | None]]:
    """Each officer with the categories their digest covers (None: all, for the lead)."""
    return [(o, None if o.lead or not o.categories else list(o.categories))
            for o in settings.office.officers]


def write_digest(intake: Instance, out: Path) -> list[Path]:
    """Render the whole digest (all categories) as ``.html``, ``.txt`` and ``.png`` named after
    ``out`` (any of the three suffixes) in ``out``'s folder, which must exist; nothing is
    recorded as sent. Returns the paths written. Raises OSError."""
    data = gather(intake.settings, intake.store, intake.campaign)
    text, html, png = render(data, inline_cid=None, png_name=out.with_suffix(".png").name)
    html_path = out if out.suffix.lower() in (".html", ".htm") else out.with_suffix(".html")
    html_path.write_text(html, encoding="utf-8")
    txt = out.with_suffix(".txt")
    txt.write_text(text, encoding="utf-8")
    png_path = out.with_suffix(".png")
    png_path.write_bytes(png)
    return [html_path, txt, png_path]


def queue_digests(intake: Instance, *, now: datetime | None = None) -> int:
    """Put one digest per officer in the outgoing queue (each for their categories); returns how
    many were queued. The snapshot is recorded, so the next digest shows the changes since."""
    settings, store = intake.settings, intake.store
    now = now or intake.pipeline.now()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
    n = 0
    for officer, cats in recipients(settings):
        data = gather(settings, store, intake.campaign, categories=cats, recipient=officer.email, now=now)
        msg = compose_digest(data, settings.outbox.from_name, settings.outbox.from_addr,
                             settings.outbox.domain, officer.name, officer.email,
                             intake.pipeline.replies.loop_value)
        with store.transaction():
            outgoing.enqueue(store.conn, msg, kind="digest", tracking=None,
                             dedupe_key=f"digest:{stamp}:{officer.email}", now=now, commit=False)
            digests.record_sent(store.conn, officer.email, data.now, data.snapshot)
        n += 1
    if not n:
        log.warning("no [office] officers configured: no digest to send")
    return n


def send_digest(intake: Instance) -> tuple[int, list[str], list[str]]:
    """Queue the digests and deliver now: (queued, delivered, failed descriptions)."""
    n = queue_digests(intake)
    delivered, failed = intake.deliver()
    return n, delivered, failed
