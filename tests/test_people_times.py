"""Every time a person reads is the campaign's (Beijing) time, whatever the machine's TZ: the 回执's
收到时间, the lateness note, ``intake show`` and the digest header (issue 17, item 1)."""

from __future__ import annotations

import email
import time
from datetime import UTC, datetime
from email import policy

import pytest

from bot.daemon import Intake
from bot.digest.build import gather
from bot.store.history import dossier_history, history_text
from outbox.documents.digest import render
from rules.wording import time_text
from tests.conftest import SAMPLES, copy_into, make_settings

COMPLETE = SAMPLES / "01-武汉示例智能制造-完整材料"
# 08:09 UTC on 2 December is 16:09 on 2 December in Beijing: one day after the city's deadline.
PINNED = datetime(2023, 12, 2, 8, 9, tzinfo=UTC)


@pytest.fixture(params=["UTC", "America/New_York", "Asia/Shanghai"])
def machine_tz(request, monkeypatch):
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def _bodies(folder) -> list[str]:
    out = []
    for path in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        out.append(msg.get_body(("plain",)).get_content())
    return out


def test_receipt_lateness_show_and_digest_read_beijing_time(tmp_path, machine_tz):
    """GIVEN the clock at 08:09 UTC on 2 Dec 2023 and a complete dossier, on a machine whose TZ is
    UTC, New York or Shanghai
    WHEN it is processed, shown, and digested
    THEN the 回执 says 收到时间 2023年12月2日 16:09（北京时间）, the lateness note 2023-12-02 16:09,
    ``intake show`` 16:09+08:00 and the digest header 2023年12月2日 16:09 — never 08:09 or 03:09."""
    settings = make_settings(tmp_path, campaign={"now": PINNED})
    copy_into(COMPLETE, settings.drop.folders[0])
    intake = Intake(settings)
    try:
        intake.run_once()
        (d,) = intake.store.dossiers()
        shown = history_text(dossier_history(intake.store, d.tracking, intake.campaign.timezone))
        digest_text, _html, _png = render(
            gather(settings, intake.store, intake.campaign), inline_cid=None
        )
    finally:
        intake.close()
    (body,) = _bodies(settings.outbox.folder)
    assert "收到时间：2023年12月2日 16:09（北京时间）" in body
    assert "收到时间 2023-12-02 16:09（北京时间），晚于市级截止日期 2023-12-01" in body
    assert "08:09" not in body and "03:09" not in body
    assert "16:09:00+08:00" in shown or "+08:00" in shown
    assert "08:09" not in shown and "03:09" not in shown
    assert "2023年12月2日 16:09（北京时间）" in digest_text.splitlines()[1]


def test_one_formatter_converts_aware_times_and_reads_naive_ones_as_campaign_time():
    assert time_text(PINNED) == "2023年12月2日 16:09"
    assert time_text(PINNED, zone=True) == "2023年12月2日 16:09（北京时间）"
    assert time_text(datetime(2023, 12, 1, 16, 0, tzinfo=UTC)) == "2023年12月2日 00:00"
    assert time_text(datetime(2023, 12, 2, 16, 9)) == "2023年12月2日 16:09"
    assert time_text(PINNED, "Europe/Berlin", zone=True) == "2023年12月2日 09:09（UTC+01:00）"
