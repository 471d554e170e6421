"""``intake keys init`` / ``intake keys show``: the packet signing key pair (issue 14)."""

from __future__ import annotations

import stat

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.config.model import load_settings
from outbox.documents.signing import load_key, public_key_text


def test_keys_init_writes_an_owner_only_key_and_show_prints_the_public_key(tmp_path):
    """init writes a PEM key 0600 in a 0700 folder and prints the public key; a second init
    refuses to replace it (the level above would refuse every packet); show prints the same line
    and the [[packet.senders]] block, which loads as valid configuration."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\ndata_dir = "{tmp_path / "st"}"\n[office]\nunit = "甲市经济和信息化局"\n',
                   encoding="utf-8")  # fmt: skip
    runner = CliRunner()
    first = runner.invoke(app, ["--config", str(cfg), "keys", "init"])
    assert first.exit_code == 0, first.output
    key_file = tmp_path / "st" / "keys" / "packet-signing.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    public = public_key_text(load_key(key_file).public_key())
    assert public in first.output
    again = runner.invoke(app, ["--config", str(cfg), "keys", "init"])
    assert again.exit_code == 1 and "exists" in again.output and "intake keys show" in again.output
    assert public_key_text(load_key(key_file).public_key()) == public
    shown = runner.invoke(app, ["--config", str(cfg), "keys", "show"])
    assert shown.exit_code == 0 and public in shown.output
    block = shown.output.split("# for the level above (config.toml):", 1)[1]
    other = tmp_path / "province.toml"
    other.write_text(block, encoding="utf-8")
    (sender,) = load_settings(other).packet.senders
    assert (sender.unit, sender.public_key) == ("甲市经济和信息化局", public)
    assert sender.address == load_settings(cfg).outbox.from_addr


def test_the_shown_block_appended_to_the_example_config_loads_once_its_empty_list_goes(tmp_path):
    """GIVEN the block `keys show` prints appended to a copy of config.example.toml (a newcomer's
    way) THEN, with `senders = []` left in [packet], `config check` names the clash and what to
    delete (before: only TOML's "Cannot mutate immutable namespace"); with it deleted, as the
    block's comment says, the config loads with the sender."""
    from pathlib import Path

    from bot.config.model import ConfigError

    example = (Path(__file__).parents[1] / "config.example.toml").read_text(encoding="utf-8")
    block = ('[[packet.senders]]\nunit = "甲市经济和信息化局"\n'
             'public_key = "ed25519:ja02XFb4LW+HC1HRqXcMD2uw2B7NkjRF46ohWxtU4xU="\n'
             'address = "intake@jia.example.org"\n')
    cfg = tmp_path / "config.toml"
    cfg.write_text(example + "\n" + block, encoding="utf-8")
    with pytest.raises(ConfigError, match="delete the `key = \\[\\]` line"):
        load_settings(cfg)
    cfg.write_text(example.replace("\nsenders = []\n", "\n") + "\n" + block, encoding="utf-8")
    assert [s.address for s in load_settings(cfg).packet.senders] == ["intake@jia.example.org"]


def test_keys_show_without_a_key_says_how_to_make_one(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\ndata_dir = "{tmp_path / "st"}"\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["--config", str(cfg), "keys", "show"])
    assert res.exit_code == 1 and "intake keys init" in res.output
