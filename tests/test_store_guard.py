"""Mistakes that used to pass in silence (issue 17, items 2 and 4): a configured drop folder that
is not there, and two processing runs on one store at the same time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from bot.cli.app import app
from bot.config.model import load_settings
from bot.store.lock import StoreLock
from tests.conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _config(root: Path, drop: Path) -> Path:
    cfg = root / "c.toml"
    cfg.write_text(
        f'log_format = "text"\n[store]\ndata_dir = "{root / "store"}"\n'
        f'[drop]\nfolders = ["{drop}"]\nprocessed_dir = ""\nsettle_s = 0.0\n'
        f'[outbox]\ntransport = "file"\nfolder = "{root / "outbox"}"\n'
        '[campaign]\nnow = 2023-11-29T10:00:00+08:00\n',
        encoding="utf-8",
    )
    return cfg


def _intake(cfg: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(cfg), *args],
        capture_output=True, text=True, env=ENV, timeout=timeout, cwd=cfg.parent,
    )


def test_config_check_fails_naming_a_drop_folder_that_does_not_exist(tmp_path):
    """GIVEN a config whose drop folder has a typo
    WHEN ``intake config check`` reads it
    THEN it exits 1 and names drop.folders[0] and the path; with the folder made, it exits 0."""
    typo = tmp_path / "dropbxo"
    cfg = _config(tmp_path, typo)
    res = CliRunner().invoke(app, ["config", "check", str(cfg)])
    assert res.exit_code == 1, res.output
    assert f"error: drop.folders[0]: {typo} does not exist" in res.stderr
    assert not typo.exists()
    typo.mkdir()
    res = CliRunner().invoke(app, ["config", "check", str(cfg)])
    assert res.exit_code == 0, res.output


def test_run_refuses_to_start_on_a_missing_drop_folder_and_never_creates_it(tmp_path):
    """GIVEN a drop folder that is not there (an unmounted share)
    WHEN ``intake run --once`` and ``intake run`` start
    THEN each exits non-zero with one line naming the folder, and the folder is still not there;
    no store is made for the run that never started."""
    missing = tmp_path / "share" / "dropbox"
    cfg = _config(tmp_path, missing)
    for args in (("run", "--once"), ("run",)):
        res = _intake(cfg, *args)
        assert res.returncode != 0, (args, res.stdout, res.stderr)
        lines = [line for line in res.stderr.splitlines() if line.startswith("intake:")]
        assert len(lines) == 1 and str(missing) in lines[0] and "does not exist" in lines[0], res.stderr
        assert "Traceback" not in res.stderr
        assert not missing.exists() and not missing.parent.exists()
        assert not (load_settings(cfg).store.db_path).exists(), args


def test_second_run_on_a_busy_store_says_who_holds_it_and_read_only_commands_still_work(tmp_path):
    """GIVEN another process processing the store (holding its lock), and a dossier in the drop folder
    WHEN ``intake run --once`` starts on the same store
    THEN it exits 1 saying the store is busy, with the holder's pid and since when, and takes
    nothing; ``intake status`` works meanwhile; once the holder is gone, the run takes the dossier."""
    drop = tmp_path / "dropbox"
    drop.mkdir()
    (drop / "申报书.txt").write_text("x", encoding="utf-8")
    cfg = _config(tmp_path, drop)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from bot.store.lock import StoreLock;"
         f"lock = StoreLock(Path({str(tmp_path / 'store')!r})); lock.acquire();"
         "print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        res = _intake(cfg, "run", "--once")
        assert res.returncode == 1, (res.stdout, res.stderr)
        assert "busy" in res.stderr and f"pid {holder.pid}" in res.stderr and "since 20" in res.stderr
        assert "Traceback" not in res.stderr
        status = _intake(cfg, "status")
        assert status.returncode == 0, status.stderr
        assert "inputs processed" not in res.stdout
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    res = _intake(cfg, "run", "--once")
    assert res.returncode == 0, res.stderr
    assert "inputs processed this run: 1" in res.stdout


def test_the_lock_is_exclusive_and_free_again_after_release(tmp_path):
    first, second = StoreLock(tmp_path), StoreLock(tmp_path)
    first.acquire()
    try:
        try:
            second.acquire()
        except OSError as exc:
            assert f"pid {os.getpid()}" in str(exc)
        else:
            raise AssertionError("a second holder got the lock")
    finally:
        first.release()
    with second:
        assert (tmp_path / "intake.lock").read_text().startswith(f"pid {os.getpid()}")
