"""``--out`` says what it writes (issue 17, item 10): the digest as .html, .txt or .png, the 汇总表
only as .xlsx, and never into a folder that does not exist."""

from __future__ import annotations

from typer.testing import CliRunner

from bot.cli.main import app


def _config(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\ndata_dir = "{tmp_path / "store"}"\n[drop]\nfolders = ["{drop}"]\n'
                   '[campaign]\nnow = 2023-11-29T10:00:00+08:00\n', encoding="utf-8")
    return cfg


def _intake(cfg, *args):
    return CliRunner().invoke(app, ["--config", str(cfg), *args])


def test_digest_out_takes_any_of_its_three_names(tmp_path):
    cfg = _config(tmp_path)
    assert _intake(cfg, "run", "--once").exit_code == 0
    for n, suffix in enumerate((".txt", ".png", ".html")):
        target = tmp_path / f"d{n}{suffix}"
        res = _intake(cfg, "digest", "--out", str(target))
        assert res.exit_code == 0, res.output
        assert {p.suffix for p in tmp_path.glob(f"d{n}.*")} == {".txt", ".png", ".html"}
    assert "申报受理汇总" in (tmp_path / "d0.txt").read_text(encoding="utf-8")


def test_summary_out_must_be_xlsx_and_folders_must_exist(tmp_path):
    cfg = _config(tmp_path)
    assert _intake(cfg, "run", "--once").exit_code == 0
    res = _intake(cfg, "summary", "--out", str(tmp_path / "s.csv"))
    assert res.exit_code == 2 and ".xlsx" in res.stderr
    assert not (tmp_path / "s.csv").exists()
    for args in (("summary", "--out", str(tmp_path / "nope" / "x.xlsx")),
                 ("digest", "--out", str(tmp_path / "nope" / "d.html"))):
        res = _intake(cfg, *args)
        assert res.exit_code == 2 and "no such folder" in res.stderr, args
        assert not (tmp_path / "nope").exists()
    res = _intake(cfg, "summary", "--out", str(tmp_path / "汇总表.xlsx"))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "汇总表.xlsx").is_file()


def test_commands_on_a_store_that_is_not_there_create_none(tmp_path):
    """Issue 17, item 14: status, show, digest, summary, and every officer command that works on
    dossiers (links, correspondents, rank, packets, decisions, reprocess), on a store that does
    not exist ([store] data_dir pointing elsewhere) say so (exit 1, one line) and create nothing."""
    cfg = _config(tmp_path)
    t = "IIP2023-420100-0001-O"
    for args in (("status",), ("status", "--json"), ("show", t),
                 ("digest", "--out", str(tmp_path / "d.html")), ("summary", "--out", str(tmp_path / "s.xlsx")),
                 ("digest", "--send"), ("links",), ("correspondent", "list", t),
                 ("correspondent", "add", t, "a@example.com"), ("rank", t), ("packet", "build"),
                 ("waive", t, "USCC_INVALID", "--reason", "核实无误"), ("note", t, "电话联系过"),
                 ("reprocess", "1")):
        res = _intake(cfg, *args)
        assert res.exit_code == 1, (args, res.output)
        assert "no store at" in res.stderr and "intake run" in res.stderr, args
        assert "NoStoreYet" not in res.stderr, args  # words, not our class names
        assert not (tmp_path / "store").exists(), args
    assert not list(tmp_path.glob("d.*")) and not (tmp_path / "s.xlsx").exists()


def test_reprocess_puts_back_only_what_was_set_aside(tmp_path):
    """GIVEN a processed dossier input WHEN ``intake reprocess`` names it, or an id that does not
    exist THEN it refuses (exit 1), saying why, and the input stays processed with no second
    reply on the next run."""
    from tests.conftest import SAMPLES

    cfg = _config(tmp_path)
    import shutil

    shutil.copytree(SAMPLES / "01-武汉示例智能制造-完整材料", tmp_path / "drop" / "01")
    first = _intake(cfg, "run", "--once")
    assert first.exit_code == 0 and "申报材料 dossiers" in first.output  # this run's dossier
    res = _intake(cfg, "reprocess", "1")
    assert res.exit_code == 1 and "input 1 is processed, not set aside" in res.stderr, res.output
    res = _intake(cfg, "reprocess", "99")
    assert res.exit_code == 1 and "no input 99" in res.stderr
    res = _intake(cfg, "run", "--once")
    assert "inputs processed this run: 0" in res.output
    assert "申报材料 dossiers" not in res.output  # no empty frame, nor the store's old dossiers


def test_run_and_status_speak_to_officers_in_chinese(tmp_path):
    """GIVEN one dossier folder in the drop folder WHEN `run --once` and then `status` run
    THEN the run's summary line and the status tables name things in Chinese first (受理编号,
    收件 已处理, 回复 已发出), keeping the store's word beside them for the logs and the IT person."""
    from tests.factories import make_dossier_dir

    cfg = _config(tmp_path)
    make_dossier_dir(tmp_path / "drop" / "武汉示例公司", video_s=None)

    run = _intake(cfg, "run", "--once")
    status = _intake(cfg, "status")

    assert run.exit_code == 0, run.output
    assert "本次处理收件 1 件，新材料版本 1 个，发出回复 1 封" in run.output
    assert "受理编号" in run.output and "结论" in run.output  # headers of columns that never wrap
    assert status.exit_code == 0, status.output
    flat = "".join(status.output.split())  # whatever width the tests' terminal has
    assert "收件已处理(inputsprocessed)" in flat and "回复已发出(repliessent)" in flat
