"""The run/status table at 80 columns (issue 17, item 12): finding codes whole, the verdict shown
(no column of "-"), and each reply listed once."""

from __future__ import annotations

import shutil

from rich.console import Console

from bot.cli.status import dossier_table
from bot.daemon import Intake
from tests.conftest import SAMPLES, make_settings


def test_codes_stand_whole_and_the_verdict_replaces_the_empty_state_column(tmp_path):
    settings = make_settings(tmp_path)
    for name in ("02-江城示例数据-视频过短", "05a-东湖示例集团-项目A", "05b-东湖示例集团-项目B",
                 "05c-东湖示例集团-项目C"):
        shutil.copytree(SAMPLES / name, settings.drop.folders[0] / name)
    intake = Intake(settings)
    try:
        intake.run_once()
    finally:
        intake.close()
    console = Console(width=80, record=True, color_system=None)
    console.print(dossier_table(settings))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    for code in ("VIDEO_TOO_SHORT", "APPLICANT_OVER_LIMIT"):
        assert code in text, text
    assert "state" not in text.splitlines()[2]
    assert "受理" in text and "需补正" in text
