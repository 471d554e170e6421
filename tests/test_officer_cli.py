"""Officers' decisions from the terminal: waive, reject, restore, note and show on an embedded
instance (typer's CliRunner), the append-only audit table, waivers holding for resubmissions."""

from __future__ import annotations

import email
import email.policy
import json
import re
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.config.model import load_settings
from bot.daemon import Intake
from bot.store.database import Store
from bot.store.decisions import decisions_for
from bot.upstream.summary import build_summary
from tests.conftest import SAMPLES
from tests.factories import (
    FormData,
    break_uscc,
    make_form_docx,
    make_scan_pdf,
    make_submission_eml,
    make_uscc,
    make_video,
)

WRONG_USCC = SAMPLES / "04-光谷示例安全-信用代码错误"


def _config(root: Path, officers: str = "") -> Path:
    """A config file for an embedded instance under ``root`` (what the CLI reads)."""
    path = root / "config.toml"
    path.write_text(
        f"""
[store]
data_dir = "{root / "store"}"
[drop]
folders = ["{root / "dropbox"}"]
processed_dir = "{root / "processed"}"
settle_s = 0.0
[outbox]
transport = "file"
folder = "{root / "outbox"}"
[campaign]
now = 2023-11-29T10:00:00+08:00
[office]
{officers}
""",
        encoding="utf-8",
    )
    return path


def _eml(settings) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(settings.outbox.folder.glob("*.eml"))
    ]


def _body(msg) -> str:
    return msg.get_body(("plain",)).get_content()


@pytest.fixture
def instance(tmp_path):
    """An embedded instance holding one dossier whose 统一社会信用代码 fails its check character."""
    config = _config(tmp_path, 'officers = [{name = "张科长", email = "zhang@bureau.example.org"}]')
    settings = load_settings(config)
    shutil.copytree(WRONG_USCC, settings.drop.folders[0] / WRONG_USCC.name)
    intake = Intake(settings)
    try:
        intake.run_once()
        (dossier,) = intake.store.dossiers()
    finally:
        intake.close()
    assert dossier.verdict == "defective"
    return config, settings, dossier.tracking


def _intake(config: Path, *args: str):
    return CliRunner().invoke(app, ["--config", str(config), *args])


def test_waive_by_cli_changes_the_verdict_and_sends_an_updated_receipt(instance):
    """GIVEN a dossier judged defective only for USCC_INVALID (a legacy code that is legal)
    WHEN an officer runs ``intake waive T USCC_INVALID --reason …``
    THEN the verdict becomes accepted, the applicant gets a 回执（更新） saying the item was
    accepted by the bureau, and ``intake show`` lists the decision with who and why."""
    config, settings, tracking = instance
    res = _intake(config, "waive", tracking, "uscc_invalid", "--reason", "老证照代码，经核实合法",
                  "--officer", "zhang@bureau.example.org")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "需补正 → 受理" in res.output
    intake = Intake(settings)
    try:
        (dossier,) = intake.store.dossiers()
        assert (dossier.verdict, dossier.state) == ("accepted", "open")
        report = intake.run_once()
        assert len(report.delivered) == 1
    finally:
        intake.close()
    updated = [m for m in _eml(settings) if m["X-Intake-Decision"] == "waive"]
    (receipt,) = updated
    assert (
        receipt["Subject"].startswith("【回执（更新）】") and f"[{tracking}]" in receipt["Subject"]
    )
    assert (receipt["X-Intake-Verdict"], receipt["To"]) == ("accepted", "contact4@example.com")
    body = _body(receipt)
    assert "1. “统一社会信用代码无效”（统一社会信用代码「" in body
    assert "经我局审核同意，不再要求补正。审核意见：老证照代码，经核实合法" in body
    assert "USCC_INVALID" not in body
    assert receipt["In-Reply-To"]  # threaded under our 补正通知
    shown = _intake(config, "show", tracking)
    assert shown.exit_code == 0
    assert "张科长（cli）豁免 USCC_INVALID：老证照代码，经核实合法" in shown.output
    assert "回执（更新）" in shown.output and "已豁免：USCC_INVALID" in shown.output
    # the officer reads the desk's words, not its internal names
    assert "（全套扫描件，" in shown.output and "（申报书，" in shown.output
    for internal in ("scanned_copy", "application_form", "[error]", "（sent）"):
        assert internal not in shown.output, internal
    data = json.loads(_intake(config, "show", tracking, "--json").output)
    assert [(d["action"], d["code"], d["officer"]) for d in data["decisions"]] == [
        ("waive", "USCC_INVALID", "张科长")
    ]
    assert {f["name"] for f in data["versions"][0]["files"]} == {
        "申报书.docx", "全套扫描件.pdf", "项目视频.mp4",
    }  # fmt: skip
    video = next(f for f in data["versions"][0]["files"] if f["role"] == "video")
    assert video["duration_s"] == pytest.approx(330, abs=1) and len(video["sha256"]) == 64


