"""Stall alerts: the mailbox has not synced, or the outgoing queue has not moved, for too long.

Checked by the daemon after each pass; each stall mails the officers once (bot/health/alerts.py)
and is cleared when things move again, so the next stall is mailed too.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from bot.config.model import Settings
from bot.health.alerts import Alerts
from bot.health.report import LAST_SYNC
from bot.store.database import Store
from outbox.delivery import queue as outgoing

log = logging.getLogger("intake.health")


class StallWatch:
    """Compares the last mailbox sync and the oldest queued reply with ``[health] alert_after_s``."""

    def __init__(self, settings: Settings, store: Store, alerts: Alerts):
        self.settings = settings
        self.store = store
        self.alerts = alerts
        self.started = time.time()
        self.recorded_sync: float | None = None

    def check(self, *, last_sync_at: float | None, queue_now: datetime) -> None:
        """``last_sync_at``: POSIX time of the watcher's last successful sync (None: never, or
        no mailbox); ``queue_now``: the delivery clock (the queue's timestamps follow it)."""
        limit = self.settings.health.alert_after_s
        now = time.time()
        if last_sync_at is not None and last_sync_at != self.recorded_sync:
            self.store.set_meta(LAST_SYNC, datetime.fromtimestamp(last_sync_at, UTC).isoformat())
            self.recorded_sync = last_sync_at
        if self.settings.imap.enabled:
            since = last_sync_at or self.started
            if now - since > limit:
                i = self.settings.imap
                self.alerts.raise_(
                    "mailbox",
                    "【申报受理】邮箱同步中断",
                    f"申报受理程序已有 {(now - since) / 60:.0f} 分钟未能从邮箱 {i.username}@{i.host} "
                    "收取邮件（连接、登录或服务器故障）。\n这段时间发来的申报材料仍在邮箱中，"
                    "恢复后会自动收取，不会丢失；但企业暂时收不到回执。\n"
                    "请 IT 人员查看日志（journalctl -u dossier-intake）和 intake status。",
                    now=datetime.now(UTC),
                )
            else:
                self.alerts.clear("mailbox")
        oldest = outgoing.oldest_pending_at(self.store.conn)
        waited = None if oldest is None else queue_now.timestamp() - oldest
        if waited is not None and waited > limit:
            self.alerts.raise_(
                "queue",
                "【申报受理】回复邮件发送受阻",
                f"发件队列中最早的一封回复已等待 {waited / 60:.0f} 分钟仍未发出"
                "（发信服务器无法连接或持续拒收）。\n回复不会丢失，恢复后会自动补发。"
                "请 IT 人员检查发信设置（[smtp]）和 intake status。",
                now=datetime.now(UTC),
            )
        elif waited is None:
            self.alerts.clear("queue")
