"""The digest schedule inside the daemon (APScheduler 3 BackgroundScheduler, not cron).

Times come from ``[digest] times`` (``HH:MM``) in the campaign's time zone (Asia/Shanghai for
the 2023 campaign), every day; with ``on_deadline_day`` one more digest at 17:00 on this level's
deadline day (the profile's ``levels.<level>.deadline``). A missed run (daemon down) fires once
within an hour of its time (``misfire_grace_time``), never twice (``coalesce``).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from bot.config.model import parse_hhmm
from bot.processing.instance import Instance
from rules.campaign import CampaignError

log = logging.getLogger("intake.scheduler")

DEADLINE_DAY_TIME = (17, 0)
MISFIRE_GRACE_S = 3600


def digest_job(intake: Instance) -> None:
    """Queue one digest per officer and wake the daemon to deliver them (never raises)."""
    from bot.digest.build import queue_digests

    try:
        n = queue_digests(intake, now=datetime.now(ZoneInfo(intake.campaign.timezone)))
        log.info("digest queued for %d officer(s)", n)
        intake.wake.set()
    except Exception:  # a failed digest must not stop the scheduler
        log.exception("digest failed")


def build_scheduler(intake: Instance) -> BackgroundScheduler:
    """A scheduler (not started) holding the digest jobs configured for ``intake``.

    Raises ValueError for a time that is not ``HH:MM``.
    """
    tz = ZoneInfo(intake.campaign.timezone)
    scheduler = BackgroundScheduler(timezone=tz, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_S})
    cfg = intake.settings.digest
    if not cfg.enabled:
        return scheduler
    for text in cfg.times:
        hour, minute = _hhmm(text)
        scheduler.add_job(digest_job, CronTrigger(hour=hour, minute=minute, timezone=tz),
                          args=[intake], id=f"digest-{hour:02d}{minute:02d}")
    if cfg.on_deadline_day:
        try:
            deadline = intake.campaign.level(intake.settings.office.level).deadline
        except CampaignError:
            deadline = None
        if deadline is not None:
            when = datetime(deadline.year, deadline.month, deadline.day, *DEADLINE_DAY_TIME, tzinfo=tz)
            if when > datetime.now(tz):
                scheduler.add_job(digest_job, DateTrigger(run_date=when, timezone=tz),
                                  args=[intake], id="digest-deadline-day")
    return scheduler


def _hhmm(text: str) -> tuple[int, int]:
    try:
        return parse_hhmm(text)  # checked when the settings were loaded, too
    except ValueError as exc:
        raise ValueError(f"[digest] times: {exc}") from None


def start_scheduler(intake: Instance, stop: threading.Event) -> BackgroundScheduler:
    """Start the digest schedule for the daemon; the daemon calls ``shutdown`` when it stops."""
    scheduler = build_scheduler(intake)
    scheduler.start()
    for job in scheduler.get_jobs():
        log.info("digest scheduled: %s, next %s", job.id, job.next_run_time)
    return scheduler