def test_reject_restore_and_note_by_cli(instance):
    """GIVEN an accepted dossier WHEN rejected (不予推荐), noted, then restored THEN its state
    follows, the 汇总表 leaves it out while rejected, the applicant gets a polite notice with the
    reason and then a restore notice, and the note is never sent."""
    config, settings, tracking = instance
    assert _intake(config, "waive", tracking, "USCC_INVALID", "--reason", "老代码").exit_code == 0
    res = _intake(config, "reject", tracking, "--reason", "项目已获2022年试点示范，不得重复申报")
    assert res.exit_code == 0, res.output
    assert _intake(config, "reject", tracking, "--reason", "again").exit_code == 1
    _, counts = build_summary(settings, settings.store.data_dir / "汇总表.xlsx")
    assert counts["recommended"] == 0
    assert _intake(config, "note", tracking, "企业来电，表示理解").exit_code == 0
    assert _intake(config, "restore", tracking).exit_code == 0
    assert _intake(config, "restore", tracking).exit_code == 1  # not rejected any more
    _, counts = build_summary(settings, settings.store.data_dir / "汇总表.xlsx")
    assert counts["recommended"] == 1
    store = Store.open(settings.store.db_path, settings.store.archive_dir)
    try:
        assert [d.action for d in decisions_for(store, tracking)] == [
            "waive", "reject", "note", "restore",
        ]  # fmt: skip
        kinds = [r[0] for r in store.conn.execute("SELECT kind FROM outgoing ORDER BY id")]
        assert kinds == ["defect_notice", "decision_waive", "decision_reject", "decision_restore"]
        assert store.dossier_by_tracking(tracking).state == "open"
    finally:
        store.close()
    intake = Intake(settings)
    try:
        intake.deliver()
    finally:
        intake.close()
    by_kind = {m["X-Intake-Decision"]: m for m in _eml(settings)}
    assert by_kind["reject"]["Subject"].startswith("【不予推荐通知】")
    assert "原因：项目已获2022年试点示范，不得重复申报" in _body(by_kind["reject"])
    assert "已恢复推荐" in _body(by_kind["restore"])
    assert not any("企业来电" in _body(m) for m in _eml(settings))


def test_restore_of_a_defective_dossier_lists_what_is_outstanding(instance):
    """GIVEN a dossier still defective (wrong 统一社会信用代码) that was rejected (不予推荐)
    WHEN the officer restores it THEN the applicant is not told 已恢复推荐: the notice says the
    dossier is back in the bureau's list and the 统一社会信用代码 problem is still to correct."""
    config, settings, tracking = instance
    assert _intake(config, "reject", tracking, "--reason", "核实中").exit_code == 0
    res = _intake(config, "restore", tracking, "--reason", "已核实，继续办理")
    assert res.exit_code == 0 and "当前结论：需补正" in res.output
    intake = Intake(settings)
    try:
        intake.deliver()
    finally:
        intake.close()
    (restore,) = [m for m in _eml(settings) if m["X-Intake-Decision"] == "restore"]
    body = _body(restore)
    assert "恢复推荐" not in body and restore["Subject"].startswith("【复核结果通知】")
    assert "本项目已重新列入我局的申报受理名单" in body and "说明：已核实，继续办理" in body
    assert "仍有以下 1 个问题需要补正" in body and "统一社会信用代码" in body


def test_a_waiver_of_a_problem_the_dossier_does_not_have_is_refused_unless_forced(instance):
    """GIVEN a dossier whose only problem is its 统一社会信用代码
    WHEN an officer waives VIDEO_TOO_SHORT (a typo, or the wrong dossier)
    THEN it is refused with a clear message and nothing is recorded; with ``--force`` it is
    recorded for later versions and the applicant is not told."""
    config, settings, tracking = instance
    res = _intake(config, "waive", tracking, "VIDEO_TOO_SHORT", "--reason", "科长同意")
    assert res.exit_code == 1
    assert f"{tracking} 该项目当前没有“视频时长不足 5 分钟”（VIDEO_TOO_SHORT）问题" in res.output
    assert "--force" in res.output
    res = _intake(config, "waive", tracking, "VIDEO_TOO_SHORT", "--reason", "科长同意", "--force")
    assert res.exit_code == 0, res.output
    assert res.stdout.count("\n") == 1 and "未通知申报单位" in res.stdout
    store = Store.open(settings.store.db_path, settings.store.archive_dir)
    try:
        assert [(d.action, d.code) for d in decisions_for(store, tracking)] == [
            ("waive", "VIDEO_TOO_SHORT")
        ]
        assert store.dossier_by_tracking(tracking).verdict == "defective"
    finally:
        store.close()


def test_cli_output_is_one_line_saying_the_notice_is_queued(instance):
    """WHEN an officer waives or rejects on the server THEN the output is one line that says the
    applicant's notice is queued for the daemon or the next ``intake run --once`` (not that the
    applicant was told already)."""
    config, _settings, tracking = instance
    for args in (("waive", tracking, "USCC_INVALID", "--reason", "老代码"),
                 ("reject", tracking, "--reason", "重复申报")):  # fmt: skip
        res = _intake(config, *args)
        assert res.exit_code == 0, res.output
        assert res.stdout.count("\n") == 1, res.stdout
        assert "给申报单位的通知已排队，将由运行中的 intake run 或下一次 intake run --once 发出" in (
            res.output
        )
        assert "已通知申报单位" not in res.output


