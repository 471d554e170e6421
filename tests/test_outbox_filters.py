"""Content that passes filters: every kind of mail we compose has a plain part saying all the HTML
part says, one domain for From, MAIL FROM and Message-ID, no shortened links, and a calm subject;
the checks themselves catch each fault."""

from __future__ import annotations

from email.message import EmailMessage
from functools import cache

import pytest

from bot.config.model import Settings
from bot.digest.build import CategoryCounts, DigestData
from bot.processing.oversize import compose_oversize
from bot.processing.replies import ReplyBuilder
from outbox.documents.digest import compose_digest
from outbox.mail.bounce_mail import BounceAlert, compose_bounce_alert
from outbox.mail.compose import compose_defect_notice, compose_receipt
from outbox.mail.decision_mail import (
    CommandResult,
    compose_officer_reply,
    compose_rejection_notice,
    compose_restore_notice,
    compose_waiver_notice,
)
from outbox.mail.filters import content_problems
from parsers.mime import parse_message
from rules.campaign import load_campaign
from tests.factories import make_submission_eml
from tests.outbox_builders import (
    NOW,
    TRACKING,
    make_ctx,
    make_dossier,
    phone_warning,
    video_finding,
)

DOMAIN = "example.org"


def ctx():
    return make_ctx(from_addr=f"shenbao-intake@{DOMAIN}", domain=DOMAIN)


@cache
def all_kinds() -> dict[str, EmailMessage]:
    d, to = make_dossier(), "wangxm@example.com"
    settings = Settings(outbox={"from_addr": f"shenbao-intake@{DOMAIN}", "domain": DOMAIN})
    mail = parse_message(make_submission_eml([], sender=to))
    digest = DigestData(
        unit="武汉市经济和信息化局", level="city", campaign_name="2023年工业互联网试点示范",
        now=NOW, deadline="2023年12月1日", days_left=2, scope="全部类别",
        counts={"工厂类": CategoryCounts(3, 2, 1, 1, 0)}, changes=[f"[{TRACKING}] 新受理"],
        defects=[(TRACKING, "智能工厂项目", "武汉示例", ["视频过短"])], bounces=[(TRACKING, "550 x")],
        quarantined=[(7, "a.zip", "BadZipFile")], decisions=["张科长 豁免 VIDEO_TOO_SHORT"],
    )  # fmt: skip
    return {
        "oversize": compose_oversize(ReplyBuilder(settings, load_campaign(None)), mail, to=to,
                                     size=60_000_000, limit_bytes=50_000_000, now=NOW),  # fmt: skip
        "digest": compose_digest(digest, "申报受理", f"shenbao-intake@{DOMAIN}", DOMAIN, "张科长",
                                 f"zhang@{DOMAIN}", "loop"),  # fmt: skip
        "receipt": compose_receipt(ctx(), d, [], TRACKING, to=to),
        "receipt_warnings": compose_receipt(ctx(), d, [phone_warning()], TRACKING, to=to),
        "defect": compose_defect_notice(ctx(), d, [video_finding(), phone_warning()], TRACKING, to=to),
        "waiver": compose_waiver_notice(
            ctx(), d, [phone_warning()], TRACKING, to=to, waived=["VIDEO_TOO_SHORT"], version=2,
            reason="视频另行报送光盘", waived_findings=[video_finding()],
        ),  # fmt: skip
        "reject": compose_rejection_notice(ctx(), d, TRACKING, to=to, reason="不符合申报条件"),
        "restore": compose_restore_notice(ctx(), d, TRACKING, to=to, reason="复核后恢复"),
        "officer_reply": compose_officer_reply(
            ctx(), to="zhang@example.org", officer_name="张科长",
            results=[CommandResult("查询 " + TRACKING, True, "已查询", "受理编号：…")],
        ),  # fmt: skip
        "bounce_alert": compose_bounce_alert(
            ctx(), [("张科长", "zhang@example.org")],
            BounceAlert(TRACKING, "武汉示例智能制造有限公司", "智能工厂项目", "王小明", "13800138000",
                        to, "receipt", "2023年11月20日 09:30", "收件邮箱地址不存在", "550 5.1.1 User unknown"),
        ),  # fmt: skip
    }


KINDS = ["oversize", "digest", "receipt", "receipt_warnings", "defect", "waiver", "reject",
         "restore", "officer_reply", "bounce_alert"]


def test_the_list_covers_every_kind() -> None:
    assert sorted(all_kinds()) == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_mail_we_send_passes(kind: str) -> None:
    assert content_problems(all_kinds()[kind]) == []


def _with(msg: EmailMessage, **headers: str) -> EmailMessage:
    for name, value in headers.items():
        del msg[name.replace("_", "-")]
        msg[name.replace("_", "-")] = value
    return msg


def test_each_fault_is_caught() -> None:
    base = lambda: compose_receipt(ctx(), make_dossier(), [], TRACKING, to="a@example.com")  # noqa: E731
    assert any(p.startswith("from_domain_mismatch") for p in content_problems(
        _with(base(), Message_ID="<x@other.example.net>")))  # fmt: skip
    assert any(p.startswith("from_domain_mismatch")
               for p in content_problems(base(), mail_from="bounce@relay.example.net"))  # fmt: skip
    assert any(p.startswith("subject_all_caps")
               for p in content_problems(_with(base(), Subject=f"URGENT NOTICE [{TRACKING}]")))
    assert any(p.startswith("subject_punctuation")
               for p in content_problems(_with(base(), Subject="请尽快补正！！")))
    assert content_problems(_with(base(), Subject=f"【回执】项目 [{TRACKING}]")) == []

    msg = EmailMessage()
    msg["From"] = f"a@{DOMAIN}"
    msg["Message-ID"] = f"<1@{DOMAIN}>"
    msg["Subject"] = "回执"
    msg.set_content("您好，材料已收到。")
    msg.add_alternative("<p>您好，材料已收到。</p><p>请点击 <a href='https://t.cn/A6x'>https://t.cn/A6x</a> 查看</p>",
                        subtype="html")  # fmt: skip
    problems = content_problems(msg)
    assert any(p.startswith("text_html_mismatch") and "查看" in p for p in problems)
    assert any(p.startswith("link_shortener: https://t.cn/A6x") for p in problems)
