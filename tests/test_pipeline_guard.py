"""The processing pass is guarded: a rule raising on one stored dossier, or on one new input,
is recorded (on that input, or in the log with the dossier's number) and the loop goes on."""

from __future__ import annotations

import logging
import threading
import time

import pytest

import rules.engine
from bot.daemon import Intake
from rules.rule import Rule
from tests.conftest import make_settings
from tests.factories import FormData, make_form_docx

CURSED = "会让规则出错的项目"


def _raise_on_cursed(dossier, ctx):
    if dossier.project_name == CURSED:
        raise RuntimeError("rule bug on this dossier")
    return ()


BUGGY = Rule(code="TEST_RULE_BUG", clause="", severity="error", title="测试", message_template="",
             fix_template="", check=_raise_on_cursed, scope="dossier")


def take(intake: Intake) -> None:
    for w in intake.folder_watchers(once=True):
        w.scan_once()
        w.scan_once()


@pytest.fixture
def intake(tmp_path):
    i = Intake(make_settings(tmp_path))
    yield i
    i.close()


def drop(intake: Intake, name: str, project: str, email: str) -> None:
    make_form_docx(intake.settings.drop.folders[0] / name, FormData(project_name=project, email=email))


def test_a_rule_raising_on_a_stored_dossier_does_not_stop_the_batch(intake, monkeypatch, caplog):
    """GIVEN a stored dossier a rule now raises on WHEN a new input is processed THEN the new one
    is judged and stored, the stored one keeps its verdict, and the log names it."""
    drop(intake, "a.docx", CURSED, "a@example.com")
    take(intake)
    [first] = intake.pipeline.process_pending()
    [cursed] = first.trackings
    before = intake.store.dossier_by_tracking(cursed).verdict
    monkeypatch.setattr(rules.engine, "RULES", (*rules.engine.RULES, BUGGY))
    drop(intake, "b.docx", "正常的项目", "b@example.com")
    take(intake)
    with caplog.at_level(logging.ERROR, logger="intake"):
        [second] = intake.pipeline.process_pending()
    assert second.error is None and len(second.trackings) == 1
    assert intake.store.dossier_by_tracking(cursed).verdict == before
    assert any(cursed in r.getMessage() for r in caplog.records)


def test_a_rule_raising_on_a_new_input_is_recorded_on_it_and_the_rest_go_on(intake, monkeypatch):
    monkeypatch.setattr(rules.engine, "RULES", (*rules.engine.RULES, BUGGY))
    drop(intake, "a.docx", CURSED, "a@example.com")
    drop(intake, "b.docx", "正常的项目", "b@example.com")
    take(intake)
    outcomes = intake.pipeline.process_pending()
    failed = [o for o in outcomes if o.error]
    assert len(failed) == 1 and "rule bug" in failed[0].error
    assert sum(len(o.trackings) for o in outcomes) == 1
    row = intake.store.get_input(failed[0].input_id)
    assert row.attempts == 1 and "rule bug on this dossier" in row.error


def test_the_daemon_loop_goes_on_after_a_failing_pass(intake, monkeypatch):
    drop(intake, "a.docx", CURSED, "a@example.com")
    take(intake)
    intake.pipeline.process_pending()
    monkeypatch.setattr(rules.engine, "RULES", (*rules.engine.RULES, BUGGY))
    stop = threading.Event()
    loop = threading.Thread(target=intake.run_forever, args=(stop,), daemon=True)
    loop.start()
    try:
        for k in range(2):
            drop(intake, f"n{k}.docx", f"正常的项目{k}", f"n{k}@example.com")
            deadline = time.monotonic() + 60
            while len(intake.store.dossiers()) < k + 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert loop.is_alive()
        assert len(intake.store.dossiers()) == 3
    finally:
        stop.set()
        intake.wake.set()
        loop.join(timeout=30)
