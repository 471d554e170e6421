"""Each public case through `intake check --json`, as an officer or an enterprise would run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app

CASES = Path(__file__).resolve().parent / "cases"


def check(*paths: Path) -> tuple[int, dict]:
    res = CliRunner().invoke(app, ["check", "--json", *map(str, paths)])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.stdout)


def materials(d: dict) -> dict[str, dict]:
    return {m["name"]: m for m in d["materials"]}


@pytest.mark.parametrize("case", ["C01", "C03"])
def test_attachment_names_decode(case: str) -> None:
    expected = json.loads((CASES / case / "expected.json").read_text(encoding="utf-8"))
    _, out = check(CASES / case / "input" / expected["message"])
    got = materials(out["dossiers"][0])
    for att in expected["attachments"]:
        assert got[att["filename"]]["sha256"] == att["sha256"]
        assert got[att["filename"]]["role"] == "application_form"
    assert "____________________.docx" not in got


@pytest.mark.parametrize("message", ["a_forward_7bit.eml", "b_forward_base64.eml"])
def test_forwarded_mail_materials_found_once(message: str) -> None:
    expected = json.loads((CASES / "C06" / "expected.json").read_text(encoding="utf-8"))["per_message"]
    _, out = check(CASES / "C06" / "input" / message)
    (d,) = out["dossiers"]
    names = [m["name"] for m in d["materials"]]
    assert sorted(names) == sorted(a["filename"] for a in expected["attachments"])
    got = materials(d)
    for att in expected["attachments"]:
        assert got[att["filename"]]["sha256"] == att["sha256"]
    assert not any(f["code"] in ("FILE_UNREADABLE", "FILE_FORBIDDEN") for f in d["findings"])
    assert d["contact"]["name"] == expected["applicant_name"]


def test_zip_slip_archive(tmp_path) -> None:
    expected = json.loads((CASES / "C10" / "expected.json").read_text(encoding="utf-8"))
    _, out = check(CASES / "C10" / "input" / expected["archive"])
    (d,) = out["dossiers"]
    got = materials(d)
    for doc in expected["documents_found"]:
        assert got[doc["path"]]["sha256"] == doc["sha256"]
    assert any(f["code"] == "ARCHIVE_UNSAFE" for f in d["findings"])
    for p in ("/tmp/zipslip_申报_c10.txt", "/tmp/zipslip_abs_c10.txt"):
        assert not Path(p).exists()
    assert not any(n.startswith(("/", "..")) or "链接" in n for n in got)


@pytest.mark.parametrize(
    ("case", "name", "duration", "tolerance", "code"),
    [
        ("C13", "项目展示_浏览器录制.webm", 372, 1.5, None),
        ("C13", "直播回放.flv", 372, 1.5, None),
        ("C15", "a_完整_moov在末尾.mp4", 372.5, 0.5, None),
        ("C15", "b_截断_moov在末尾.mp4", None, None, "VIDEO_UNREADABLE"),
        ("C15", "c_截断_faststart.mp4", None, None, "VIDEO_UNREADABLE"),
    ],
)
def test_video_durations_and_truncation(case, name, duration, tolerance, code) -> None:
    _, out = check(CASES / case / "input" / name)
    (d,) = out["dossiers"]
    (m,) = d["materials"]
    codes = {f["code"] for f in d["findings"]}
    if duration is None:
        assert m["duration_s"] is None and code in codes
    else:
        assert abs(m["duration_s"] - duration) <= tolerance
        assert not codes & {"VIDEO_UNREADABLE", "VIDEO_TOO_SHORT", "VIDEO_TOO_LONG"}
