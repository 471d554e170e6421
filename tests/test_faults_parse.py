"""Issue 15, as the daemon runs: SIGTERM during a hostile parse, kill -9 during it, quarantine.

The daemon runs as a subprocess (tests/daemon_harness.py). The hostile file is a 400-page PDF
sharing one heavy content stream (minutes of pypdf) under a budget long enough to be caught
in the middle of its parse.
"""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

from tests.daemon_harness import DaemonHarness, wait_for
from tests.factories import make_dossier_dir
from tests.hostile_files import heavy_pdf

STOP_WITHIN_S = 10.0  # the bound for SIGTERM, whatever a worker is doing


def _hostile_dossier(drop: Path) -> None:
    folder = make_dossier_dir(drop / "甲单位", scan=False, video_s=None)
    heavy_pdf(folder / "全套扫描件.pdf", pages=400)


def _workers(daemon: DaemonHarness) -> list[int]:
    return [int(p) for p in re.findall(r"reading in worker (\d+)", daemon.log_text())]


def _slow(daemon: DaemonHarness) -> int:
    """Parses that ran past hold_s (only those count when the daemon is killed)."""
    return len(re.findall(r"is slow: its worker", daemon.log_text()))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_sigterm_during_a_hostile_parse_stops_in_time_and_the_input_is_read_after_restart(tmp_path):
    """GIVEN the daemon in the middle of parsing a PDF that takes minutes ([budgets] pdf_s = 600)
    WHEN it gets SIGTERM
    THEN it exits within 10 s, the worker is gone, the input is still pending with its attempt
    counted; restarted with pdf_s = 2 it answers the dossier with FILE_TOO_COSTLY."""
    daemon = DaemonHarness(tmp_path / "d", overrides={"budgets": {"pdf_s": 600.0}})
    _hostile_dossier(daemon.drop)
    daemon.start()
    wait_for(lambda: _workers(daemon), "a worker started on the PDF")
    wait_for(lambda: daemon.count("SELECT parse_attempts FROM inputs") == 1, "the attempt counted")
    wait_for(lambda: daemon.count("SELECT parse_slow FROM inputs") == 1, "the parse turned slow")
    (worker,) = _workers(daemon)
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.wait_exit(timeout_s=STOP_WITHIN_S) == 0
    wait_for(lambda: not _alive(worker), "the worker is gone", timeout_s=5)
    rows = daemon.query("SELECT state, parse_attempts FROM inputs")
    assert [(r["state"], r["parse_attempts"]) for r in rows] == [("received", 1)]

    again = DaemonHarness(tmp_path / "d", overrides={"budgets": {"pdf_s": 2.0}})
    again.start()
    try:
        wait_for(lambda: again.count("SELECT COUNT(*) FROM outgoing") == 1, "the reply queued")
        (version,) = again.query("SELECT findings FROM versions")
        codes = [f["code"] for f in json.loads(version["findings"])]
        assert "FILE_TOO_COSTLY" in codes
        rows = again.query("SELECT state, parse_attempts FROM inputs")
        assert [(r["state"], r["parse_attempts"]) for r in rows] == [("processed", 0)]
    finally:
        again.terminate()


def test_kill9_during_parses_counts_and_quarantines_then_reprocess(tmp_path):
    """GIVEN [budgets] max_parse_attempts = 2 and a PDF that takes minutes
    WHEN the daemon is killed with -9 twice in the middle of its parse and started again
    THEN each kill (of a parse past hold_s) counted (1, then 2), no orphaned worker keeps running, the third start
    quarantines the input without parsing it (``intake status --json`` lists it), and
    ``intake reprocess`` puts it back with its counters at 0."""
    daemon = DaemonHarness(tmp_path / "d", overrides={"budgets": {"pdf_s": 600.0, "max_parse_attempts": 2}})
    _hostile_dossier(daemon.drop)
    for n in (1, 2):
        daemon.start()
        wait_for(lambda n=n: len(_workers(daemon)) == n, f"worker {n} started")
        wait_for(lambda n=n: daemon.count("SELECT parse_attempts FROM inputs") == n, f"attempt {n} counted")
        wait_for(lambda n=n: _slow(daemon) == n, f"parse {n} slow")
        wait_for(lambda: daemon.count("SELECT parse_slow FROM inputs") == 1, "its slow mark committed")
        daemon.kill9()
        worker = _workers(daemon)[-1]
        wait_for(lambda worker=worker: not _alive(worker), "the orphaned worker died with the daemon", timeout_s=10)
    daemon.start()
    try:
        wait_for(lambda: daemon.count("SELECT COUNT(*) FROM inputs WHERE state='quarantined'") == 1, "quarantined")
        assert len(_workers(daemon)) == 2  # not parsed a third time
        status = json.loads(daemon.run_cli("status", "--json").stdout)
        (q,) = status["quarantined"]
        assert q["parse_attempts"] == 2 and "interrupted 2 times" in " ".join(q["error"])
    finally:
        daemon.terminate()
    out = daemon.run_cli("reprocess", "1")
    assert out.returncode == 0, out.stderr
    rows = daemon.query("SELECT state, parse_attempts, attempts FROM inputs")
    assert [(r["state"], r["parse_attempts"], r["attempts"]) for r in rows] == [("received", 0, 0)]
    assert os.path.exists(daemon.data_dir)
