"""Issue 14, attack 4: the desk as a phishing relay and an auto-responder's loop partner.

An embedded instance (drop-folder .eml inputs, replies to a file outbox): 1,000 forged senders are
five here, with ``[outbox] replies_per_hour = 3``.
"""

from __future__ import annotations

import email
import email.policy
import itertools
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from bot.config.model import load_settings
from bot.daemon import Intake
from bot.digest.build import gather
from tests.factories import FormData, make_form_docx, make_scan_pdf, make_submission_eml, make_video

LURE = "补贴资金已到账，请登录 http://evil.example.net/login?id=1 领取，逾期作废！！！请尽快办理相关手续以免影响拨付"
_n = itertools.count(1)
MAX_ECHO = 60  # characters of an incoming subject a reply may repeat (outbox/mail/subject_echo.py)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("reply-media")
    return [make_form_docx(d / "申报书.docx", FormData()), make_scan_pdf(d / "全套扫描件.pdf"),
            make_video(d / "项目视频.mp4", 372)]


def _config(root: Path, per_hour: int = 120) -> Path:
    path = root / "config.toml"
    path.write_text(
        f"""
[store]
data_dir = "{root / "store"}"
[drop]
folders = ["{root / "dropbox"}"]
processed_dir = "{root / "processed"}"
settle_s = 0.0
[outbox]
transport = "file"
folder = "{root / "outbox"}"
replies_per_hour = {per_hour}
[campaign]
now = 2023-11-29T10:00:00+08:00
[office]
officers = [{{name = "张科长", email = "zhang@bureau.example.org", lead = true}}]
""",
        encoding="utf-8",
    )
    return path


def _drop(config: Path, raw: bytes) -> None:
    drop = load_settings(config).drop.folders[0]
    drop.mkdir(parents=True, exist_ok=True)
    (drop / f"{next(_n):04d}.eml").write_bytes(raw)


