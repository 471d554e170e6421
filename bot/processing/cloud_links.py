"""Videos sent as cloud-drive links: what officers must fetch, and what happens when a link expires.

``link_rows`` lists every current dossier's links with their state (``fetched`` once an officer
filed the downloaded video under the dossier with ``intake fetched``, ``expired``, ``due`` within
``DUE_DAYS`` days, else ``open``). ``sweep_expired`` judges the dossiers again once a day: a
dossier whose only video is an expired, unfetched link now has ``VIDEO_LINK_EXPIRED`` (an
error), and its applicant gets one 补正通知 asking for the video again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.processing.pipeline import Pipeline, findings_of
from bot.store.database import Store
from bot.store.facts_codec import loads_facts

log = logging.getLogger("intake.links")

DUE_DAYS = 3  # the digest lists links expiring within this many days


@dataclass(frozen=True)
class LinkRow:
    """One cloud-drive link of a current dossier, for ``intake links`` and the digest."""

    tracking: str
    applicant: str
    category: str
    provider: str
    url: str
    code: str | None
    expires_at: date | None
    state: str  # fetched | expired | due | open
    fetched_by: str | None = None


def link_rows(store: Store, *, today: date) -> list[LinkRow]:
    """Every cloud-drive link of every open dossier's current version, soonest expiry first."""
    fetched = store.fetched_links()
    rows: list[LinkRow] = []
    for d, v in store.current_versions():
        if d.state != "open":
            continue
        facts = loads_facts(v["facts"])
        links = list(facts.cloud_links)
        has_video = any(m.role == "video" for m in facts.materials)
        if not links and d.tracking in fetched:
            # The fetched version holds the video and no link; show the link of the version before.
            for older in reversed(store.versions_of(d.id)[:-1]):
                links = list(loads_facts(older["facts"]).cloud_links)
                if links:
                    break
        for link in links:
            if d.tracking in fetched or has_video:
                state = "fetched"
            elif link.expires_at is not None and link.expires_at < today:
                state = "expired"
            elif link.expires_at is not None and (link.expires_at - today).days <= DUE_DAYS:
                state = "due"
            else:
                state = "open"
            rows.append(LinkRow(d.tracking, d.applicant or "", d.category or "", link.provider,
                                link.url, link.code, link.expires_at, state,
                                fetched.get(d.tracking, (None, None))[0]))
    return sorted(rows, key=lambda r: (r.expires_at or date.max, r.tracking))


def sweep_expired(pipeline: Pipeline, store: Store, now: datetime) -> list[str]:
    """Judge every dossier again (links may have expired since) and queue one 补正通知 for each
    dossier that has just gained ``VIDEO_LINK_EXPIRED`` (one whose last reply already said so is
    not told twice; idempotent per version). Returns their tracking numbers."""
    told: list[str] = []
    with store.transaction():
        before = {d.tracking: {f.code for f in findings_of(v)} for d, v in store.current_versions()}
        # Only a dossier judged link-only (VIDEO_LINK_ONLY) can newly have its link expire: when
        # none is, judging every dossier again (O(N), already done by the batch) is skipped.
        if not any("VIDEO_LINK_ONLY" in codes for codes in before.values()):
            return told
        pipeline.refresh_verdicts()
        for d, v in store.current_versions():
            if d.state != "open" or v["verdict"] != "defective":
                continue
            if "VIDEO_LINK_EXPIRED" in before.get(d.tracking, set()):
                continue
            findings = findings_of(v)
            if not any(f.code == "VIDEO_LINK_EXPIRED" for f in findings):
                continue
            facts = loads_facts(v["facts"])
            queued = pipeline.replies.enqueue(
                store.conn, facts, findings, "defective", d.tracking, v["version"],
                dedupe_key=f"link_expired:{d.tracking}:v{v['version']}", now=now,
            )
            if queued is not None:
                told.append(d.tracking)
    for tracking in told:
        log.info("%s: the video link expired unfetched; 补正通知 queued", tracking)
    return told


def campaign_today(pipeline: Pipeline, now: datetime) -> date:
    """``now`` as a date in the campaign's time zone."""
    return now.astimezone(ZoneInfo(pipeline.campaign.timezone)).date()
