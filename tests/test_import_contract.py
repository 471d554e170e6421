"""The import contract (``.importlinter``): layers bot > outbox > rules > parsers, the rooms of
bot/ and outbox/ layered, and no import cycle anywhere (imports inside functions count)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(script), "--no-cache", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_every_contract_is_kept():
    run = lint_imports()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout
    assert "4 kept" in run.stdout


def test_a_cycle_hidden_in_a_function_breaks_the_contract(tmp_path):
    # A copy of the tree with one import back inside a function: the contract must catch it.
    copy = tmp_path / "tree"
    copy.mkdir()
    for pkg in ("bot", "outbox", "rules", "parsers"):
        subprocess.run(["cp", "-R", str(ROOT / pkg), str(copy / pkg)], check=True)
    (copy / ".importlinter").write_text((ROOT / ".importlinter").read_text(), encoding="utf-8")
    target = copy / "outbox" / "mail" / "headers.py"
    target.write_text(target.read_text(encoding="utf-8")
                      + "\n\ndef _upward():\n    from bot.digest import build  # noqa: F401\n",
                      encoding="utf-8")
    run = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
                         cwd=copy, capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"})
    assert run.returncode != 0
    assert "BROKEN" in run.stdout
    assert "outbox.mail.headers -> bot.digest.build" in run.stdout


def test_rooms_show_the_design():
    """At most 12 modules flat in bot/; every package's __init__ says in one line what lives there."""
    flat = [p.name for p in (ROOT / "bot").glob("*.py") if p.name != "__init__.py"]
    assert len(flat) <= 12, sorted(flat)
    for pkg in ("bot", "outbox", "rules", "parsers"):
        for init in (ROOT / pkg).rglob("__init__.py"):
            doc = init.read_text(encoding="utf-8").strip().splitlines()
            assert doc and doc[0].startswith('"""') and doc[0].endswith('"""') and len(doc[0]) > 6, init
