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


def test_every_bracketed_word_in_help_is_shown_as_written():
    """``[default: ./config.toml]``, ``[smtp] dkim_*``, ``[office] officers``: rich markup would
    eat each of them; help is plain text, so none is lost."""
    assert "[default: ./config.toml]" in _help()
    assert "([smtp] dkim_*)" in _help("dkim", "record")
    assert "[office] officers" in " ".join(_help("web", "passwd").split())
    check = " ".join(_help("check").split())
    assert "[campaign] profile" in check and "[office] level" in check


def test_a_runtime_message_naming_a_config_section_keeps_it(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["--config", str(cfg), "dkim", "record"])
    assert res.exit_code == 1 and "([smtp] dkim_domain" in res.output, res.output
