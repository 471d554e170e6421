"""Names in a drop folder that are not what a mailer would write: each input is still taken,
archived as it is, answered, and never written onto another file.

What ``unzip`` of a Windows zip or a Samba share in the wrong code page leaves (GBK bytes that
are not UTF-8), names that clean to the same file name, names too long for the stamped copy in
the processed folder, and a name with a line break (the text log is one line per event).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil

from bot.daemon import Intake
from bot.logs import TextFormatter
from bot.sources.folders import NAME_MAX, processed_name
from tests.conftest import make_settings
from tests.factories import make_dossier_dir


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _run(settings):
    intake = Intake(settings)
    try:
        report = intake.run_once()
        return report, intake.store.inputs(), [d.tracking for d in intake.store.dossiers()]
    finally:
        intake.close()


def test_a_dossier_folder_and_a_file_with_gbk_byte_names_are_taken_and_answered(tmp_path):
    """GIVEN a dossier folder whose name and members' names are GBK bytes (not UTF-8), and a
    loose PDF named in GBK, in the drop folder
    WHEN the desk runs once
    THEN both are archived and recorded under their Chinese names, the dossier gets a reply, and
    nothing is left in the drop folder."""
    settings = make_settings(tmp_path)
    drop = settings.drop.folders[0]
    made = make_dossier_dir(tmp_path / "made", video_s=None)
    folder = os.path.join(os.fsencode(drop), "武汉示例公司".encode("gbk"))
    os.mkdir(folder)
    for f in made.iterdir():
        shutil.copyfile(f, os.path.join(folder, f.name.encode("gbk")))
    shutil.copyfile(made / "全套扫描件.pdf", os.path.join(os.fsencode(drop), "扫描件单独.pdf".encode("gbk")))

    report, inputs, trackings = _run(settings)

    assert sorted(i.name for i in inputs) == sorted(["武汉示例公司", "扫描件单独.pdf"])
    folder_input = next(i for i in inputs if i.kind == "folder")
    assert sorted(m[0] for m in folder_input.manifest) == sorted(f.name for f in made.iterdir())
    assert {i.state for i in inputs} == {"processed"}
    assert trackings and report.delivered
    assert os.listdir(drop) == []


def test_names_alike_once_cleaned_each_keep_their_file_and_the_archive_is_untouched(tmp_path):
    """GIVEN a dossier folder holding ``note:1.txt`` and ``note_1.txt`` (both clean to
    ``note_1.txt``) with different contents
    WHEN the desk reads it
    THEN the dossier is processed, both files are read under distinct names, and each archived
    blob still holds its own bytes (nothing is written through a hard link to the archive)."""
    settings = make_settings(tmp_path)
    dossier = make_dossier_dir(settings.drop.folders[0] / "武汉示例公司", video_s=None)
    first, second = b"first file content AAAA", b"second file content BBBB"
    (dossier / "note:1.txt").write_bytes(first)
    (dossier / "note_1.txt").write_bytes(second)

    _, inputs, trackings = _run(settings)

    assert [i.state for i in inputs] == ["processed"] and len(trackings) == 1
    intake = Intake(settings)
    try:
        for data in (first, second):
            assert intake.store.archive.path_for(_sha(data)).read_bytes() == data
        work = intake.store.materialise(intake.store.inputs()[0], tmp_path / "work")
    finally:
        intake.close()
    copies = {p.name: p.read_bytes() for p in work.iterdir() if p.name.startswith("note")}
    assert sorted(copies.values()) == [first, second]
    assert len(copies) == 2


def test_a_name_too_long_for_the_processed_copy_is_taken_moved_and_the_rest_follow(tmp_path):
    """GIVEN a loose file whose name is 83 Chinese characters (253 bytes: the stamp in front of it
    would pass the 255-byte limit) and a normal dossier after it
    WHEN the desk runs once
    THEN both are taken and processed, and the long one sits in the processed folder under a
    shortened stamped name that keeps its extension."""
    settings = make_settings(tmp_path)
    drop = settings.drop.folders[0]
    made = make_dossier_dir(tmp_path / "made", video_s=None)
    long_name = "申" * 83 + ".pdf"
    assert len(long_name.encode()) == 253
    shutil.copyfile(made / "全套扫描件.pdf", drop / long_name)
    shutil.copytree(made, drop / "武汉示例公司")

    _, inputs, trackings = _run(settings)

    assert sorted(i.name for i in inputs) == sorted([long_name, "武汉示例公司"])
    assert {i.state for i in inputs} == {"processed"} and len(trackings) == 2
    assert os.listdir(drop) == []
    moved = [p.name for p in settings.drop.processed_dir.iterdir()]
    assert any(n.endswith(".pdf") and len(n.encode()) <= NAME_MAX and "申申申" in n for n in moved)


def test_processed_names_stay_within_the_limit_and_keep_their_extension():
    assert processed_name("20231129-100000", 1, "申报书.docx") == "20231129-100000-申报书.docx"
    assert processed_name("20231129-100000", 2, "a.pdf") == "20231129-100000-2-a.pdf"
    long = processed_name("20231129-100000", 12, "报" * 200 + ".mp4")
    assert long.startswith("20231129-100000-12-报") and long.endswith(".mp4")
    assert len(os.fsencode(long)) <= NAME_MAX
    raw = os.fsdecode("扫描".encode("gbk") * 100 + b".pdf")  # GBK bytes, as listed
    assert len(os.fsencode(processed_name("20231129-100000", 1, raw))) <= NAME_MAX


def test_a_line_break_in_a_name_cannot_forge_a_log_line():
    """GIVEN a dropped file named ``x.pdf`` + a line break + a made-up log line
    WHEN it is logged in the text format THEN it stays on its line, the break shown as ``\\n``."""
    name = "x.pdf\n2026-12-04 03:00:00,000 INFO intake.pipeline: input 99 processed: accepted"
    record = logging.LogRecord("intake.folder", logging.INFO, __file__, 1, "took %s as input %s",
                               (name, 3), None)
    line = TextFormatter().format(record)
    assert "\n" not in line
    assert line.endswith("took x.pdf\\n2026-12-04 03:00:00,000 INFO intake.pipeline: input 99 "
                         "processed: accepted as input 3")


def test_the_same_dossier_dropped_again_is_logged_as_nothing_new(tmp_path, caplog):
    """GIVEN a dossier folder taken and processed WHEN the same folder is dropped again (make demo
    run twice) THEN the log says it is the same content as input 1, nothing new, not "took"."""
    settings = make_settings(tmp_path)
    made = make_dossier_dir(tmp_path / "made" / "武汉示例公司", video_s=None)
    shutil.copytree(made, settings.drop.folders[0] / made.name)
    _run(settings)
    shutil.copytree(made, settings.drop.folders[0] / made.name)
    intake_log = logging.getLogger("intake")  # may not propagate (setup_logging by an earlier test)
    intake_log.addHandler(caplog.handler)
    caplog.clear()
    try:
        with caplog.at_level(logging.INFO, logger="intake"):
            _, inputs, _ = _run(settings)
    finally:
        intake_log.removeHandler(caplog.handler)
    assert len(inputs) == 1
    said = [r.getMessage() for r in caplog.records if r.name == "intake.folder"]
    assert "武汉示例公司: the same content as input 1 (processed), taken before: nothing new" in said
    assert not any(m.startswith("took 武汉示例公司") for m in said), said


def test_processed_stamps_are_in_the_campaigns_zone(tmp_path):
    """GIVEN the machine's zone set to UTC−10 (Pacific/Honolulu: never the campaign's)
    WHEN a dossier folder is taken THEN its name in the processed folder starts with the time in
    Asia/Shanghai (the campaign's zone, as in the digest), not the machine's local time."""
    import time as time_mod
    from datetime import datetime
    from zoneinfo import ZoneInfo

    settings = make_settings(tmp_path)
    drop = settings.drop.folders[0]
    shutil.copytree(make_dossier_dir(tmp_path / "made", video_s=None), drop / "武汉示例公司")
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Honolulu"
    time_mod.tzset()
    try:
        before = datetime.now(ZoneInfo("Asia/Shanghai")).replace(microsecond=0, tzinfo=None)
        _run(settings)
        after = datetime.now(ZoneInfo("Asia/Shanghai")).replace(microsecond=0, tzinfo=None)
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time_mod.tzset()
    (moved,) = [p.name for p in settings.drop.processed_dir.iterdir()]
    stamp = datetime.strptime(moved[:15], "%Y%m%d-%H%M%S")
    assert before <= stamp <= after and moved.endswith("-武汉示例公司")
