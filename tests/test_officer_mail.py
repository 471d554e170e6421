"""Officers' commands by mail: real Dovecot and aiosmtpd on loopback with the daemon's Intake, plus
the confirmation round trip (issue 14, attack 1), the results' wording, trusted
Authentication-Results and CCs on defect notices."""

from __future__ import annotations

import email
import email.policy
import shutil
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.daemon import Intake
from bot.officers.auth_results import authentication_problem, dkim_pass_for, read_trace
from bot.store.decisions import decisions_for
from outbox.mail.tracking import make_tracking
from tests.conftest import SAMPLES, make_settings
from tests.factories import (
    FormData,
    break_uscc,
    make_form_docx,
    make_scan_pdf,
    make_submission_eml,
    make_uscc,
    make_video,
)

# Fixtures are imported by name and requested as parameters of the same name.
from tests.servers.dovecot import Dovecot, dovecot, imap_user  # noqa: F401
from tests.servers.smtp import SmtpTestServer, smtp_server  # noqa: F401

ZHANG = {"name": "张科长", "email": "zhang@bureau.example.org"}
PASS = "mx.example.org; dkim=pass header.d=bureau.example.org; spf=pass smtp.mailfrom=bureau.example.org"


def command_mail(subject: str, body: str = "请处理。", *, sender: str = ZHANG["email"],
                 auth: list[str] = (), written: list[str] = (), reply_to: str | None = None,
                 in_reply_to: str | None = None) -> bytes:  # fmt: skip
    """A command mail as a client sends it: ``written`` are Authentication-Results lines the
    SENDER wrote; ``auth`` those the receiving server (mx.example.org) prepends above its
    Received line, as a real MTA does."""
    msg = EmailMessage()
    for value in auth:
        msg["Authentication-Results"] = value
    if auth:
        msg["Received"] = "from client.example.net by mx.example.org with ESMTPS; Wed, 29 Nov 2023 09:00:00 +0800"
    for value in written:
        msg["Authentication-Results"] = value
    msg["From"] = f"张科长 <{sender}>"
    if reply_to:
        msg["Reply-To"] = reply_to
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg["To"] = "intake@example.org"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2023, 11, 29, 1, 0, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(domain="bureau.example.org")
    msg.set_content(body)
    return msg.as_bytes()


def wrong_uscc_submission(root: Path) -> bytes:
    """A complete mailed dossier whose only error is a wrong 统一社会信用代码 check character."""
    files = root / "files"
    make_form_docx(files / "申报书.docx",
                   FormData(uscc=break_uscc(make_uscc("91420100MA4K00001")), email="clerk@example.com"))  # fmt: skip
    make_scan_pdf(files / "全套扫描件.pdf")
    make_video(files / "项目视频.mp4", 372)
    return make_submission_eml(sorted(files.iterdir()), sender="clerk@example.com",
                               message_id="<dossier@mail.example.com>")  # fmt: skip


def server_settings(root: Path, dovecot: Dovecot, user: tuple[str, str], smtp: SmtpTestServer,  # noqa: F811
                    **office):  # fmt: skip
    return make_settings(
        root,
        imap={"enabled": True, "host": dovecot.host, "port": dovecot.port, "security": "plain",
              "username": user[0], "password": user[1]},
        outbox={"transport": "smtp"},
        smtp={"host": "127.0.0.1", "port": smtp.port, "security": "plain"},
        office={"officers": [ZHANG], **office},
    )  # fmt: skip


def deliver(dc: Dovecot, user: str, raw: bytes, *, envelope: str) -> None:  # noqa: F811
    """Deliver ``raw`` as the receiving MTA would: Postfix writes ``Return-Path: <envelope>`` on
    top at final delivery (dovecot-lda called with -f does not), then dovecot-lda files it."""
    dc.deliver(user, f"Return-Path: <{envelope}>\r\n".encode() + raw, sender=envelope)


def reply_to_request(request: EmailMessage, *, sender: str = ZHANG["email"], body: str = "同意") -> bytes:
    """The officer's phone reply to a confirmation request: 回复：<subject>, a short line, the
    request quoted below."""
    quoted = "\n".join(f"> {line}" for line in text(request).splitlines())
    return command_mail(f"回复：{request['Subject']}", f"{body}\n\n{quoted}\n", sender=sender,
                        in_reply_to=request["Message-ID"])  # fmt: skip


def token_of(request: EmailMessage) -> str:
    return str(request["Subject"]).rsplit(" ", 1)[-1]


