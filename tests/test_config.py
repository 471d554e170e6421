"""Configuration: the example file loads, env overrides win, bad keys are named."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.config.model import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_loads_and_documents_every_key():
    settings = load_settings(ROOT / "config.example.toml")
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    for section, model in settings.model_dump().items():
        if isinstance(model, dict):
            assert f"[{section}]" in text, section
            for key in model:
                assert f"\n{key} =" in text or f"\n# {key} =" in text, f"{section}.{key} undocumented"
        else:
            assert f"{section} =" in text, section


def test_demo_config_loads():
    settings = load_settings(ROOT / "examples" / "demo.toml")
    assert settings.outbox.transport == "file"
    assert settings.drop.processed_dir is None
    assert settings.campaign.now is not None


def test_environment_overrides_toml(tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[imap]\nhost = "imap.163.com"\nport = 993\n', encoding="utf-8")
    monkeypatch.setenv("INTAKE_IMAP__PORT", "1143")
    monkeypatch.setenv("INTAKE_IMAP__PASSWORD", "from-env")
    s = load_settings(cfg)
    assert (s.imap.host, s.imap.port) == ("imap.163.com", 1143)
    assert s.imap.password.get_secret_value() == "from-env"


def test_bad_keys_are_named(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[imap]\nprot = 3\n[office]\nlevel = "county"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg)
    text = " ".join(exc.value.problems)
    assert "imap.prot: unknown key" in text
    assert "office.level" in text


def test_config_check_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "var" / "dropbox").mkdir(parents=True)  # the example's drop folder, made by the IT person
    bad = tmp_path / "bad.toml"
    bad.write_text("[store\n", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["config", "check", str(bad)])
    assert res.exit_code == 1
    assert "not valid TOML" in res.output
    res = runner.invoke(app, ["config", "check", str(ROOT / "config.example.toml")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["config", "check", str(tmp_path / "absent.toml")])
    assert res.exit_code == 2
    # No FILE: the one --config names (as every other command reads it).
    res = runner.invoke(app, ["--config", str(bad), "config", "check"])
    assert res.exit_code == 1 and "not valid TOML" in res.output
    res = runner.invoke(app, ["--config", str(ROOT / "config.example.toml"), "config", "check"])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ('[digest]\ntimes = ["08:30", "25:00"]\n', "digest.times", "25:00"),
        ('[digest]\ntimes = ["8.30"]\n', "digest.times", "HH:MM"),
        ('[imap]\npost_action = "flagged"\n', "imap.post_action", "move:<folder>"),
        ('[imap]\npost_action = "move:"\n', "imap.post_action", "move:<folder>"),
        ('[office]\nunit_kind = "provincal_miit"\n', "office.unit_kind", "provincial_miit"),
        ('[outbox]\ntransport = "mailgun"\n', "outbox.transport", "file"),
        ('[smtp]\nsecurity = "tls"\n', "smtp.security", "starttls"),
        # A malformed officer address crashed `intake digest --send` ("address not 7-bit").
        ('[[office.officers]]\nname = "赵"\nemail = "zhao bureau.example.cn"\n', "office.officers.0.email",
         "name@domain"),
        ('[office]\nupstream = ["also bad"]\n', "office.upstream.0", "name@domain"),
        ('[office]\ndownstream_senders = ["张三 <a@b.cn>"]\n', "office.downstream_senders.0", "name@domain"),
        ('[outbox]\nfrom_addr = ""\n', "outbox.from_addr", "name@domain"),
    ],
)
def test_config_check_rejects_values_that_would_fail_later(tmp_path, toml, key, words):
    """A time out of range, an unknown post-action, a misspelt unit kind (silently "no quota"
    before): rejected when loaded, so ``intake config check`` says so, naming the key."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml, encoding="utf-8")
    res = CliRunner().invoke(app, ["config", "check", str(cfg)])
    assert res.exit_code == 1, res.output
    assert f"{key}:" in res.stderr and words in res.stderr, res.stderr
    with pytest.raises(ConfigError):
        load_settings(cfg)


def test_good_values_load_normalised(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[digest]\ntimes = ["8:05", "23:59"]\n[imap]\npost_action = "move:已处理"\n'
                   '[office]\nunit_kind = "provincial_miit"\n', encoding="utf-8")
    s = load_settings(cfg)
    assert s.digest.times == ["08:05", "23:59"]
    assert (s.imap.post_action, s.office.unit_kind) == ("move:已处理", "provincial_miit")


def test_config_check_warns_about_settings_that_cannot_work(tmp_path):
    cfg = tmp_path / "c.toml"
    (tmp_path / "drop").mkdir()
    cfg.write_text(
        f'[drop]\nfolders = ["{tmp_path / "drop"}"]\n[imap]\nenabled = true\nhost = "imap.example.org"\n[outbox]\ntransport = "smtp"\n'
        '[campaign]\nprofile = "absent-campaign.toml"\n',
        encoding="utf-8",
    )
    res = CliRunner().invoke(app, ["config", "check", str(cfg)])
    assert res.exit_code == 0, res.output
    for key in ("imap.host", "imap.username", "imap.password", "smtp.host", "outbox.from_addr",
                "office.officers", "campaign.profile",
                # still the example's, and in every reply to enterprises
                "office.unit", "office.officer_contact", "office.division_code", "office.unit_kind"):
        assert f"warning: {key}:" in res.stderr, key


