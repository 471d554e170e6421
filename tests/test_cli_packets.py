"""``intake rank``, ``intake packet send`` and ``intake digest`` from the terminal (typer's
CliRunner on an embedded city instance): subsets keep the others' order, clear refusals."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.upstream import ranking
from tests.conftest import SAMPLES
from tests.two_level_builders import ENTERPRISES, city_instance


def write_config(settings, path: Path, *, upstream: bool = True) -> Path:
    """A TOML config the CLI reads, pointing at the instance of ``settings``."""
    up = '"province@hubei.example.org"' if upstream else ""
    path.write_text(
        f"""
[store]
data_dir = "{settings.store.data_dir}"
[drop]
folders = ["{settings.drop.folders[0]}"]
processed_dir = "{settings.drop.processed_dir}"
settle_s = 0.0
[outbox]
transport = "file"
folder = "{settings.outbox.folder}"
[campaign]
now = 2023-11-29T10:00:00+08:00
[office]
level = "city"
unit = "武汉市经济和信息化局"
division_code = "420100"
upstream = [{up}]
[packet]
out_dir = "{settings.packet.out_dir}"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def city(tmp_path, video_6min):
    """Three accepted dossiers (甲, 乙, 丙) and one defective (wrong 统一社会信用代码)."""
    intake = city_instance(tmp_path / "city", video_6min)
    sample = SAMPLES / "04-光谷示例安全-信用代码错误"
    shutil.copytree(sample, intake.settings.drop.folders[0] / sample.name)
    intake.run_once()
    by_name = {d.applicant: d.tracking for d in intake.store.dossiers()}
    defective = next(d.tracking for d in intake.store.dossiers() if d.verdict == "defective")
    settings = intake.settings
    intake.close()
    a, b, c = (by_name[e.applicant] for e in ENTERPRISES)
    return write_config(settings, tmp_path / "config.toml"), settings, (a, b, c), defective


def intake(config: Path, *args: str):
    return CliRunner().invoke(app, ["--config", str(config), *args])


def stored_order(settings) -> list[str]:
    from bot.store.database import Store

    store = Store.open(settings.store.db_path, settings.store.archive_dir)
    try:
        positions = ranking.officer_positions(store.conn)
    finally:
        store.close()
    return sorted(positions, key=positions.get)


def test_ranking_a_subset_keeps_the_others_in_their_current_order(city):
    """GIVEN officers ranked 甲 > 乙 > 丙 WHEN they run ``intake rank 丙`` THEN 丙 comes first and
    甲, 乙 follow in the order they had (not the notice's default order, which puts 乙 before 甲)."""
    config, settings, (a, b, c), _ = city
    assert intake(config, "rank", a, b, c).exit_code == 0
    res = intake(config, "rank", c)
    assert res.exit_code == 0, res.output
    assert f"ranking: {c} > {a} > {b}" in res.stdout
    assert stored_order(settings) == [c, a, b]


def test_ranking_warns_about_defective_and_rejected_dossiers(city):
    """GIVEN a defective dossier and a rejected one WHEN an officer lists them in ``intake rank``
    THEN the ranking is stored and a warning names each, saying it is not recommended."""
    config, settings, (a, b, c), defective = city
    assert intake(config, "reject", b, "--reason", "重复申报").exit_code == 0
    res = intake(config, "rank", defective, b, a)
    assert res.exit_code == 0, res.output
    assert f"warning: {defective} is 需补正 (defective)" in res.stderr
    assert f"warning: {b} is 不予推荐 (rejected)" in res.stderr
    assert f"{a} " not in res.stderr.replace("\n", " ")  # the accepted one draws no warning
    assert stored_order(settings)[:3] == [defective, b, a]


def test_rank_from_a_missing_table_says_no_such_file(city, tmp_path):
    config, _settings, _, _ = city
    res = intake(config, "rank", "--from-table", str(tmp_path / "汇总表（排序）.xlsx"))
    assert res.exit_code == 1
    assert "no such file" in res.stderr and "汇总表（排序）.xlsx" in res.stderr


def test_packet_send_without_upstream_says_where_to_set_it(city, tmp_path):
    _config, settings, _, _ = city
    config = write_config(settings, tmp_path / "no-upstream.toml", upstream=False)
    res = intake(config, "packet", "send")
    assert res.exit_code == 1
    assert "set [office] upstream in the config" in res.stderr