def sent_to(smtp: SmtpTestServer, rcpt: str) -> list[EmailMessage]:
    return [m.message for m in smtp.messages if rcpt in m.rcpts]


def text(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()


def test_an_officers_waiver_runs_after_the_confirmation_round_trip(
    tmp_path,
    dovecot: Dovecot,  # noqa: F811
    imap_user,  # noqa: F811
    smtp_server: SmtpTestServer,  # noqa: F811
):
    """GIVEN a mailed dossier answered with a 补正通知 for USCC_INVALID (real IMAP, real SMTP)
    WHEN the officer mails ``豁免 <tracking> USCC_INVALID 原因：…``
    THEN nothing changes yet: the officer's configured address gets a request with a single-use
    token (subject and body); WHEN the officer replies to it from that address THEN the verdict
    becomes accepted, the applicant receives a 回执（更新）, the officer one results mail, the
    audit row holds the reply's envelope sender, Message-ID and the token, and ``intake show``
    lists the decision; a second reply with the same token runs nothing (a short note)."""
    settings = server_settings(tmp_path, dovecot, imap_user, smtp_server)
    deliver(dovecot, imap_user[0], wrong_uscc_submission(tmp_path), envelope="clerk@example.com")
    intake = Intake(settings)
    try:
        intake.run_once()
        (notice,) = sent_to(smtp_server, "clerk@example.com")
        assert notice["X-Intake-Verdict"] == "defective"
        tracking = notice["X-Intake-Tracking"]
        deliver(
            dovecot, imap_user[0],
            command_mail(f"豁免 {tracking} USCC_INVALID 原因：老证照代码，经核实合法", auth=[PASS]),
            envelope=ZHANG["email"],
        )  # fmt: skip
        (outcome,) = intake.run_once().outcomes
        assert outcome.skipped == "officer commands: 1 awaiting confirmation"
        assert decisions_for(intake.store, tracking) == []
        assert intake.store.dossier_by_tracking(tracking).verdict == "defective"
        (request,) = sent_to(smtp_server, ZHANG["email"])
        token = token_of(request)
        assert len(token) == 40 and int(token, 16) >= 0  # 160 random bits, hex
        assert f"confirm {token}" in text(request) and "确认后执行" in text(request)
        assert f"豁免 {tracking} USCC_INVALID" in text(request)

        reply = reply_to_request(request)
        deliver(dovecot, imap_user[0], reply, envelope=ZHANG["email"])
        (outcome,) = intake.run_once().outcomes
        assert outcome.skipped == "officer commands: 1/1 carried out"
        (dossier,) = intake.store.dossiers()
        assert (dossier.tracking, dossier.current_version, dossier.verdict) == (tracking, 1, "accepted")
        (decision,) = decisions_for(intake.store, tracking)
        assert (decision.action, decision.code, decision.officer, decision.via, decision.reason) == (
            "waive", "USCC_INVALID", "张科长", "mail", "老证照代码，经核实合法",
        )  # fmt: skip
        reply_id = email.message_from_bytes(reply)["Message-ID"]
        assert (decision.envelope_sender, decision.message_id, decision.token) == (
            ZHANG["email"], reply_id, token,
        )  # fmt: skip

        # the same token again (a second tap on "send"): runs nothing, one short note
        deliver(dovecot, imap_user[0], reply_to_request(request, body="再次确认"), envelope=ZHANG["email"])
        (outcome,) = intake.run_once().outcomes
        assert outcome.skipped == "confirmation: token already used"
        assert len(decisions_for(intake.store, tracking)) == 1
    finally:
        intake.close()
    _, updated = sent_to(smtp_server, "clerk@example.com")
    assert (updated["X-Intake-Verdict"], updated["X-Intake-Decision"]) == ("accepted", "waive")
    assert (
        updated["Subject"] == f"【回执（更新）】基于工业互联网平台的智能工厂建设项目 [{tracking}]"
    )
    assert "“统一社会信用代码无效”（" in text(updated)
    assert "经我局审核同意，不再要求补正。审核意见：老证照代码，经核实合法" in text(updated)
    assert updated["In-Reply-To"] == notice["Message-ID"]
    _, results, note = sent_to(smtp_server, ZHANG["email"])
    assert results["X-Intake-Command-Results"] == "1/1"
    assert results["Subject"].startswith("回复：【请确认指令】") and token not in results["Subject"]
    assert "已执行" in text(results) and "需补正 → 受理" in text(results)
    assert note["X-Intake-Confirm"] == "note" and "已使用过" in text(note)
    config = tmp_path / "show.toml"
    config.write_text(f'[store]\ndata_dir = "{settings.store.data_dir}"\n', encoding="utf-8")
    shown = CliRunner().invoke(app, ["--config", str(config), "show", tracking])
    assert shown.exit_code == 0
    assert "张科长（mail）豁免 USCC_INVALID：老证照代码，经核实合法" in shown.output
    assert f"确认码 {token[:8]}…" in shown.output and ZHANG["email"] in shown.output


def test_a_forged_officer_command_changes_nothing_and_the_real_officer_is_asked(
    tmp_path,
    dovecot: Dovecot,  # noqa: F811
    imap_user,  # noqa: F811
    smtp_server: SmtpTestServer,  # noqa: F811
):
    """GIVEN a defective dossier (real IMAP, real SMTP)
    WHEN an outsider mails a waiver and a rejection with the officer's From (no DKIM), a
    Reply-To of their own and an envelope sender of their own, and someone not on the list
    mails a waiver with the officer's display name
    THEN nothing changes (no decision, verdict and 汇总表 state as before, no mail to the
    applicant); the officer's configured address, and only it, gets one request naming the
    forger's envelope sender; the attacker gets nothing (before: waived, rejected, both
    applicants mailed)."""
    settings = server_settings(tmp_path, dovecot, imap_user, smtp_server)
    deliver(dovecot, imap_user[0], wrong_uscc_submission(tmp_path), envelope="clerk@example.com")
    intake = Intake(settings)
    try:
        intake.run_once()
        (tracking,) = [d.tracking for d in intake.store.dossiers()]
        forged = command_mail(
            f"豁免 {tracking} USCC_INVALID 原因：伪造",
            f"不予推荐 {tracking} 理由：伪造",
            reply_to="attacker@evil.example.net",
        )  # fmt: skip
        deliver(dovecot, imap_user[0], forged, envelope="bounce@evil.example.net")
        stranger = command_mail(f"豁免 {tracking} USCC_INVALID 原因：伪造", sender="zhang@evil.example.net",
                                auth=[PASS.replace("bureau", "evil")])  # fmt: skip
        deliver(dovecot, imap_user[0], stranger, envelope="zhang@evil.example.net")
        first, second = intake.run_once().outcomes
        assert first.skipped == "officer commands: 2 awaiting confirmation"
        # ordinary mail, not a command: a reply without files is kept, never judged as a version
        assert second.error is None and second.trackings == []
        assert second.skipped == f"reply to {tracking} without attachments"
        assert decisions_for(intake.store, tracking) == []
        dossier = intake.store.dossier_by_tracking(tracking)
        assert (dossier.verdict, dossier.state) == ("defective", "open")
        stored = intake.store.conn.execute(
            "SELECT request_envelope_sender, state FROM officer_requests").fetchall()  # fmt: skip
        assert [tuple(r) for r in stored] == [("bounce@evil.example.net", "pending")]
    finally:
        intake.close()
    for outsider in ("attacker@evil.example.net", "bounce@evil.example.net"):
        assert sent_to(smtp_server, outsider) == []
    assert not any(m["X-Intake-Command-Results"] for m in sent_to(smtp_server, "zhang@evil.example.net"))
    assert not any(m["X-Intake-Decision"] for m in sent_to(smtp_server, "clerk@example.com"))
    (request,) = sent_to(smtp_server, ZHANG["email"])
    assert request["To"] == ZHANG["email"] and request["X-Intake-Confirm"] == "request"
    assert "bounce@evil.example.net" in text(request) and "请勿回复" in text(request)


def test_a_trusted_dkim_fail_refuses_and_a_sender_written_pass_below_the_server_is_ignored(
    tmp_path,
    dovecot: Dovecot,  # noqa: F811
    imap_user,  # noqa: F811
    smtp_server: SmtpTestServer,  # noqa: F811
):
    """GIVEN ``trusted_authserv_id = "mx.example.org"``, ``require_authentication_results`` and
    ``trusted_dkim_skips_confirmation``
    WHEN one mail carries the server's ``dkim=fail``, and another the server's ``dkim=none``
    with a sender-written ``mx.example.org; dkim=pass`` and ``x; dkim=pass`` below it
    THEN the first is refused outright, and the second too (no trusted pass; before: the
    sender's line was believed and the waiver ran); no decision either way."""
    settings = server_settings(tmp_path, dovecot, imap_user, smtp_server,
                               trusted_authserv_id="mx.example.org",
                               require_authentication_results=True,
                               trusted_dkim_skips_confirmation=True)  # fmt: skip
    deliver(dovecot, imap_user[0], wrong_uscc_submission(tmp_path), envelope="clerk@example.com")
    intake = Intake(settings)
    try:
        intake.run_once()
        (tracking,) = [d.tracking for d in intake.store.dossiers()]
        failed = command_mail(
            f"豁免 {tracking} USCC_INVALID 原因：仿冒",
            auth=["mx.example.org; dkim=fail (signature did not verify) header.d=bureau.example.org;"
                  " spf=pass smtp.mailfrom=bureau.example.org"],
            written=["forger.example.net; dkim=pass"],
        )  # fmt: skip
        deliver(dovecot, imap_user[0], failed, envelope=ZHANG["email"])
        below = command_mail(
            f"豁免 {tracking} USCC_INVALID 原因：仿冒",
            auth=["mx.example.org; dkim=none; spf=none smtp.mailfrom=evil.example.net"],
            written=["mx.example.org; dkim=pass header.d=bureau.example.org; spf=pass",
                     "x; dkim=pass header.d=bureau.example.org"],
        )  # fmt: skip
        deliver(dovecot, imap_user[0], below, envelope="bounce@evil.example.net")
        first, second = intake.run_once().outcomes
        assert first.skipped == "officer commands: 0/1 carried out"
        assert second.skipped == "officer commands: 0/1 carried out"
        assert decisions_for(intake.store, tracking) == []
        assert intake.store.dossier_by_tracking(tracking).verdict == "defective"
    finally:
        intake.close()
    refusal, refusal2 = sent_to(smtp_server, ZHANG["email"])
    assert refusal["X-Intake-Command-Results"] == "0/1"
    assert "未执行" in text(refusal) and "dkim=fail" in text(refusal)
    assert "no authentication pass" in text(refusal2)


# -- without servers: a dossier dropped as a folder, officers' mails dropped as .eml files --------


@pytest.fixture
def desk(tmp_path):
    """An embedded instance with the 安全类 sample dossier (wrong 统一社会信用代码) and two
    officers: 张科长 (all categories, lead) and 李工 (工厂类 only)."""
    settings = make_settings(tmp_path, office={"officers": [
        {**ZHANG, "lead": True},
        {"name": "李工", "email": "li@bureau.example.org", "categories": ["工厂类"]},
    ], "cc_officers_on_defects": True})  # fmt: skip
    sample = SAMPLES / "04-光谷示例安全-信用代码错误"
    shutil.copytree(sample, settings.drop.folders[0] / sample.name)
    intake = Intake(settings)
    intake.run_once()
    yield intake
    intake.close()


def _drop_and_run(intake: Intake, name: str, raw: bytes):
    (intake.settings.drop.folders[0] / name).write_bytes(raw)
    return intake.run_once()


def _outbox(intake: Intake) -> list[EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(intake.settings.outbox.folder.glob("*.eml"))
    ]


def _request(intake: Intake, to: str = ZHANG["email"]) -> EmailMessage:
    """The confirmation request to ``to`` whose token is still pending (the latest)."""
    (token,) = intake.store.conn.execute(
        "SELECT token FROM officer_requests WHERE officer_email=? AND state='pending'"
        " ORDER BY rowid DESC LIMIT 1", (to,)).fetchone()  # fmt: skip
    return next(m for m in _outbox(intake) if m["X-Intake-Confirm"] == "request"
                and token_of(m) == token)  # fmt: skip


def _confirm(intake: Intake, to: str = ZHANG["email"], name: str = "confirm.eml", **reply):
    """The officer ``to`` replies to their pending request (``reply``: reply_to_request options)."""
    return _drop_and_run(intake, name, reply_to_request(_request(intake, to), **reply))


def test_one_confirmation_answers_several_commands_with_clear_errors(desk: Intake):
    """GIVEN a reply to a digest carrying six command lines above the quoted digest
    WHEN processed THEN one confirmation lists each: unknown tracking number, unknown code,
    a missing code, a note carried out, a 查询 with the history, and (for 李工, whose category
    is 工厂类) a rejection of a 安全类 dossier refused as not allowed."""
    (tracking,) = [d.tracking for d in desk.store.dossiers()]
    unknown = make_tracking("IIP2023", "420100", 99)  # well-formed, but no such dossier
    body = (
        f"豁免 {unknown} USCC_INVALID 原因：编号写错\n"
        f"豁免 {tracking} NO_SUCH_CODE 原因：代码写错\n"
        f"豁免 {tracking} 原因：忘了代码\n"
        f"备注 {tracking} 已电话联系企业\n"
        f"查询 {tracking}\n"
        "\n> 【每日汇总】……\n"
    )
    _drop_and_run(desk, "zhang.eml", command_mail("回复：【每日汇总】2023年11月29日", body))
    request = _request(desk)
    assert text(request).count("确认后执行") == 4 and "豁免须写明问题代码" in text(request)
    assert decisions_for(desk.store, tracking) == []
    _confirm(desk)
    reply = next(m for m in _outbox(desk) if m["X-Intake-Command-Results"])
    assert reply["X-Intake-Command-Results"] == "2/4" and reply["To"] == ZHANG["email"]
    body_text = text(reply)
    assert f"受理编号 {unknown} 不存在" in body_text
    assert "问题代码 NO_SUCH_CODE 不存在" in body_text
    assert f"已为 {tracking} 记录备注" in body_text
    assert "全套扫描件.pdf" in body_text and "USCC_INVALID" in body_text  # the 查询 history
    assert [d.action for d in decisions_for(desk.store, tracking)] == ["note"]

    _drop_and_run(desk, "li.eml", command_mail(f"不予推荐 {tracking} 原因：不在我的类别",
                                               sender="li@bureau.example.org"))  # fmt: skip
    _confirm(desk, "li@bureau.example.org", "li-confirm.eml", sender="li@bureau.example.org")
    (li_reply,) = [m for m in _outbox(desk) if m["To"] == "li@bureau.example.org"
                   and m["X-Intake-Command-Results"]]  # fmt: skip
    assert li_reply["X-Intake-Command-Results"] == "0/1"
    assert "不在您负责的类别（工厂类）之内" in text(li_reply)
    assert desk.store.dossier_by_tracking(tracking).state == "open"


def test_a_mailed_waiver_of_a_problem_the_dossier_does_not_have_is_refused(desk: Intake):
    """GIVEN a dossier whose only problem is its 统一社会信用代码 WHEN the lead mails a waiver of
    VIDEO_TOO_SHORT THEN the confirmation refuses it (no --force by mail) and nothing is recorded."""
    (tracking,) = [d.tracking for d in desk.store.dossiers()]
    _drop_and_run(desk, "zhang.eml",
                  command_mail(f"豁免 {tracking} VIDEO_TOO_SHORT 原因：科长同意"))  # fmt: skip
    _confirm(desk)
    (reply,) = [m for m in _outbox(desk) if m["X-Intake-Command-Results"]]
    assert reply["X-Intake-Command-Results"] == "0/1"
    assert f"{tracking} 该项目当前没有“视频时长不足 5 分钟”（VIDEO_TOO_SHORT）问题" in text(reply)
    assert "邮件指令不能预先豁免" in text(reply)
    assert decisions_for(desk.store, tracking) == []


def test_officer_mail_without_commands_and_auto_replies_are_ordinary_mail(desk: Intake):
    """An officer's out-of-office reply quoting a command, and a plain officer mail, are not
    intercepted (the pipeline handles them as any other mail)."""
    (tracking,) = [d.tracking for d in desk.store.dossiers()]
    ooo = email.message_from_bytes(
        command_mail(
            "自动回复：回复：豁免", f"豁免 {tracking} USCC_INVALID 原因：自动回复里的引用"
        ),
        policy=email.policy.default,
    )
    ooo["Auto-Submitted"] = "auto-replied"
    (outcome,) = _drop_and_run(desk, "ooo.eml", ooo.as_bytes()).outcomes
    assert not (outcome.skipped or "").startswith("officer commands")
    assert decisions_for(desk.store, tracking) == []


def test_defect_notices_cc_the_responsible_officers(desk: Intake):
    """With cc_officers_on_defects, the 补正通知 of a 安全类 dossier is copied to the officers
    covering all categories (no officer lists 安全类), not to 李工 (工厂类)."""
    (notice,) = [m for m in _outbox(desk) if m["X-Intake-Verdict"] == "defective"]
    assert ZHANG["email"] in notice["Cc"] and "li@bureau.example.org" not in notice["Cc"]
    rcpts = desk.store.conn.execute(
        "SELECT rcpts FROM outgoing WHERE kind='defect_notice'"
    ).fetchone()[0]
    assert ZHANG["email"] in rcpts


def test_a_token_from_another_address_expired_unknown_or_auto_replied_runs_nothing(desk: Intake):
    """GIVEN 张科长's pending request WHEN its token comes back from 李工's address, in an
    out-of-office answer from 张科长's mailbox, and as an unknown token from 张科长, and finally
    from 张科长 after the token expired THEN nothing runs; 张科长's configured address gets a short
    note for the other address, the unknown and the expired token (none to the auto-reply)."""
    (tracking,) = [d.tracking for d in desk.store.dossiers()]
    _drop_and_run(desk, "zhang.eml", command_mail(f"不予推荐 {tracking} 原因：重复申报"))
    request = _request(desk)
    (o,) = _drop_and_run(desk, "li.eml", reply_to_request(request, sender="li@bureau.example.org")).outcomes
    assert o.skipped == "confirmation: from another address"
    ooo = email.message_from_bytes(reply_to_request(request), policy=email.policy.default)
    ooo["Auto-Submitted"] = "auto-replied"
    (o,) = _drop_and_run(desk, "ooo.eml", ooo.as_bytes()).outcomes
    assert o.skipped == "confirmation: automatic mail ignored"
    (o,) = _drop_and_run(desk, "guess.eml", command_mail(f"回复：confirm {'0' * 40}")).outcomes
    assert o.skipped == "confirmation: unknown token"
    desk.settings.campaign.now += timedelta(seconds=desk.settings.office.confirmation_valid_s + 1)
    (o,) = _confirm(desk).outcomes
    assert o.skipped == "confirmation: token expired"
    assert decisions_for(desk.store, tracking) == []
    assert desk.store.dossier_by_tracking(tracking).state == "open"
    notes = [text(m) for m in _outbox(desk) if m["X-Intake-Confirm"] == "note"]
    assert all(m["To"] == ZHANG["email"] for m in _outbox(desk) if m["X-Intake-Confirm"] == "note")
    assert len(notes) == 3
    assert any("li@bureau.example.org" in n for n in notes)
    assert any("不存在" in n for n in notes) and any("已过期" in n for n in notes)


def test_a_trusted_dkim_pass_may_skip_the_round_trip_when_the_operator_says_so(tmp_path):
    """With ``trusted_dkim_skips_confirmation`` and the server's ``dkim=pass`` for the officer's
    domain, the waiver runs at once; its audit row has the envelope sender and Message-ID, no
    token. The same pass for another domain, or written by the sender, still asks first."""
    settings = make_settings(tmp_path, office={
        "officers": [ZHANG], "trusted_authserv_id": "mx.example.org",
        "trusted_dkim_skips_confirmation": True})  # fmt: skip
    sample = SAMPLES / "04-光谷示例安全-信用代码错误"
    shutil.copytree(sample, settings.drop.folders[0] / sample.name)
    intake = Intake(settings)
    try:
        intake.run_once()
        (tracking,) = [d.tracking for d in intake.store.dossiers()]
        other = command_mail(f"备注 {tracking} 其他域名", auth=["mx.example.org; dkim=pass header.d=evil.example.net"])
        (o,) = _drop_and_run(intake, "other.eml", b"Return-Path: <x@evil.example.net>\r\n" + other).outcomes
        assert o.skipped == "officer commands: 1 awaiting confirmation"
        written = command_mail(f"备注 {tracking} 自己写的", auth=["mx.example.org; dkim=none"],
                               written=[PASS])
        (o,) = _drop_and_run(intake, "written.eml", written).outcomes
        assert o.skipped == "officer commands: 1 awaiting confirmation"
        mail = command_mail(f"豁免 {tracking} USCC_INVALID 原因：核实", auth=[PASS])
        (o,) = _drop_and_run(intake, "signed.eml", f"Return-Path: <{ZHANG['email']}>\r\n".encode() + mail).outcomes
        assert o.skipped == "officer commands: 1/1 carried out"
        (d,) = decisions_for(intake.store, tracking)
        assert (d.action, d.envelope_sender, d.token) == ("waive", ZHANG["email"], None)
        assert d.message_id == email.message_from_bytes(mail)["Message-ID"]
    finally:
        intake.close()


@pytest.mark.parametrize(
    ("headers", "require", "expected"),
    [
        ([PASS], False, None),
        ([PASS], True, None),
        ([], False, None),
        ([], True, "no authentication pass"),
        (["mx.example.org; dkim=fail header.d=x; spf=pass"], False, "dkim=fail"),
        (["mx.example.org; spf=softfail smtp.mailfrom=x"], False, "spf=softfail"),
        (["mx.example.org; dkim=none; spf=none; dmarc=fail"], False, "dmarc=fail"),
        (["mx.example.org (our MX) ;\r\n dkim=neutral; spf=neutral"], True, "no authentication pass"),
        # another authserv-id is never read, whatever it says
        (["other.example.net; dkim=fail"], False, None),
        (["other.example.net; dkim=pass"], True, "no authentication pass"),
        # the server writes dkim and dmarc as two adjacent headers: both count
        (["mx.example.org; dkim=pass header.d=bureau.example.org", "mx.example.org; dmarc=fail"],
         False, "dmarc=fail"),
        # a sender-written line below the server's block: ignored, same id or not
        (["mx.example.org; dkim=none", "Received: from x by mx", "mx.example.org; dkim=pass"],
         True, "no authentication pass"),
        (["mx.example.org; dkim=pass; spf=pass", "Received: from x by mx", "mx.example.org; dkim=fail"],
         False, None),
        # directly below, the server's own dkim result (topmost) wins over the sender's
        (["mx.example.org; dkim=none; spf=none", "mx.example.org; dkim=pass; spf=pass"],
         True, "no authentication pass"),
    ],
)
def test_only_the_receiving_servers_topmost_authentication_results_count(headers, require, expected):
    """RFC 8601 §5: only Authentication-Results with our trusted authserv-id, from the topmost
    run our receiving server wrote, are read; a trusted fail refuses the commands."""
    raw = b"Return-Path: <zhang@bureau.example.org>\r\n"
    for h in headers:
        raw += (h if h.startswith("Received:") else f"Authentication-Results: {h}").encode() + b"\r\n"
    raw += b"From: zhang@bureau.example.org\r\nSubject: x\r\n\r\nbody\r\n"
    trace = read_trace(raw, "MX.example.org")
    assert authentication_problem(trace, require_pass=require) == expected
    assert trace.envelope_sender == "zhang@bureau.example.org"
    assert read_trace(raw, "").results == {}  # no trusted id configured: nothing is believed


def test_dkim_pass_counts_only_for_the_officers_domain():
    raw = b"Authentication-Results: mx; dkim=pass header.d=bureau.example.org\r\n\r\n"
    assert dkim_pass_for(read_trace(raw, "mx"), "bureau.example.org")
    assert not dkim_pass_for(read_trace(raw, "mx"), "example.org")


def test_forged_unknown_tokens_do_not_use_up_the_officers_confirmations(desk: Intake):
    """Attack (tests/robustness/README.md T4): 40 mails with a forged From of 张科长, each
    "confirm <random token>", used to spend the daily cap shared by notes and confirmation
    requests, so 张科长's genuine command that day was ignored without a word. Notes now have a
    cap of their own; the genuine command still gets its confirmation request."""
    import secrets

    from bot.officers.mail import NOTES_PER_OFFICER_PER_DAY

    (tracking,) = [d.tracking for d in desk.store.dossiers()]
    for n in range(NOTES_PER_OFFICER_PER_DAY + 10):
        (desk.settings.drop.folders[0] / f"forged-{n}.eml").write_bytes(
            command_mail(f"回复：confirm {secrets.token_hex(20)}"))
    desk.run_once()
    notes = [m for m in _outbox(desk) if m["X-Intake-Confirm"] == "note"]
    assert 1 <= len(notes) < NOTES_PER_OFFICER_PER_DAY
    (o,) = _drop_and_run(desk, "zhang.eml", command_mail(f"不予推荐 {tracking} 原因：重复申报")).outcomes
    assert o.skipped == "officer commands: 1 awaiting confirmation"
    assert _request(desk)["To"] == ZHANG["email"]


def _genuine_request_held(desk: Intake) -> tuple[str, int]:
    """30 forged commands from 张科长's address use up the day's confirmation requests; 张科长's
    genuine 不予推荐 after them is held. Returns (the dossier's tracking number, the held id)."""
    from bot.officers.mail import NOTES_PER_OFFICER_PER_DAY

    (tracking,) = [d.tracking for d in desk.store.dossiers()]
    for n in range(NOTES_PER_OFFICER_PER_DAY):
        (desk.settings.drop.folders[0] / f"forged-{n}.eml").write_bytes(
            command_mail(f"备注 {tracking} 原因：伪造{n}"))
    desk.run_once()
    requests = [m for m in _outbox(desk) if m["X-Intake-Confirm"] == "request"]
    assert len(requests) == NOTES_PER_OFFICER_PER_DAY
    (o,) = _drop_and_run(desk, "zhang.eml", command_mail(f"不予推荐 {tracking} 原因：重复申报")).outcomes
    assert o.skipped == "officer commands: 1 awaiting confirmation (request held: daily cap reached)"
    (held_id,) = [r[0] for r in desk.store.conn.execute(
        "SELECT id FROM held_replies WHERE kind = 'officer_confirm' AND state = 'held'")]
    return tracking, held_id


def test_forged_commands_past_the_cap_hold_the_genuine_request_instead_of_losing_it(desk: Intake):
    """Attack (issue 17 item 20): 30 mails with a forged From of 张科长, each a command, use up
    the day's confirmation requests to 张科长. The genuine command after them is not dropped:
    its request is held, the digest says so, and once released (intake held release) the
    officer's confirmation runs it."""
    from bot.digest.build import gather
    from bot.officers.mail import NOTES_PER_OFFICER_PER_DAY
    from outbox.delivery import held

    tracking, held_id = _genuine_request_held(desk)
    assert len([m for m in _outbox(desk) if m["X-Intake-Confirm"] == "request"]) == NOTES_PER_OFFICER_PER_DAY
    data = gather(desk.settings, desk.store, desk.campaign)
    assert any("1 封待发邮件因发送上限暂缓发送" in t for t in data.tasks)
    with desk.store.transaction():  # what `intake held release ID` does (tests/test_trust_replies.py)
        assert held.release(desk.store.conn, held_id, officer="张科长", now=desk.pipeline.now()) is not None
    desk.run_once()  # sends the released request
    request = _request(desk)
    assert "重复申报" in text(request)
    _drop_and_run(desk, "confirm.eml", reply_to_request(request))
    assert desk.store.dossier_by_tracking(tracking).state == "rejected"


def test_a_held_request_released_a_day_late_is_valid_from_its_release(desk: Intake, tmp_path):
    """GIVEN the genuine command's confirmation request held past the daily cap (as above)
    WHEN an officer releases it 26 hours later (``intake held release ID``)
    THEN the request states a validity counted from the release, and the officer's confirmation
    runs the command: it used to arrive expired, and the confirmation ran nothing."""
    tracking, held_id = _genuine_request_held(desk)
    later = desk.settings.campaign.now + timedelta(hours=26)  # 2023-11-30 12:00 +08:00
    config = tmp_path / "late.toml"
    config.write_text(f'[store]\ndata_dir = "{desk.settings.store.data_dir}"\n'
                      f"[campaign]\nnow = {later.isoformat()}\n", encoding="utf-8")
    released = CliRunner().invoke(app, ["--config", str(config), "held", "release", str(held_id),
                                        "--officer", "张科长"])
    assert released.exit_code == 0, released.output
    desk.settings.campaign.now = later
    desk.run_once()  # sends the released request
    request = _request(desk)
    assert "2023-12-01 12:00 前" in text(request)  # 24 hours from the release
    assert "2023-11-30 10:00" not in text(request) and "2023-11-30 10:00" not in str(request.get_body(("html",)))
    assert "2023-12-01 12:00 前" in request.get_body(("html",)).get_content()
    _drop_and_run(desk, "confirm.eml", reply_to_request(request))
    assert desk.store.dossier_by_tracking(tracking).state == "rejected"


def test_an_applicants_mail_that_says_confirm_and_a_checksum_is_still_a_submission(desk: Intake):
    """Attack T5: a mail from a non-officer holding "confirm <40 hex digits>" (a SHA-1 of a
    video, say) was taken for a confirmation with an unknown token and dropped: never judged,
    never answered. It is ordinary mail now (judged and answered)."""
    raw = command_mail("申报材料补充", f"视频文件的 SHA1 校验值，请 confirm: {'ab' * 20}",
                       sender="wang@applicant.example.com")
    (o,) = _drop_and_run(desk, "applicant.eml", raw).outcomes
    assert not (o.skipped or "").startswith("confirmation")
    assert any("wang@applicant.example.com" in str(m["To"]) for m in _outbox(desk))  # answered
