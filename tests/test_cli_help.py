"""Help texts read as written (issue 17, item 15): no ``<bool>`` after flags, no eaten
``[packet]``, no reStructuredText backticks."""

from __future__ import annotations

from typer.testing import CliRunner

from bot.cli.main import app


def _help(*args: str) -> str:
    res = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "160"})
    assert res.exit_code == 0, res.output
    return res.output


def test_flags_show_no_type_and_markup_survives():
    assert "<bool>" not in _help("run") and "--once" in _help("run")
    assert "[packet] out_dir" in _help("packet", "build")
    waive = _help("waive")
    assert "``" not in waive and "--force" in waive
    assert "tracebacks" in _help()