def _plain(sender: str, subject: str, *, reply_to: str | None = None, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "intake@example.org"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.net")
    if reply_to:
        msg["Reply-To"] = reply_to
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content("您好。")
    return msg.as_bytes()


def _run(config: Path) -> Intake:
    intake = Intake(load_settings(config))
    try:
        intake.run_once()
    finally:
        intake.close()
    return intake


def _out(config: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(load_settings(config).outbox.folder.glob("*.eml"))]


def _to(msg: email.message.EmailMessage) -> str:
    return msg["To"].addresses[0].addr_spec


def _dossiers(config: Path) -> int:
    import sqlite3

    db = sqlite3.connect(load_settings(config).store.db_path)
    try:
        return db.execute("SELECT COUNT(*) FROM dossiers").fetchone()[0]
    finally:
        db.close()


def test_forged_senders_with_a_lure_subject_get_no_relay(tmp_path):
    """GIVEN five mails from five forged senders, each with a third party's Reply-To and a lure
    subject with a URL, no materials WHEN processed THEN no dossier is made, at most
    replies_per_hour notes go out, each to the From (never the Reply-To), none repeating the URL
    or more than 60 characters of the subject, and the officers get exactly one alert."""
    config = _config(tmp_path, per_hour=3)
    for i in range(5):
        _drop(config, _plain(f"victim{i}@company{i}.example.com", LURE, reply_to="target@third.example.org"))
    _run(config)
    out = _out(config)
    notes = [m for m in out if m["Auto-Submitted"] == "auto-replied"]
    alerts = [m for m in out if _to(m) == "zhang@bureau.example.org"]
    assert _dossiers(config) == 0
    assert len(notes) == 3 and len(alerts) == 1
    assert not any("third.example.org" in str(m["To"]) for m in out)
    for m in notes:
        subject = str(m["Subject"])
        assert "http" not in subject and "evil" not in subject
        assert "补贴资金已到账" in subject and len(subject) <= len("回复：【未受理：未发现申报材料】") + MAX_ECHO
        assert "http" not in m.get_body(("plain",)).get_content()
    intake = Intake(load_settings(config))
    try:
        data = gather(intake.settings, intake.store, intake.campaign)
    finally:
        intake.close()
    assert any("每小时上限" in a for a in data.alerts)


def test_one_no_materials_note_per_sender_per_day_and_none_to_auto_replies(tmp_path):
    """GIVEN a naive auto-responder that answers every mail with a fresh subject, and out-of-office
    answers as Chinese clients write them WHEN they keep arriving THEN no dossier is made and the
    responder gets one note that day; the out-of-office answers get none."""
    config = _config(tmp_path)
    for i in range(4):
        _drop(config, _plain("bot@responder.example.com", f"您的邮件已收到（工单 {i}）"))
    for subject in ("【自动回复】您好，邮件已收到", "回复：休假中，12月4日回来", "Auto: 申报材料",
                    "Out of Office: 申报", "自动答复: 关于申报"):
        _drop(config, _plain("clerk@corp.example.cn", subject))
    _run(config)
    out = _out(config)
    assert _dossiers(config) == 0
    assert [_to(m) for m in out] == ["bot@responder.example.com"]
    assert "未发现申报材料" in out[0].get_body(("plain",)).get_content()


def test_a_receipt_echoes_at_most_60_sanitised_characters_of_the_subject(tmp_path, media):
    config = _config(tmp_path)
    _drop(config, make_submission_eml(media, sender="clerk@corp.example.cn", subject=LURE))
    _run(config)
    (receipt,) = _out(config)
    subject = str(receipt["Subject"])
    assert "http" not in subject and "evil.example.net" not in subject
    assert subject.startswith("回复：【回执】")
    assert len(subject) <= len("回复：【回执】") + MAX_ECHO + len(" [IIP2023-420100-0001-O]")


def test_reply_to_is_used_only_in_the_senders_own_domain(tmp_path, media):
    """A company's shared mailbox in its own domain gets the 回执; a stranger's Reply-To does not."""
    config = _config(tmp_path)
    own = email.message_from_bytes(make_submission_eml(media, sender="wang@corp.example.cn"),
                                   policy=email.policy.default)
    own["Reply-To"] = "shenbao@corp.example.cn"
    _drop(config, own.as_bytes())
    other = email.message_from_bytes(
        make_submission_eml(media, sender="li@other.example.cn", subject="另一份申报"), policy=email.policy.default)
    other["Reply-To"] = "mallory@evil.example.net"
    _drop(config, other.as_bytes())
    _run(config)
    assert sorted(_to(m) for m in _out(config)) == ["li@other.example.cn", "shenbao@corp.example.cn"]


def test_replies_a_limit_holds_are_kept_until_an_officer_releases_or_discards_them(tmp_path, media):
    """GIVEN five genuine submissions from five senders and ``replies_per_hour = 3`` WHEN processed
    THEN three replies go out and two are held, not lost: the digest and ``intake status`` say so,
    ``intake held list`` shows both; the one released goes out on the next run (same Message-ID
    and text, dated at the release, to its sender), the one discarded never does, each decision names its officer,
    and neither can be decided twice."""
    from typer.testing import CliRunner

    from bot.cli.main import app

    config = _config(tmp_path, per_hour=3)
    senders = [f"clerk{i}@corp{i}.example.cn" for i in range(5)]
    for i, s in enumerate(senders):
        _drop(config, make_submission_eml(media, sender=s, subject=f"第{i}份申报材料"))
    _run(config)
    first = [m for m in _out(config) if _to(m) in senders]
    assert len(first) == 3
    answered = {_to(m) for m in first}
    intake = Intake(load_settings(config))
    try:
        data = gather(intake.settings, intake.store, intake.campaign)
    finally:
        intake.close()
    assert any("2 封待发邮件因发送上限暂缓发送" in t and "intake held release" in t for t in data.tasks)

    runner = CliRunner(env={"COLUMNS": "200"})
    base = ["--config", str(config)]
    status = runner.invoke(app, [*base, "status", "--json"])
    assert status.exit_code == 0, status.output
    assert '"held": 2' in status.output
    listed = runner.invoke(app, [*base, "held", "list"])
    assert listed.exit_code == 0, listed.output
    waiting = [s for s in senders if s not in answered]
    assert all(s in listed.output for s in waiting) and "reply rate of 3 per hour" in listed.output
    # Held at the pinned 2023-11-29 10:00 Beijing time, and shown so (not as 02:00 UTC).
    assert "Asia/Shanghai" in listed.output and "2023-11-29 10:00" in listed.output, listed.output

    import sqlite3

    db = sqlite3.connect(load_settings(config).store.db_path)
    try:
        rows = db.execute("SELECT id, rcpt, raw FROM held_replies ORDER BY id").fetchall()
    finally:
        db.close()
    (keep_id, keep_to, keep_raw), (drop_id, drop_to, _) = rows
    assert {keep_to, drop_to} == set(waiting)
    config.write_text(config.read_text(encoding="utf-8").replace(  # the officer releases it next morning
        "now = 2023-11-29T10:00:00+08:00", "now = 2023-11-30T09:00:00+08:00"), encoding="utf-8")
    released = runner.invoke(app, [*base, "held", "release", str(keep_id), "--officer", "张科长"])
    assert released.exit_code == 0 and f"{keep_id} released by 张科长" in released.output
    dropped = runner.invoke(app, [*base, "held", "discard", str(drop_id)])
    assert dropped.exit_code == 0 and f"{drop_id} discarded by" in dropped.output, dropped.output
    again = runner.invoke(app, [*base, "held", "release", str(keep_id), str(drop_id)])
    assert again.exit_code == 1 and "no reply still held" in again.output
    assert runner.invoke(app, [*base, "held", "release"]).exit_code == 2

    _run(config)
    late = [m for m in _out(config) if _to(m) in waiting]
    assert [_to(m) for m in late] == [keep_to]
    held_msg = email.message_from_bytes(keep_raw, policy=email.policy.default)
    assert late[0]["Message-ID"] == held_msg["Message-ID"]
    assert late[0]["Subject"] == held_msg["Subject"]
    assert (held_msg["Date"].datetime.day, late[0]["Date"].datetime.day) == (29, 30)  # dated at the release
    db = sqlite3.connect(load_settings(config).store.db_path)
    try:
        decided = db.execute("SELECT h.id, h.state, h.decided_by, o.status FROM held_replies h"
                             " LEFT JOIN outgoing o ON o.id = h.outgoing_id ORDER BY h.id").fetchall()
    finally:
        db.close()
    assert decided == [(keep_id, "released", "张科长", "sent"), (drop_id, "discarded", decided[1][2], None)]
    assert late[0].get_body(("plain",)).get_content() == held_msg.get_body(("plain",)).get_content()
    assert "no reply is held" in runner.invoke(app, [*base, "held", "list"]).output


def test_a_reply_never_echoes_an_8bit_message_id_as_an_encoded_word(tmp_path, media):
    """GIVEN two submissions, one whose Message-ID holds raw GBK bytes (not a msg-id, RFC 5322
    §3.6.4), one with a plain Message-ID WHEN both are answered THEN the first reply carries no
    In-Reply-To or References (an RFC 2047 word there threads nowhere), the second cites its mail."""
    config = _config(tmp_path)
    plain_id = "<plain.1@corp.example.cn>"
    raw = make_submission_eml(media, sender="a@corp1.example.cn", message_id=plain_id)
    _drop(config, raw)
    gbk = make_submission_eml(media, sender="b@corp2.example.cn", message_id="<placeholder@corp2.example.cn>")
    _drop(config, gbk.replace(b"<placeholder@corp2.example.cn>", b"<" + "申报".encode("gbk") + b"@corp2.example.cn>"))
    _run(config)
    by_to = {_to(m): m for m in _out(config)}
    assert by_to["a@corp1.example.cn"]["In-Reply-To"] == plain_id
    eight = by_to["b@corp2.example.cn"]
    assert eight["In-Reply-To"] is None and eight["References"] is None
    assert b"=?" not in b"".join(line for line in eight.as_bytes().split(b"\n") if line.startswith((b"In-Reply-To", b"References")))