def test_digest_out_refuses_anything_but_html(city, tmp_path):
    """WHEN ``intake digest --out X.pdf`` THEN it refuses (only .html is written) and writes
    nothing, rather than silently writing X.html."""
    config, _settings, _, _ = city
    res = intake(config, "digest", "--out", str(tmp_path / "digest.pdf"))
    assert res.exit_code == 2
    assert "only .html" in res.stderr
    assert not list(tmp_path.glob("digest.*"))


def test_packet_send_refuses_a_packet_signed_with_another_key(city, tmp_path):
    """GIVEN a built packet whose manifest.sig was made with a key other than this instance's
    (the key replaced by `keys init --force` after the build) WHEN `packet send` runs THEN it
    stops before mailing anything and says to build the packet again: each part's split is
    signed with this instance's key, and the level above takes a part only when the same key
    signed its manifest."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from outbox.documents.signing import SIGNATURE_FILE, sign_manifest

    config, settings, _, _ = city
    assert intake(config, "packet", "build").exit_code == 0
    (built,) = [p for p in settings.packet.out_dir.iterdir() if (p / "manifest.json").is_file()]
    (built / SIGNATURE_FILE).write_bytes(
        sign_manifest(Ed25519PrivateKey.generate(), (built / "manifest.json").read_bytes()))
    res = intake(config, "packet", "send", "--draft")
    assert res.exit_code == 1
    assert "made with another key" in res.stderr and "packet build --new" in res.stderr
    mailed = [p.read_bytes() for p in settings.outbox.folder.glob("*.eml")]
    assert not any(b"X-Intake-Packet" in raw for raw in mailed)


def test_packet_send_again_resends_a_part_the_relay_took(city):
    """GIVEN a packet sent whole (the relay took every part) WHEN the level above says part 1
    never arrived and the officer runs `packet send --again 1` THEN part 1, and only it, goes out
    again (before: every part counted as sent and nothing could be resent); an unknown part
    number or a word is refused plainly."""
    config, settings, _, _ = city
    first = intake(config, "packet", "send", "--draft")
    assert first.exit_code == 0, first.output
    before = set(settings.outbox.folder.glob("*.eml"))
    again = intake(config, "packet", "send", "--draft", "--again", "1")
    assert again.exit_code == 0, again.output
    assert "sent now: 1;" in again.output
    # its own Message-ID (a mailbox may drop a repeated one), so the file outbox writes it too
    (new,) = set(settings.outbox.folder.glob("*.eml")) - before
    assert b"X-Intake-Packet-Part: 1/" in new.read_bytes() and b".again-" in new.read_bytes()
    assert "sent now: none" in intake(config, "packet", "send", "--draft").output
    bad = intake(config, "packet", "send", "--draft", "--again", "99")
    assert bad.exit_code == 1 and "no part 99" in bad.stderr
    word = intake(config, "packet", "send", "--draft", "--again", "first")
    assert word.exit_code == 2 and "part numbers" in word.stderr


def test_packet_send_stops_while_a_video_is_only_a_cloud_drive_link(city):
    """GIVEN a recommended dossier whose video came only as a cloud-drive link (not fetched)
    WHEN the packet is built and sent THEN build names it, and send stops and says how to fetch
    it (before: the packet went up without the video and the level above marked the project
    VIDEO_MISSING); --without-videos sends it as it is."""
    config, settings, _, _ = city
    sample = SAMPLES / "08-蔡甸示例信息-视频为网盘链接.eml"
    shutil.copy(sample, settings.drop.folders[0] / sample.name)
    assert intake(config, "run", "--once").exit_code == 0
    built = intake(config, "packet", "build")
    assert built.exit_code == 0 and "cloud-drive link only" in built.output
    stopped = intake(config, "packet", "send", "--draft")
    assert stopped.exit_code == 1 and "intake fetched TRACKING FILE" in stopped.stderr
    assert not any(b"X-Intake-Packet:" in p.read_bytes() for p in settings.outbox.folder.glob("*.eml"))
    sent = intake(config, "packet", "send", "--draft", "--without-videos")
    assert sent.exit_code == 0, sent.output