def test_a_real_offices_values_raise_no_placeholder_warning(tmp_path):
    from bot.config.lint import lint

    settings = load_settings(None, office={"unit": "黄石市经济和信息化局", "division_code": "420200",
                                           "officer_contact": "数字经济科 刘老师，0714-6221234",
                                           "unit_kind": "plan_city"},
                             outbox={"transport": "smtp"})
    assert not [w for w in lint(settings) if w.split(":")[0] in ("office.unit", "office.officer_contact",
                                                             "office.division_code", "office.unit_kind")]


def test_a_missing_config_file_is_an_error_not_a_silent_default(tmp_path):
    res = CliRunner().invoke(app, ["--config", str(tmp_path / "nope.toml"), "status"])
    assert res.exit_code == 2
    assert "no such file" in res.stderr


def test_operational_failures_are_one_line(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[store]\ndata_dir = "/proc/forbidden"\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["--config", str(cfg), "status"])
    assert res.exit_code == 1
    assert res.stderr.startswith("intake: ") and "Traceback" not in res.stderr


def test_trust_settings_are_checked_when_loaded(tmp_path):
    """A public key that is not Ed25519, and a switch that needs trusted_authserv_id without it,
    are errors naming the key; packets expected without accepted keys, and an upstream without a
    signing key, are warnings."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[packet.senders]]\nunit = "甲市"\npublic_key = "ed25519:AAAA"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg)
    assert "packet.senders.0.public_key" in " ".join(exc.value.problems)
    assert "32 bytes" in " ".join(exc.value.problems)
    cfg.write_text("[office]\nrequire_authentication_results = true\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg)
    assert "trusted_authserv_id" in " ".join(exc.value.problems)
    cfg.write_text(
        f'[store]\ndata_dir = "{tmp_path / "st"}"\n[office]\ndownstream_senders = ["a@b.cn"]\n'
        'upstream = ["p@q.cn"]\n', encoding="utf-8")  # fmt: skip
    res = CliRunner().invoke(app, ["config", "check", str(cfg)])
    assert "warning: packet.senders:" in res.stderr and "warning: packet.signing_key:" in res.stderr


def test_the_examples_in_config_example_load_when_uncommented_in_place():
    """GIVEN config.example.toml WHEN a newcomer uncomments the officers and packet senders
    examples where they stand and drops the empty lists, as the comments say THEN it still loads
    and holds them (an array-of-tables example there swallowed the section's later keys)."""
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    for key in ("officers", "senders"):
        lines = text.split("\n")
        start = lines.index(f"#   {key} = [")
        end = next(i for i in range(start, len(lines)) if lines[i] == "#   ]")
        empty = lines.index(f"{key} = []", end)
        lines[start:end + 1] = [line.removeprefix("#   ") for line in lines[start:end + 1]]
        del lines[empty]
        text = "\n".join(lines)
    settings = load_settings(None, **tomllib.loads(text))
    assert [o.name for o in settings.office.officers] == ["张科长", "李科员"]
    assert settings.office.officers[1].categories == ["工厂类", "平台类"]
    assert [s.unit for s in settings.packet.senders] == ["武汉市经济和信息化局"]
    assert settings.office.cc_officers_on_defects is False  # the keys after the example stay in [office]


def test_an_environment_variable_naming_no_section_is_reported_not_ignored(tmp_path, monkeypatch):
    """GIVEN INTAKE_IMAPP__PASSWORD (a misspelt section) in the environment WHEN the config is
    checked THEN it is named as ignored; INTAKE_IMAP__PASSWORD is not."""
    from bot.config.lint import unknown_environment

    settings = load_settings(None)
    env = {"INTAKE_IMAPP__PASSWORD": "x", "INTAKE_IMAP__PASSWORD": "y", "INTAKE_CRASH_AT": "after_fetch",
           "PATH": "/usr/bin"}
    (warning,) = unknown_environment(settings, env)
    assert warning.startswith("INTAKE_IMAPP__PASSWORD: no setting [imapp]") and "imap" in warning
    cfg = tmp_path / "c.toml"
    cfg.write_text("", encoding="utf-8")
    monkeypatch.setenv("INTAKE_IMAPP__PASSWORD", "x")
    res = CliRunner().invoke(app, ["config", "check", str(cfg)])
    assert "INTAKE_IMAPP__PASSWORD: no setting [imapp]" in res.stderr, res.output


def test_config_check_shows_the_packet_setup_and_warns_of_a_sender_address_not_allowed(tmp_path):
    """`config check` shows where packets go (upstream), the signing key and who may send packets;
    a [[packet.senders]] address missing from office.downstream_senders is a warning (every
    packet it mails would be refused)."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[store]\ndata_dir = "{tmp_path / "st"}"\n[office]\nupstream = ["up@prov.example.org"]\n'
        'downstream_senders = ["a@jia.example.org"]\n'
        '[[packet.senders]]\nunit = "乙市[测试]"\naddress = "b@yi.example.org"\n'
        'public_key = "ed25519:ja02XFb4LW+HC1HRqXcMD2uw2B7NkjRF46ohWxtU4xU="\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["config", "check", str(cfg)])
    assert "up@prov.example.org" in res.stdout and "intake keys init" in res.stdout
    assert "乙市[测试] <b@yi.example.org>" in res.stdout
    assert "packet.senders[0].address" in res.stderr and "refused" in res.stderr
