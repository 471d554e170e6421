"""Issue 15: one hostile or broken file costs its budget and one finding, never the desk.

Small versions of the issue's files (tests/hostile_files.py), processed by the real pipeline:
each input is parsed in a worker process under ``[budgets]``; a worker over budget is killed,
the file gets FILE_TOO_COSTLY and the rest of the dossier (and the next dossier) is read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from bot.daemon import Intake
from parsers.archives import ArchiveLimits, extract_archive
from parsers.materials import sha256_file
from parsers.mime import MAX_SUBJECT_CHARS, parse_message_file
from tests.conftest import make_settings
from tests.factories import FormData, make_dossier_dir, make_form_docx, make_submission_eml
from tests.hostile_files import (
    amplifying_zip,
    fake_adts_video,
    heavy_pdf,
    huge_subject_mail,
    slow_docx,
)

ROOT = Path(__file__).resolve().parents[1]


def _run(settings) -> tuple[Intake, list]:
    intake = Intake(settings)
    report = intake.run_once()
    return intake, report.outcomes


def _findings_by_project(intake: Intake) -> dict[str, list[dict]]:
    out = {}
    for d, v in intake.store.current_versions():
        out[d.project_name or d.tracking] = json.loads(v["findings"])
    return out


def _codes(findings: list[dict]) -> set[str]:
    return {f["code"] for f in findings}


def test_heavy_pdf_is_killed_at_its_budget_and_the_rest_is_read(tmp_path):
    """GIVEN a dossier folder whose 全套扫描件.pdf has 40 pages sharing one text-heavy content
    stream (8 KB; ~50 s of pypdf), then a normal dossier
    WHEN processed with [budgets] pdf_s = 2
    THEN the PDF is FILE_TOO_COSTLY (named, with what to send instead), the form and the video of
    the same dossier are read, and the next dossier is judged as usual; replies go to both."""
    settings = make_settings(tmp_path, budgets={"pdf_s": 2.0})
    drop = settings.drop.folders[0]
    hostile = make_dossier_dir(drop / "甲单位", FormData(project_name="甲项目", email="a@example.com"), scan=False)
    heavy_pdf(hostile / "全套扫描件.pdf", pages=40)
    make_dossier_dir(drop / "乙单位", FormData(project_name="乙项目", email="b@example.com", applicant="乙公司"))
    intake, outcomes = _run(settings)
    try:
        assert [o.error for o in outcomes] == [None, None]
        found = _findings_by_project(intake)
        costly = [f for f in found["甲项目"] if f["code"] == "FILE_TOO_COSTLY"]
        assert [f["where"] for f in costly] == ["全套扫描件.pdf"]
        assert "PDF" in costly[0]["fix"]
        assert "FORM_MISSING" not in _codes(found["甲项目"])  # the form of the same dossier was read
        assert not _codes(found["甲项目"]) & {"VIDEO_MISSING", "VIDEO_UNREADABLE"}
        assert "FILE_TOO_COSTLY" not in _codes(found["乙项目"])
        assert len(list(settings.outbox.folder.glob("*.eml"))) == 2
        row = intake.store.inputs()[0]
        assert (row.state, row.parse_attempts) == ("processed", 0)
    finally:
        intake.close()


def test_slow_docx_form_is_killed_at_its_budget(tmp_path):
    """GIVEN a 申报书.docx of one 5,000 × 30 table (~0.8 MB; python-docx takes ~10 s to walk it)
    WHEN processed with [budgets] document_s = 2
    THEN 申报书.docx is FILE_TOO_COSTLY and the form is judged missing; the scan and video are read."""
    settings = make_settings(tmp_path, budgets={"document_s": 2.0})
    drop = settings.drop.folders[0]
    folder = make_dossier_dir(drop / "丙单位", form=False)
    slow_docx(folder / "申报书.docx", rows=5000, cols=30)
    intake, outcomes = _run(settings)
    try:
        assert [o.error for o in outcomes] == [None]
        (findings,) = _findings_by_project(intake).values()
        codes = _codes(findings)
        assert {"FILE_TOO_COSTLY", "FORM_MISSING"} <= codes
        assert not codes & {"SCAN_MISSING", "VIDEO_MISSING", "VIDEO_UNREADABLE"}
        assert [f["where"] for f in findings if f["code"] == "FILE_TOO_COSTLY"] == ["申报书.docx"]
    finally:
        intake.close()


def test_memory_budget_kills_a_growing_parse(tmp_path):
    """GIVEN the same slow docx, a generous time budget and a small memory budget
    WHEN processed
    THEN the worker is killed for its memory (the finding's detail for officers says so)."""
    settings = make_settings(tmp_path, budgets={"document_s": 600.0, "document_bytes": 64 * 1024 * 1024})
    folder = make_dossier_dir(settings.drop.folders[0] / "丁单位", form=False)
    slow_docx(folder / "申报书.docx", rows=1500, cols=30)
    intake, outcomes = _run(settings)
    try:
        assert [o.error for o in outcomes] == [None]
        (d, v), = intake.store.current_versions()
        facts = json.loads(v["facts"])
        (form,) = [m for m in facts["materials"] if m["name"] == "申报书.docx"]
        assert form["problem"] == "too_costly" and "MB" in form["detail"]
    finally:
        intake.close()


def test_fake_adts_video_probe_stays_small(tmp_path):
    """GIVEN 5 MB of 8-byte ADTS frames named 项目视频.mp4 (625,000 packets)
    WHEN probed
    THEN it is no_video_stream and the probing process stays under 100 MB (it listed every
    packet into ~220 MB of JSON objects before; 2.2 GB for the issue's 50 MB)."""
    video = fake_adts_video(tmp_path / "项目视频.mp4")
    code = textwrap.dedent(f"""
        import re
        from pathlib import Path
        from parsers.video import probe_video
        facts = probe_video(Path({str(video)!r}))
        peak = re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)
        print(facts.problem, peak)
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    problem, maxrss_kb = out.stdout.split()
    assert problem == "no_video_stream"
    assert int(maxrss_kb) < 100 * 1024


@pytest.mark.parametrize("how", ["prlimit", "pre-exec hook"])
def test_ffprobe_address_space_is_capped(tmp_path, how, monkeypatch):
    """GIVEN the fake ADTS file (ffprobe needs ~350 MB to probe it)
    WHEN probed with max_bytes = 128 MB (the limit set by util-linux's prlimit, or, on a machine
    without it, in the child before exec)
    THEN ffprobe cannot take more: the probe fails cleanly (a fact, not a crash)."""
    from parsers import video
    from parsers.video import probe_video

    if how == "prlimit":
        assert video._prlimit() is not None  # util-linux is essential on Debian
    else:
        monkeypatch.setattr(video, "_prlimit", lambda: None)

    facts = probe_video(fake_adts_video(tmp_path / "v.mp4"), max_bytes=128 * 1024 * 1024)
    assert not facts.has_video or not facts.readable
    assert facts.problem in ("probe_failed", "no_video_stream")
    assert facts.problem == "probe_failed"  # uncapped, ffprobe reads it as audio (no_video_stream)


def test_amplifying_zip_is_refused_whole(tmp_path):
    """GIVEN a 290 KB zip of 40 distinct members each ~146:1 (under the 200:1 ratio limit), 40 MB
    in all, and [budgets] archive_growth = 20 with a 1 MB floor
    WHEN dropped
    THEN the archive is refused whole (ARCHIVE_UNSAFE, archive_growth): no member is read or
    stored, the permanent archive grows by about the input only."""
    settings = make_settings(tmp_path, budgets={"archive_growth_floor_bytes": 1024 * 1024})
    drop = settings.drop.folders[0]
    drop.mkdir(parents=True, exist_ok=True)
    zipped = amplifying_zip(drop / "申报材料.zip")
    size = zipped.stat().st_size
    intake, outcomes = _run(settings)
    try:
        assert [o.error for o in outcomes] == [None]
        (findings,) = _findings_by_project(intake).values()
        unsafe = [f for f in findings if f["code"] == "ARCHIVE_UNSAFE"]
        assert unsafe and "倍" in unsafe[0]["message"]
        stored = sum(p.stat().st_size for p in settings.store.archive_dir.rglob("*") if p.is_file())
        assert stored < 2 * size
    finally:
        intake.close()


def test_archive_growth_limit_in_the_parser(tmp_path):
    """The parser alone: over max_growth × the archive's size, no member comes back."""
    zipped = amplifying_zip(tmp_path / "a.zip", members=10)
    limits = ArchiveLimits(max_growth=20, growth_floor_bytes=1024 * 1024)
    result = extract_archive(zipped, tmp_path / "out", limits=limits)
    assert result.members == []
    assert [p.kind for p in result.problems] == ["archive_growth"]
    roomy = extract_archive(zipped, tmp_path / "out2", limits=ArchiveLimits(max_growth=200))
    assert len(roomy.members) == 10


def test_huge_subject_is_capped_in_facts_reply_and_database(tmp_path):
    """GIVEN a mail with a 4 MB Subject of encoded words and a normal form attached
    WHEN processed
    THEN the Subject kept is at most MAX_SUBJECT_CHARS, the reply is small, and the database
    grows by well under a megabyte (a 40 MB Subject made a 68 MB reply and +218 MB before)."""
    settings = make_settings(tmp_path)
    drop = settings.drop.folders[0]
    form = make_form_docx(tmp_path / "申报书.docx", FormData(project_name="戊项目", email="e@example.com"))
    mail = huge_subject_mail(drop / "huge.eml", attachment=form)
    facts = parse_message_file(mail)
    assert len(facts.subject) <= MAX_SUBJECT_CHARS
    assert sum(len(v) for v in facts.headers.values()) < 64 * 1024
    intake, outcomes = _run(settings)
    try:
        assert [o.error for o in outcomes] == [None]
        (reply,) = settings.outbox.folder.glob("*.eml")
        assert reply.stat().st_size < 256 * 1024
        db = settings.store.db_path
        db_bytes = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
        assert db_bytes < 2 * 1024 * 1024
    finally:
        intake.close()


def test_normal_mail_still_parses_in_a_worker(tmp_path):
    """GIVEN an ordinary submission mail dropped as .eml
    WHEN processed (in a worker process)
    THEN its form is read as before and the attempt counter is back to 0."""
    settings = make_settings(tmp_path)
    drop = settings.drop.folders[0]
    drop.mkdir(parents=True, exist_ok=True)
    form = make_form_docx(tmp_path / "申报书.docx", FormData(project_name="己项目", email="f@example.com"))
    (drop / "m.eml").write_bytes(make_submission_eml([form]))
    intake, outcomes = _run(settings)
    try:
        assert [len(o.trackings) for o in outcomes] == [1]
        assert "己项目" in _findings_by_project(intake)
        assert intake.store.inputs()[0].parse_attempts == 0
        assert os.path.isdir(settings.store.work_dir)
    finally:
        intake.close()


@pytest.mark.parametrize("hold_s", [0.5, 60.0], ids=["past-hold_s", "overtaken-long-before-hold_s"])
def test_a_slow_input_does_not_hold_up_the_inputs_behind_it(tmp_path, hold_s):
    """GIVEN a dossier with the heavy PDF taken first, then a normal dossier
    WHEN processed with pdf_s = 4 and [budgets] hold_s = 0.5, or 60
    THEN the normal dossier is answered first; the slow one once its budget ran out. With
    hold_s = 60 the normal one, read while the PDF still parses, goes first after
    OVERTAKE_AFTER_S, not hold_s: a receipt does not wait behind a hostile file."""
    settings = make_settings(tmp_path, budgets={"pdf_s": 4.0, "hold_s": hold_s})
    drop = settings.drop.folders[0]
    first = make_dossier_dir(drop / "a-甲单位", FormData(project_name="甲项目", email="a@example.com"), scan=False)
    heavy_pdf(first / "全套扫描件.pdf", pages=40)
    make_dossier_dir(drop / "b-乙单位", FormData(project_name="乙项目", email="b@example.com", applicant="乙公司"))
    intake, outcomes = _run(settings)
    try:
        assert [row.name for row in intake.store.inputs()] == ["a-甲单位", "b-乙单位"]
        assert [o.input_name for o in outcomes] == ["b-乙单位", "a-甲单位"]
        assert all(len(o.trackings) == 1 for o in outcomes)
    finally:
        intake.close()


def test_sender_daily_storage_budget_refuses_the_input_whole(tmp_path):
    """GIVEN [budgets] sender_daily_bytes just above one form, and two mails from one sender,
    each with its own form and scan
    WHEN processed
    THEN the one answered first is stored; the other's new files are all refused
    (FILE_TOO_COSTLY with the quota wording) and none of them is in the archive."""
    form1 = make_form_docx(tmp_path / "1" / "申报书.docx", FormData(project_name="庚项目", email="g@example.com"))
    form2 = make_form_docx(tmp_path / "2" / "申报书.docx", FormData(project_name="辛项目", email="g@example.com"))
    cap = form1.stat().st_size + 1024
    settings = make_settings(tmp_path, budgets={"sender_daily_bytes": cap})
    drop = settings.drop.folders[0]
    drop.mkdir(parents=True, exist_ok=True)
    (drop / "1.eml").write_bytes(make_submission_eml([form1], sender="g@example.com"))
    (drop / "2.eml").write_bytes(make_submission_eml([form2], sender="g@example.com"))
    intake, outcomes = _run(settings)
    try:
        assert [len(o.trackings) for o in outcomes] == [1, 1]
        found = _findings_by_project(intake)
        (refused,) = [p for p, fs in found.items() if "FILE_TOO_COSTLY" in _codes(fs)]
        (costly,) = [f for f in found[refused] if f["code"] == "FILE_TOO_COSTLY"]
        assert "存储限额" in costly["fix"]
        kept, lost = (form2, form1) if refused == "庚项目" else (form1, form2)
        assert intake.store.archive.has(sha256_file(kept)[0])
        assert not intake.store.archive.has(sha256_file(lost)[0])
    finally:
        intake.close()


def test_a_worker_reads_job_after_job_until_one_runs_over_its_budget(tmp_path, caplog):
    """GIVEN three dossier folders taken in turn: a normal one, one with the heavy PDF, a normal one
    WHEN processed with [budgets] pdf_s = 2 and hold_s = 60 (strictly in order)
    THEN a worker that read a dossier well reads the next (issue 16: no fork and first-use costs per
    input); the worker killed at the PDF's budget is replaced, and every dossier is answered."""
    settings = make_settings(tmp_path, budgets={"pdf_s": 2.0, "hold_s": 60.0})
    drop = settings.drop.folders[0]
    make_dossier_dir(drop / "a-甲单位", FormData(project_name="甲项目", email="a@example.com"))
    slow = make_dossier_dir(drop / "b-乙单位", FormData(project_name="乙项目", email="b@example.com"), scan=False)
    heavy_pdf(slow / "全套扫描件.pdf", pages=40)
    make_dossier_dir(drop / "c-丙单位", FormData(project_name="丙项目", email="c@example.com"))
    caplog.set_level("INFO", logger="intake.supervisor")
    intake = Intake(settings)
    try:
        intake.pipeline._slots = threading.Semaphore(1)  # one parse at a time: a clear order
        outcomes = intake.run_once().outcomes
        assert all(len(o.trackings) == 1 for o in outcomes)
        runs = [r.getMessage().rsplit(" ", 1) for r in caplog.records if "reading in worker" in r.getMessage()]
        pid_of = {}
        for what, pid in runs:
            pid_of.setdefault(what.split(":")[0].removeprefix("input "), []).append(pid)
        # 乙 ran twice: over budget in one worker, then again (PDF skipped) in a fresh one
        assert len(pid_of["b-乙单位"]) == 2 and pid_of["b-乙单位"][0] != pid_of["b-乙单位"][1]
        assert pid_of["a-甲单位"][0] == pid_of["b-乙单位"][0]  # 甲's worker went on to 乙
        assert pid_of["c-丙单位"][0] != pid_of["b-乙单位"][0]  # the killed worker was not reused
        assert pid_of["c-丙单位"][0] == pid_of["b-乙单位"][1]  # its replacement was
    finally:
        intake.close()


def test_intake_check_reads_under_the_same_budgets(tmp_path):
    """GIVEN a dossier folder whose 申报书.docx takes python-docx ~10 s, and [budgets]
    document_s = 2 WHEN an officer runs ``intake check --json`` on it THEN the form is killed at
    its budget in a worker (FILE_TOO_COSTLY on 申报书.docx, the command not stalled), the scan and
    video are still read, and stdout is the JSON object alone."""
    from typer.testing import CliRunner

    from bot.cli.main import app

    config = tmp_path / "config.toml"
    config.write_text(f'[store]\ndata_dir = "{tmp_path / "store"}"\n[budgets]\ndocument_s = 2.0\n',
                      encoding="utf-8")
    folder = make_dossier_dir(tmp_path / "丙单位", form=False)
    slow_docx(folder / "申报书.docx", rows=5000, cols=30)
    res = CliRunner().invoke(app, ["--config", str(config), "check", "--json", str(folder)])
    assert res.exit_code == 1, res.output
    (dossier,) = json.loads(res.stdout)["dossiers"]
    codes = {f["code"]: f for f in dossier["findings"]}
    assert codes["FILE_TOO_COSTLY"]["where"] == "申报书.docx"
    assert not set(codes) & {"SCAN_MISSING", "VIDEO_MISSING", "VIDEO_UNREADABLE"}


def _unread(intake: Intake, project: str) -> dict[str, str]:
    """The materials of ``project`` not read (``too_costly``), with the reason kept for officers."""
    for d, v in intake.store.current_versions():
        if d.project_name == project:
            facts = json.loads(v["facts"])
            return {m["name"]: m.get("detail") or "" for m in facts["materials"]
                    if m.get("problem") in ("too_costly", "input_allowance")}
    raise AssertionError(project)


def test_an_input_of_many_cheap_files_reads_only_its_allowance_of_files(tmp_path):
    """GIVEN a dossier folder of the three materials and six more small PDFs (each cheap, so no
    file budget ever trips), then a normal dossier, with [budgets] input_files = 4
    WHEN processed THEN four files of the first are read and the other five are FILE_TOO_COSTLY
    with the reason; both dossiers are answered, the second read whole."""
    from tests.factories import make_scan_pdf

    settings = make_settings(tmp_path, budgets={"input_files": 4})
    drop = settings.drop.folders[0]
    many = make_dossier_dir(drop / "甲单位", FormData(project_name="甲项目", email="a@example.com"))
    for i in range(6):
        make_scan_pdf(many / f"附件{i}.pdf", pages=1)
    make_dossier_dir(drop / "乙单位", FormData(project_name="乙项目", email="b@example.com", applicant="乙公司"))
    intake, outcomes = _run(settings)
    try:
        assert [o.error for o in outcomes] == [None, None]
        unread = _unread(intake, "甲项目")
        assert len(unread) == 9 - 4, unread
        assert all(why == "not read: more than 4 files in one input" for why in unread.values())
        found = _findings_by_project(intake)
        assert "FILE_TOO_COSTLY" in _codes(found["甲项目"])
        # the clerk is told to send fewer files, not to re-export a PDF that was never the trouble
        fixes = {f["fix"] for f in found["甲项目"] if f["code"] == "FILE_TOO_COSTLY"}
        assert fixes and all("只发送申报书" in fix for fix in fixes), fixes
        assert _unread(intake, "乙项目") == {}
        assert len(list(settings.outbox.folder.glob("*.eml"))) == 2
    finally:
        intake.close()


def test_an_input_whose_files_together_take_too_long_stops_reading_at_its_time_budget(tmp_path):
    """GIVEN a dossier with six slow PDF attachments (each well within pdf_s = 60) after its form
    and [budgets] input_s = 1 WHEN processed THEN once the input has read for a second its other
    files are not read (FILE_TOO_COSTLY, the reason kept), and the dossier is answered."""
    settings = make_settings(tmp_path, budgets={"input_s": 1.0})
    drop = settings.drop.folders[0]
    slow = make_dossier_dir(drop / "甲单位", FormData(project_name="甲项目", email="a@example.com"), scan=False)
    for i in range(6):
        heavy_pdf(slow / f"附件{i}.pdf", pages=4)  # read in name order: 申报书 first, then these
    intake, outcomes = _run(settings)
    try:
        assert [o.error for o in outcomes] == [None]
        unread = _unread(intake, "甲项目")
        assert any(name.startswith("附件") for name in unread), unread
        assert set(unread.values()) == {"not read: the input's files together used its whole time budget"}
        assert len(list(settings.outbox.folder.glob("*.eml"))) == 1
    finally:
        intake.close()


def test_the_form_is_read_first_so_a_flood_of_files_cannot_leave_the_dossier_nameless(tmp_path):
    """GIVEN a dossier folder whose name order puts three PDFs (0001.pdf…) before its 申报书 and
    [budgets] input_files = 2 WHEN processed THEN the 申报书 is read first (its applicant and
    contact known, the reply sent), then one PDF; the rest are not read, and the materials are
    listed in their own order."""
    from tests.factories import make_scan_pdf

    settings = make_settings(tmp_path, budgets={"input_files": 2})
    folder = make_dossier_dir(settings.drop.folders[0] / "甲单位", FormData(project_name="甲项目", email="a@example.com"))
    for i in range(3):
        make_scan_pdf(folder / f"000{i}.pdf", pages=1)
    intake, outcomes = _run(settings)
    try:
        assert [o.error for o in outcomes] == [None]
        unread = _unread(intake, "甲项目")
        assert "申报书.docx" not in unread and len(unread) == 6 - 2, unread
        (d, v) = intake.store.current_versions()[0]
        names = [m["name"] for m in json.loads(v["facts"])["materials"]]
        assert names == sorted(names)  # listed in the folder's order, whatever order they were read in
        assert len(list(settings.outbox.folder.glob("*.eml"))) == 1
    finally:
        intake.close()
