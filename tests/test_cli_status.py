"""What officers read on the terminal: ``intake status`` tables at 80 columns and ``intake
doctor``'s tool rows."""

from __future__ import annotations

import shutil

from rich.console import Console

from bot.cli.doctor import doctor_table
from bot.cli.status import dossier_table, status_data
from bot.daemon import Intake
from bot.store.decisions import reject
from tests.conftest import SAMPLES, make_settings

LONG = SAMPLES / "04-光谷示例安全-信用代码错误"


def render(table, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_status_marks_rejected_dossiers_and_never_wraps_tracking_numbers(tmp_path):
    """GIVEN two dossiers, one rejected (不予推荐), with long names and findings
    WHEN ``intake status`` renders them on an 80-column terminal
    THEN each tracking number stands whole on one line, and the rejected one is marked."""
    settings = make_settings(tmp_path)
    for name in ("甲", "乙"):
        shutil.copytree(LONG, settings.drop.folders[0] / f"{LONG.name}-{name}")
    intake = Intake(settings)
    try:
        intake.run_once()
        first, second = (d.tracking for d in intake.store.dossiers())
        with intake.store.transaction():
            reject(intake.store, second, officer="张科长", reason="重复申报")
    finally:
        intake.close()
    text = render(dossier_table(settings))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    row_of = {t: next(i for i, line in enumerate(lines) if t in line) for t in (first, second)}
    assert "不予推荐" in "".join(lines[row_of[second] : row_of[second] + 3])
    assert "不予推荐" not in "".join(lines[row_of[first] : row_of[second]])
    states = {d["tracking"]: d["state"] for d in status_data(settings)["dossiers"]}
    assert states == {first: "open", second: "rejected"}


def test_doctor_names_the_tool_found_for_rar_archives() -> None:
    """The rar row reads as 'a RAR extractor is present: this one', whichever of unrar, unar,
    bsdtar or 7z was found (7z alone used to show as 'unrar … /usr/bin/7z')."""
    table, _ok = doctor_table()
    text = render(table, width=120)
    (row,) = [line for line in text.splitlines() if "RAR extractor" in line]
    found = next((n for n in ("unrar", "unar", "bsdtar", "7z") if shutil.which(n)), None)
    if found is None:
        assert "absent" in row and "unrar, unar, bsdtar, 7z" in row
    else:
        assert f"{found}: {shutil.which(found)}" in row and "present" in row
    assert "unrar (optional)" not in text
