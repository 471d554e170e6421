"""Issue 14, attacks 5 and 7: quota knock-out by impersonation, and applicant text in our outputs.

An embedded instance (drop-folder .eml inputs, replies to a file outbox, the real CLI by typer's
CliRunner): each test is the attack as the issue tried it.
"""

from __future__ import annotations

import base64
import email
import email.policy
import itertools
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.cli.main import app
from bot.config.model import load_settings
from bot.daemon import Intake
from outbox.documents.summary_table import SummaryRow, write_summary_table
from tests.factories import FormData, make_form_docx, make_scan_pdf, make_submission_eml, make_video

_n = itertools.count(1)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("trust-media")
    return make_scan_pdf(d / "全套扫描件.pdf"), make_video(d / "项目视频.mp4", 372)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[store]
data_dir = "{tmp_path / "store"}"
[drop]
folders = ["{tmp_path / "dropbox"}"]
processed_dir = "{tmp_path / "processed"}"
settle_s = 0.0
[outbox]
transport = "file"
folder = "{tmp_path / "outbox"}"
[campaign]
now = 2023-11-29T10:00:00+08:00
""",
        encoding="utf-8",
    )
    return path


def drop_mail(config: Path, media, form: FormData, *, sender: str, sender_name: str = "申报企业") -> None:
    """Put one submission mail (form, scan, video) in the drop folder; the From display name is
    written as one RFC 2047 word, so it may hold any character (as an attacker writes it)."""
    settings = load_settings(config)
    n = next(_n)
    d = config.parent / f"files-{n}"
    files = [make_form_docx(d / "申报书.docx", form), *media]
    raw = make_submission_eml(files, sender=sender, message_id=f"<t{n}@{sender.split('@')[1]}>")
    word = "=?UTF-8?B?" + base64.b64encode(sender_name.encode()).decode() + "?="
    head, sep, body = raw.partition(b"\n\n")
    lines = [f"From: {word} <{sender}>".encode() if ln.startswith(b"From:") else ln
             for ln in head.split(b"\n")]
    raw = b"\n".join(lines) + sep + body
    drop = settings.drop.folders[0]
    drop.mkdir(parents=True, exist_ok=True)
    (drop / f"{n:03d}.eml").write_bytes(raw)


def run_once(config: Path) -> Intake:
    intake = Intake(load_settings(config))
    try:
        intake.run_once()
    finally:
        intake.close()
    return intake


def replies(config: Path) -> dict[str, list[email.message.EmailMessage]]:
    """Replies in the file outbox by recipient."""
    out: dict[str, list[email.message.EmailMessage]] = {}
    for p in sorted(load_settings(config).outbox.folder.glob("*.eml")):
        msg = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        out.setdefault(str(msg["To"]).split("<")[-1].rstrip(">"), []).append(msg)
    return out


def _text(msg: email.message.EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()


def _findings(config: Path) -> dict[str, set[str]]:
    import json
    import sqlite3

    db = sqlite3.connect(load_settings(config).store.db_path)
    try:
        rows = db.execute(
            "SELECT v.facts, v.findings FROM dossiers d JOIN versions v ON v.dossier_id=d.id"
            " AND v.version=d.current_version"
        ).fetchall()
    finally:
        db.close()
    return {json.loads(f)["project_name"]: {x["code"] for x in json.loads(fs)} for f, fs in rows}


# -- attack 5 ----------------------------------------------------------------------------------


def test_two_fakes_filed_first_in_a_companys_name_do_not_knock_out_its_genuine_dossier(config, media):
    """GIVEN two dossiers in 武汉示例智能制造有限公司's public name and USCC, mailed first from an
    unrelated domain WHEN the company's own dossier arrives from its domain THEN it is accepted,
    not APPLICANT_OVER_LIMIT; every dossier of the group carries APPLICANT_SENDER_CONFLICT for
    the officers, and no reply mentions the other sender."""
    for name in ("伪造项目一", "伪造项目二"):
        drop_mail(config, media, FormData(project_name=name), sender="fake@evil.example.net")
    drop_mail(config, media, FormData(project_name="真实的智能工厂项目"), sender="wangxm@wuhan-demo.com.cn")
    run_once(config)
    found = _findings(config)
    assert "APPLICANT_OVER_LIMIT" not in found["真实的智能工厂项目"]
    assert all("APPLICANT_SENDER_CONFLICT" in codes for codes in found.values())
    (genuine,) = replies(config)["wangxm@wuhan-demo.com.cn"]
    assert genuine["X-Intake-Verdict"] == "accepted"
    assert "evil.example.net" not in _text(genuine)


def test_the_same_company_from_its_own_domain_is_still_counted(config, media):
    """Near miss: three dossiers from two colleagues at the company's domain: the third is over."""
    for n, name in enumerate(("项目一", "项目二", "项目三")):
        drop_mail(config, media, FormData(project_name=name), sender=f"staff{n}@wuhan-demo.com.cn")
    run_once(config)
    found = _findings(config)
    assert "APPLICANT_OVER_LIMIT" in found["项目三"]
    assert not any("APPLICANT_SENDER_CONFLICT" in codes for codes in found.values())


