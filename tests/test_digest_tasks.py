"""The digest says what officers must do (issue 17, item 7: a video sent only as a cloud-drive link
must be fetched and checked) and speaks no configuration jargon to them (item 13)."""

from __future__ import annotations

from bot.daemon import Intake
from bot.digest.build import gather
from outbox.documents.digest import render
from tests.conftest import SAMPLES, copy_into, make_settings

LINK_ONLY = SAMPLES / "08-蔡甸示例信息-视频为网盘链接.eml"


def test_a_video_sent_as_a_link_is_an_officer_task_in_the_digest(tmp_path):
    """GIVEN a mail whose video is only a cloud-drive link
    WHEN the digest is rendered
    THEN section 二 (需要经办人处理的事项) names the dossier, the link and the command that records
    the check; no section shows "[office] unit_kind"."""
    settings = make_settings(tmp_path)
    copy_into(LINK_ONLY, settings.drop.folders[0])
    intake = Intake(settings)
    try:
        intake.run_once()
        (d,) = intake.store.dossiers()
        data = gather(settings, intake.store, intake.campaign)
    finally:
        intake.close()
    text, html, _png = render(data, inline_cid=None)
    section = text.split("二、需要经办人处理的事项")[1].split("三、")[0]
    assert f"[{d.tracking}]" in section and "下载网盘视频并核验" in section and "pan." in section
    assert f"intake fetched {d.tracking}" in section
    assert "下载网盘视频并核验" in html
    assert "unit_kind" not in text and "[office]" not in text
