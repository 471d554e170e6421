"""Resubmissions thread onto their dossier; processing is idempotent and resumes after a crash."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime

from bot.daemon import Intake
from tests.conftest import make_settings
from tests.factories import FormData, make_form_docx, make_scan_pdf, make_submission_eml, make_video


def _mail_submission(tmp_path, video_s: float) -> bytes:
    d = tmp_path / f"files-{video_s}"
    make_form_docx(d / "申报书.docx", FormData(email="clerk@example.com"))
    make_scan_pdf(d / "全套扫描件.pdf")
    make_video(d / "项目视频.mp4", video_s)
    return make_submission_eml(sorted(d.iterdir()), sender="clerk@example.com",
                               message_id="<first@mail.example.com>")


def _replies(settings) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(settings.outbox.folder.glob("*.eml"))
    ]


def test_reply_to_defect_notice_becomes_version_two(tmp_path):
    """GIVEN a mailed dossier with a 4-minute video, answered with a 补正通知
    WHEN the clerk replies to it with only a new 6-minute video
    THEN the same dossier gets version 2, judged accepted, and a 回执; no new dossier appears."""
    settings = make_settings(tmp_path)
    drop = settings.drop.folders[0]
    drop.mkdir(parents=True, exist_ok=True)
    (drop / "first.eml").write_bytes(_mail_submission(tmp_path, 240))
    intake = Intake(settings)
    try:
        intake.run_once()
        (notice,) = _replies(settings)
        assert notice["X-Intake-Verdict"] == "defective"
        tracking = notice["X-Intake-Tracking"]
        make_video(tmp_path / "new" / "项目视频（修改后）.mp4", 372)
        reply = make_submission_eml(
            [tmp_path / "new" / "项目视频（修改后）.mp4"],
            sender="clerk@example.com",
            subject=f"回复：{notice['Subject']}",
            message_id="<second@mail.example.com>",
            date=datetime(2023, 11, 29, 12, 0, tzinfo=UTC),
        )
        msg = email.message_from_bytes(reply, policy=email.policy.default)
        msg["In-Reply-To"] = notice["Message-ID"]
        (drop / "second.eml").write_bytes(msg.as_bytes())
        report = intake.run_once()
        assert report.outcomes[0].trackings == [tracking]
        dossiers = intake.store.dossiers()
        assert [(d.tracking, d.current_version, d.verdict) for d in dossiers] == [(tracking, 2, "accepted")]
        versions = intake.store.versions_of(dossiers[0].id)
        facts = json.loads(versions[1]["facts"])
        names = sorted(m["name"] for m in facts["materials"])
        assert names == ["全套扫描件.pdf", "申报书.docx", "项目视频（修改后）.mp4"]
    finally:
        intake.close()
    replies = {m["X-Intake-Verdict"]: m for m in _replies(settings)}
    assert sorted(replies) == ["accepted", "defective"]
    receipt = replies["accepted"]
    assert receipt["X-Intake-Tracking"] == tracking
    assert receipt["In-Reply-To"] == "<second@mail.example.com>"


def test_processing_again_creates_nothing_and_sends_nothing(tmp_path):
    """GIVEN an input processed and answered WHEN it is put back in the queue (as after a crash
    between commit and acknowledgement) THEN no second version and no second reply exist."""
    settings = make_settings(tmp_path)
    drop = settings.drop.folders[0]
    drop.mkdir(parents=True, exist_ok=True)
    (drop / "first.eml").write_bytes(_mail_submission(tmp_path, 372))
    intake = Intake(settings)
    try:
        intake.run_once()
        (row,) = intake.store.inputs()
        intake.store.conn.execute("UPDATE inputs SET state='received' WHERE id=?", (row.id,))
        again = intake.run_once()
        assert again.outcomes[0].trackings == [] and again.delivered == []
        assert len(intake.store.conn.execute("SELECT * FROM versions").fetchall()) == 1
        assert intake.store.conn.execute("SELECT COUNT(*) FROM outgoing").fetchone()[0] == 1
    finally:
        intake.close()
    assert len(_replies(settings)) == 1


def test_auto_reply_to_our_receipt_creates_no_dossier(tmp_path):
    settings = make_settings(tmp_path)
    drop = settings.drop.folders[0]
    drop.mkdir(parents=True, exist_ok=True)
    ooo = make_submission_eml([], sender="clerk@example.com", subject="自动回复：【回执】…",
                              body="我正在休假，12月4日回来。", message_id="<ooo@mail.example.com>")
    msg = email.message_from_bytes(ooo, policy=email.policy.default)
    msg["Auto-Submitted"] = "auto-replied"
    (drop / "ooo.eml").write_bytes(msg.as_bytes())
    intake = Intake(settings)
    try:
        report = intake.run_once()
        assert report.outcomes[0].skipped and report.outcomes[0].trackings == []
        assert intake.store.dossiers() == [] and report.delivered == []
    finally:
        intake.close()


def test_parse_early_of_an_input_a_pass_already_took_reads_it_no_second_time(tmp_path):
    """GIVEN an input a processing pass has taken (the IMAP thread calls ``parse_early`` after the
    server's post-action, so a pass that started meanwhile can be first) WHEN ``parse_early``
    arrives while the pass commits it, and again after THEN no second parse of it is started
    (a 48 MB mail read twice, its attempt counted on a finished input)."""
    from concurrent.futures import wait as wait_all

    from tests.factories import FormData as _Form

    settings = make_settings(tmp_path)
    make_form_docx(settings.drop.folders[0] / "申报书.docx", _Form(project_name="项目", email="c@example.com"))
    intake = Intake(settings)
    try:
        for w in intake.folder_watchers(once=True):
            w.scan_once()
            w.scan_once()
        (row,) = intake.store.pending_inputs()
        pipeline = intake.pipeline
        parses: list[int] = []
        real_parse = pipeline._parse

        def counted(r):  # noqa: ANN001, ANN202
            parses.append(r.id)
            return real_parse(r)

        pipeline._parse = counted  # type: ignore[method-assign]

        def late_callback(r, dossiers):  # noqa: ANN001, ANN202 - the IMAP thread's on_new, late
            pipeline.parse_early(r.id)
            return None

        pipeline.interceptors.insert(0, late_callback)
        (outcome,) = pipeline.process_pending()
        assert len(outcome.trackings) == 1
        pipeline.interceptors.remove(late_callback)
        pipeline.parse_early(row.id)  # after the commit
        with pipeline._ahead_lock:
            started = list(pipeline._ahead.values())
        wait_all(started, timeout=60)
        assert parses == [row.id]
        assert intake.store.get_input(row.id).state != "received"
    finally:
        intake.close()
