"""Officers' commands by mail: real Dovecot and aiosmtpd on loopback with the daemon's Intake, plus
the confirmation's wording, authentication results and CCs on defect notices."""

from __future__ import annotations

import email
import email.policy
import shutil
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.daemon import Intake
from bot.officers.mail import authentication_problem
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
                 auth: list[str] = ()) -> bytes:  # fmt: skip
    """An officer's command mail as their client sends it (plus the receiving server's headers)."""
    msg = EmailMessage()
    for value in auth:
        msg["Authentication-Results"] = value
    msg["From"] = f"张科长 <{sender}>"
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


def server_settings(root: Path, dovecot: Dovecot, user: tuple[str, str], smtp: SmtpTestServer):  # noqa: F811
    return make_settings(
        root,
        imap={"enabled": True, "host": dovecot.host, "port": dovecot.port, "security": "plain",
              "username": user[0], "password": user[1]},
        outbox={"transport": "smtp"},
        smtp={"host": "127.0.0.1", "port": smtp.port, "security": "plain"},
        office={"officers": [ZHANG]},
    )  # fmt: skip


def sent_to(smtp: SmtpTestServer, rcpt: str) -> list[EmailMessage]:
    return [m.message for m in smtp.messages if rcpt in m.rcpts]


def text(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()


def test_an_officers_mail_waives_a_finding_and_the_applicant_gets_an_updated_receipt(
    tmp_path,
    dovecot: Dovecot,  # noqa: F811
    imap_user,  # noqa: F811
    smtp_server: SmtpTestServer,  # noqa: F811
):
    """GIVEN a mailed dossier answered with a 补正通知 for USCC_INVALID (real IMAP, real SMTP)
    WHEN the officer on the allow-list mails ``豁免 <tracking> USCC_INVALID 原因：…``
    THEN the verdict becomes accepted, the applicant receives a 回执（更新） saying the item was
    accepted by the bureau, the officer one confirmation, and ``intake show`` lists the decision."""
    settings = server_settings(tmp_path, dovecot, imap_user, smtp_server)
    dovecot.deliver(imap_user[0], wrong_uscc_submission(tmp_path), sender="clerk@example.com")
    intake = Intake(settings)
    try:
        intake.run_once()
        (notice,) = sent_to(smtp_server, "clerk@example.com")
        assert notice["X-Intake-Verdict"] == "defective"
        tracking = notice["X-Intake-Tracking"]
        dovecot.deliver(
            imap_user[0],
            command_mail(f"豁免 {tracking} USCC_INVALID 原因：老证照代码，经核实合法", auth=[PASS]),
            sender=ZHANG["email"],
        )
        report = intake.run_once()
        assert report.outcomes[0].skipped == "officer commands: 1/1 carried out"
        (dossier,) = intake.store.dossiers()
        assert (dossier.tracking, dossier.current_version, dossier.verdict) == (
            tracking,
            1,
            "accepted",
        )
        (decision,) = decisions_for(intake.store, tracking)
        assert (decision.action, decision.code, decision.officer, decision.via, decision.reason) == (
            "waive", "USCC_INVALID", "张科长", "mail", "老证照代码，经核实合法",
        )  # fmt: skip
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
    (confirmation,) = sent_to(smtp_server, ZHANG["email"])
    assert confirmation["X-Intake-Command-Results"] == "1/1"
    assert confirmation["Subject"].startswith("回复：豁免 ")
    assert "已执行" in text(confirmation) and "需补正 → 受理" in text(confirmation)
    config = tmp_path / "show.toml"
    config.write_text(f'[store]\ndata_dir = "{settings.store.data_dir}"\n', encoding="utf-8")
    shown = CliRunner().invoke(app, ["--config", str(config), "show", tracking])
    assert shown.exit_code == 0
    assert "张科长（mail）豁免 USCC_INVALID：老证照代码，经核实合法" in shown.output


def test_forged_and_unauthenticated_commands_do_nothing(
    tmp_path,
    dovecot: Dovecot,  # noqa: F811
    imap_user,  # noqa: F811
    smtp_server: SmtpTestServer,  # noqa: F811
):
    """GIVEN a defective dossier
    WHEN someone not on the allow-list mails a waiver (with the officer's display name), and a
    mail from the officer's address arrives with ``Authentication-Results: … dkim=fail``
    THEN nothing is waived: the first is ordinary mail (no confirmation, no decision), the second
    is refused with a confirmation naming the failed check."""
    settings = server_settings(tmp_path, dovecot, imap_user, smtp_server)
    dovecot.deliver(imap_user[0], wrong_uscc_submission(tmp_path), sender="clerk@example.com")
    intake = Intake(settings)
    try:
        intake.run_once()
        (tracking,) = [d.tracking for d in intake.store.dossiers()]
        forged = command_mail(f"豁免 {tracking} USCC_INVALID 原因：伪造", sender="zhang@evil.example.net",
                              auth=[PASS.replace("bureau", "evil")])  # fmt: skip
        dovecot.deliver(imap_user[0], forged, sender="zhang@evil.example.net")
        spoofed = command_mail(
            f"豁免 {tracking} USCC_INVALID 原因：仿冒",
            auth=["mx.example.org; dkim=fail (signature did not verify) header.d=bureau.example.org;"
                  " spf=pass smtp.mailfrom=bureau.example.org",
                  "forger.example.net; dkim=pass"],
        )  # fmt: skip
        dovecot.deliver(imap_user[0], spoofed, sender=ZHANG["email"])
        first, second = intake.run_once().outcomes
        # ordinary mail, not a command: a reply without files is kept, never judged as a version
        assert first.error is None and first.trackings == []
        assert first.skipped == f"reply to {tracking} without attachments"
        assert second.skipped == "officer commands: 0/1 carried out"
        assert decisions_for(intake.store, tracking) == []
        assert intake.store.dossier_by_tracking(tracking).verdict == "defective"
    finally:
        intake.close()
    assert not any(
        m["X-Intake-Command-Results"] for m in sent_to(smtp_server, "zhang@evil.example.net")
    )
    assert not any(m["X-Intake-Decision"] for m in sent_to(smtp_server, "clerk@example.com"))
    (refusal,) = sent_to(smtp_server, ZHANG["email"])
    assert refusal["X-Intake-Command-Results"] == "0/1"
    assert "未执行" in text(refusal) and "dkim=fail" in text(refusal)


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
    reply = next(m for m in _outbox(desk) if m["X-Intake-Command-Results"])
    assert reply["X-Intake-Command-Results"] == "2/5" and reply["To"] == ZHANG["email"]
    body_text = text(reply)
    assert f"受理编号 {unknown} 不存在" in body_text
    assert "问题代码 NO_SUCH_CODE 不存在" in body_text
    assert "豁免须写明问题代码" in body_text
    assert f"已为 {tracking} 记录备注" in body_text
    assert "全套扫描件.pdf" in body_text and "USCC_INVALID" in body_text  # the 查询 history
    assert [d.action for d in decisions_for(desk.store, tracking)] == ["note"]

    _drop_and_run(desk, "li.eml", command_mail(f"不予推荐 {tracking} 原因：不在我的类别",
                                               sender="li@bureau.example.org"))  # fmt: skip
    (li_reply,) = [m for m in _outbox(desk) if m["To"] == "li@bureau.example.org"]
    assert li_reply["X-Intake-Command-Results"] == "0/1"
    assert "不在您负责的类别（工厂类）之内" in text(li_reply)
    assert desk.store.dossier_by_tracking(tracking).state == "open"


def test_a_mailed_waiver_of_a_problem_the_dossier_does_not_have_is_refused(desk: Intake):
    """GIVEN a dossier whose only problem is its 统一社会信用代码 WHEN the lead mails a waiver of
    VIDEO_TOO_SHORT THEN the confirmation refuses it (no --force by mail) and nothing is recorded."""
    (tracking,) = [d.tracking for d in desk.store.dossiers()]
    _drop_and_run(desk, "zhang.eml",
                  command_mail(f"豁免 {tracking} VIDEO_TOO_SHORT 原因：科长同意"))  # fmt: skip
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


@pytest.mark.parametrize(
    ("headers", "require", "expected"),
    [
        ([PASS], False, None),
        ([PASS], True, None),
        ([], False, None),
        ([], True, "no authentication pass"),
        (["mx; dkim=fail header.d=x; spf=pass"], False, "dkim=fail"),
        (["mx; spf=softfail smtp.mailfrom=x"], False, "spf=softfail"),
        (["mx; dkim=none; spf=none; dmarc=fail"], False, "dmarc=fail"),
        (["mx; dkim=pass", "mx2;\r\n dkim=fail"], False, "dkim=fail"),  # any hop saying fail
        (["mx; dkim=neutral; spf=neutral"], True, "no authentication pass"),
    ],
)
def test_authentication_results_decide_whether_commands_may_run(headers, require, expected):
    """RFC 8601: a fail from any Authentication-Results header refuses the commands."""
    raw = b"".join(f"Authentication-Results: {h}\r\n".encode() for h in headers)
    raw += b"From: zhang@bureau.example.org\r\nSubject: x\r\n\r\nbody\r\n"
    assert authentication_problem(raw, require_pass=require) == expected