def test_show_gives_every_time_in_beijing_time(instance):
    """GIVEN a dossier with a version, a 补正通知 and a decision WHEN shown (text and JSON)
    THEN every time carries +08:00, as in the mails and the digest."""
    config, _settings, tracking = instance
    assert _intake(config, "note", tracking, "已电话联系").exit_code == 0
    text = _intake(config, "show", tracking).output
    stamps = re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^\s（，]*", text)
    assert len(stamps) >= 3 and all(s.endswith("+08:00") for s in stamps), stamps
    data = json.loads(_intake(config, "show", tracking, "--json").output)
    times = [data["created_at"], data["versions"][0]["created_at"],
             data["replies"][0]["created_at"], data["decisions"][0]["at"]]  # fmt: skip
    assert all(t.endswith("+08:00") for t in times), times


def test_cli_names_unknown_tracking_numbers_and_codes(instance):
    config, _settings, tracking = instance
    res = _intake(config, "waive", "IIP2023-420100-0099-X", "USCC_INVALID", "--reason", "x")
    assert res.exit_code == 1 and "不存在" in res.output
    res = _intake(config, "waive", tracking, "NO_SUCH_CODE", "--reason", "x")
    assert res.exit_code == 1 and "NO_SUCH_CODE" in res.output
    res = _intake(config, "show", "IIP2023-420100-0099-X")
    assert res.exit_code == 1
    res = _intake(config, "waive", tracking, "USCC_INVALID", "--reason", " ")
    assert res.exit_code == 1 and "原因" in res.output


def test_the_audit_table_refuses_update_and_delete(instance):
    """Nothing in the audit trail is ever edited or deleted: the triggers abort both."""
    config, settings, tracking = instance
    assert _intake(config, "note", tracking, "第一条备注").exit_code == 0
    conn = sqlite3.connect(settings.store.db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE decisions SET reason='改过' WHERE tracking=?", (tracking,))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM decisions")
        assert conn.execute("SELECT reason FROM decisions").fetchall() == [("第一条备注",)]
    finally:
        conn.close()


def test_a_waiver_holds_for_the_next_version(tmp_path):
    """GIVEN a mailed dossier with a wrong 统一社会信用代码 and a 4-minute video, and an officer's
    waiver of USCC_INVALID (errors remain: the applicant gets an updated 补正通知)
    WHEN the applicant resubmits only a 6-minute video
    THEN version 2 is accepted although the form still carries the same code."""
    config = _config(tmp_path)
    settings = load_settings(config)
    files = tmp_path / "files"
    make_form_docx(files / "申报书.docx",
                   FormData(uscc=break_uscc(make_uscc("91420100MA4K00001")), email="clerk@example.com"))  # fmt: skip
    make_scan_pdf(files / "全套扫描件.pdf")
    make_video(files / "项目视频.mp4", 240)
    drop = settings.drop.folders[0]
    drop.mkdir(parents=True, exist_ok=True)
    (drop / "first.eml").write_bytes(make_submission_eml(
        sorted(files.iterdir()), sender="clerk@example.com", message_id="<first@mail.example.com>"))  # fmt: skip
    intake = Intake(settings)
    try:
        intake.run_once()
        (dossier,) = intake.store.dossiers()
        tracking = dossier.tracking
        res = _intake(config, "waive", tracking, "USCC_INVALID", "--reason", "老代码")
        assert res.exit_code == 0 and "需补正 → 需补正" in res.output
        intake.deliver()
        (updated,) = [m for m in _eml(settings) if m["X-Intake-Decision"] == "waive"]
        assert updated["X-Intake-Verdict"] == "defective"
        assert updated["Subject"].startswith("【补正通知（更新）】")
        assert "经我局审核同意，不再要求补正。审核意见：老代码" in _body(updated)
        assert "视频" in _body(updated)
        make_video(tmp_path / "new" / "项目视频（修改后）.mp4", 372)
        (drop / "second.eml").write_bytes(make_submission_eml(
            [tmp_path / "new" / "项目视频（修改后）.mp4"], sender="clerk@example.com",
            subject=f"回复：{updated['Subject']}", message_id="<second@mail.example.com>",
            date=datetime(2023, 11, 29, 12, 0, tzinfo=UTC)))  # fmt: skip
        intake.run_once()
        (dossier,) = intake.store.dossiers()
        assert (dossier.current_version, dossier.verdict) == (2, "accepted")
        v2 = intake.store.versions_of(dossier.id)[-1]
        assert [f["code"] for f in json.loads(v2["findings"])] == []
    finally:
        intake.close()
    receipts = [m for m in _eml(settings) if m["X-Intake-Version"] == "2"]
    assert [m["X-Intake-Verdict"] for m in receipts] == ["accepted"]