# -- attack 7 ----------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example.net/x","点击查看")', "=cmd|' /C calc'!A0",
            "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)"]


def test_summary_table_writes_applicant_text_as_strings_never_formulas(tmp_path):
    rows = [SummaryRow(f, f, f, f"王{chr(7)}小明{chr(27)}", "13800138000", "a@example.com") for f in FORMULAS]
    path = write_summary_table(tmp_path / "汇总表.xlsx", rows, title="汇总表", unit="=1+1")
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet  # no formula anywhere
    ws = load_workbook(path)["汇总表"]
    values = [ws.cell(row=4 + i, column=2).value for i in range(len(FORMULAS))]
    assert values == FORMULAS
    assert all(ws.cell(row=4 + i, column=2).data_type == "s" for i in range(len(FORMULAS)))
    assert ws.cell(row=4, column=5).value == "王小明"


def test_control_character_in_a_from_display_name_does_not_break_intake_summary(config, media, tmp_path):
    """GIVEN a dossier whose contact name comes from a From display name holding BEL and ESC
    WHEN ``intake summary`` runs THEN it writes the 汇总表 (on main it crashed on every run)."""
    drop_mail(config, media, FormData(contact_name="", project_name="=HYPERLINK(\"http://x\")"),
              sender="clerk@example.com", sender_name=f"王{chr(7)}小明{chr(27)}[31m")
    run_once(config)
    out = tmp_path / "汇总表.xlsx"
    res = CliRunner().invoke(app, ["--config", str(config), "summary", "--out", str(out)])
    assert res.exit_code == 0, res.output
    wb = load_workbook(out)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert any(c.value == '=HYPERLINK("http://x")' and c.data_type == "s" for c in cells)
    assert not any(c.data_type == "f" for c in cells)


def test_show_and_status_escape_control_characters(config, media):
    """ESC/BEL in a file name and in a company name (from the From display name, the form naming
    none) are printed as visible escapes by ``intake show`` and ``intake status``."""
    settings = load_settings(config)
    d = config.parent / "files-esc"
    form = make_form_docx(d / f"申报书{chr(27)}]0;pwned{chr(7)}.docx", FormData(applicant="", contact_name=""))
    raw = make_submission_eml([form, *media], sender="clerk@example.com", message_id="<esc@example.com>")
    word = "=?UTF-8?B?" + base64.b64encode(f"武汉示例{chr(27)}[2J公司".encode()).decode() + "?="
    raw = b"\n".join(f"From: {word} <clerk@example.com>".encode() if ln.startswith(b"From:") else ln
                     for ln in raw.split(b"\n"))
    settings.drop.folders[0].mkdir(parents=True, exist_ok=True)
    (settings.drop.folders[0] / "esc.eml").write_bytes(raw)
    run_once(config)
    tracking = next(iter(replies(config).values()))[0]["X-Intake-Tracking"]
    shown = CliRunner().invoke(app, ["--config", str(config), "show", tracking])
    assert shown.exit_code == 0, shown.output
    status = CliRunner().invoke(app, ["--config", str(config), "status"])
    assert status.exit_code == 0, status.output
    for out in (shown.output, status.output):
        assert chr(27) not in out and chr(7) not in out
    assert "\\x1b" in shown.output


def test_project_duplicate_tells_the_applicant_no_server_path_or_folder_name(config, media):
    """GIVEN one project dropped as a folder, then mailed again WHEN the mail is judged a duplicate
    THEN its 补正通知 names the earlier submission by its date, not by the server path or the
    other dossier's folder name (on main it quoted both)."""
    import shutil

    settings = load_settings(config)
    form = FormData(project_name="重复的智能工厂项目")
    folder = settings.drop.folders[0] / "甲单位内部材料夹"
    folder.mkdir(parents=True)
    make_form_docx(folder / "申报书.docx", form)
    for m in media:
        shutil.copy(m, folder / m.name)
    run_once(config)
    drop_mail(config, media, form, sender="li@wuhan-demo.com.cn")
    run_once(config)
    (notice,) = replies(config)["li@wuhan-demo.com.cn"]
    body = _text(notice)
    line = next(ln for ln in body.splitlines() if "重复申报（" in ln)
    for internal in ("甲单位内部材料夹", str(settings.store.data_dir), "input-", "/"):
        assert internal not in line, line


def test_characters_removed_are_those_openpyxl_refuses():
    """outbox/documents/cell_text.py keeps its own copy of openpyxl's pattern (so importing it does
    not load openpyxl, ~0.2 s at every start): the copy must stay openpyxl's."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    from outbox.documents.cell_text import _ILLEGAL, clean_text

    assert _ILLEGAL.pattern == ILLEGAL_CHARACTERS_RE.pattern
    assert clean_text("申报\x00书\x0b\t\n") == "申报书\t\n"
