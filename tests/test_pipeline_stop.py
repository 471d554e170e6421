"""Pipeline.process_pending(stop): a stop request (SIGTERM) is honoured between inputs."""

from __future__ import annotations

import threading

from bot.daemon import Intake
from tests.conftest import make_settings
from tests.factories import FormData, make_form_docx


def test_stop_set_during_an_input_leaves_the_rest_pending(tmp_path):
    """GIVEN three forms taken from the drop folder
    WHEN stop is set while the first input is being committed
    THEN that input is finished and the other two stay pending, processed by the next call."""
    settings = make_settings(tmp_path)
    drop = settings.drop.folders[0]
    for k in range(3):
        make_form_docx(drop / f"申报书{k}.docx", FormData(project_name=f"项目{k}", email=f"c{k}@example.com"))
    intake = Intake(settings)
    try:
        for w in intake.folder_watchers(once=True):
            w.scan_once()
            w.scan_once()
        assert len(intake.store.pending_inputs()) == 3
        stop = threading.Event()

        def stop_after_first(row, dossiers):
            stop.set()
            return None  # not taken: the input goes on to become a dossier

        intake.pipeline.interceptors.append(stop_after_first)
        first = intake.pipeline.process_pending(stop)
        assert [len(o.trackings) for o in first] == [1]
        assert len(intake.store.pending_inputs()) == 2
        intake.pipeline.interceptors.remove(stop_after_first)
        rest = intake.pipeline.process_pending(threading.Event())
        assert [len(o.trackings) for o in rest] == [1, 1]
        assert intake.store.pending_inputs() == []
    finally:
        intake.close()


def test_no_parse_of_a_stopped_pass_outlives_it(tmp_path):
    """GIVEN five forms taken from the drop folder (more than the parse slots, so some parses
    are read ahead or wait for a slot) WHEN stop is set while the first input is committed
    THEN, once process_pending returns, no parse of that pass is still running (before: those
    read ahead were only cancelled; one already running went on, read the next pass's fresh
    stop event, and parsed its input a second time beside that pass, in the same work folder,
    until one removed the folder under the other: an input failed, CI saw it once) and their
    work folders are gone; the next pass reads the four inputs left."""
    settings = make_settings(tmp_path)
    drop = settings.drop.folders[0]
    for k in range(5):
        make_form_docx(drop / f"申报书{k}.docx", FormData(project_name=f"项目{k}", email=f"c{k}@example.com"))
    intake = Intake(settings)
    running = []
    lock = threading.Lock()
    real_parse = intake.pipeline._parse

    def counted(row):
        with lock:
            running.append(row.id)
        try:
            return real_parse(row)
        finally:
            with lock:
                running.remove(row.id)

    intake.pipeline._parse = counted
    try:
        for w in intake.folder_watchers(once=True):
            w.scan_once()
            w.scan_once()
        stop = threading.Event()

        def stop_after_first(row, dossiers):
            stop.set()
            return None

        intake.pipeline.interceptors.append(stop_after_first)
        first = intake.pipeline.process_pending(stop)
        with lock:
            still = list(running)
        left = sorted(p.name for p in settings.store.work_dir.iterdir() if p.name.startswith("input-"))
        intake.pipeline.interceptors.remove(stop_after_first)
        rest = intake.pipeline.process_pending(threading.Event())
    finally:
        intake.close()
    assert [len(o.trackings) for o in first] == [1]
    assert still == [] and left == []
    assert [len(o.trackings) for o in rest] == [1, 1, 1, 1]
