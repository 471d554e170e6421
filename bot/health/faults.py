"""The daemon's guard against store faults: roll back, wait with backoff, retry; tell officers once.

A full disk, an I/O error or a lock another process holds longer than ``[store] busy_timeout_s``
(bot/store/faults.py) stops one pass, never the daemon: the pass's transaction was rolled back
(nothing half-written, nothing acknowledged to a mail server), the wait doubles from 1 s to
``[health] fault_retry_max_s``, and the officers get one mail per episode.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from bot.health.alerts import Alerts
from bot.store.faults import is_store_fault

log = logging.getLogger("intake.health")

T = TypeVar("T")


class FaultGuard:
    """Runs a pass; a store fault is logged, alerted once and waited out (``stop`` ends the wait)."""

    def __init__(self, alerts: Alerts, *, retry_max_s: float, clock: Callable[[], datetime]):
        self.alerts = alerts
        self.retry_max_s = retry_max_s
        self.clock = clock
        self.delay_s = 1.0
        self.faults = 0  # consecutive faulted passes (0: healthy)

    def run(self, what: str, fn: Callable[[], T], stop: threading.Event) -> T | None:
        """``fn()``; on a store fault return None after the backoff wait. Other errors propagate."""
        try:
            result = fn()
        except Exception as exc:
            if not is_store_fault(exc):
                raise
            self.faults += 1
            log.error("%s: the store cannot be written (%s); nothing was lost, retrying in %.0f s",
                      what, _cause(exc), self.delay_s)
            self.alerts.raise_(
                "store",
                "【申报受理】存储故障：新材料暂时无法保存",
                "申报受理程序暂时无法写入存储（磁盘已满、读写错误或数据库被其他程序长时间占用）。\n"
                f"错误：{_cause(exc)}\n\n"
                "已收到的邮件不会丢失：邮箱中的邮件在保存成功前不会标记为已读，程序会自动重试。\n"
                "请 IT 人员检查存储所在磁盘的剩余空间和读写状态。恢复后无需任何操作。",
                now=self.clock(),
            )
            stop.wait(self.delay_s)
            self.delay_s = min(self.delay_s * 2, self.retry_max_s)
            return None
        if self.faults:
            log.warning("%s: the store can be written again after %d failed pass(es)", what, self.faults)
            self.alerts.clear("store")
        self.faults = 0
        self.delay_s = 1.0
        return result


def _cause(exc: BaseException) -> str:
    e: BaseException = exc
    while e.__cause__ is not None:
        e = e.__cause__
    return f"{type(e).__name__}: {e}"
