"""Render a sample 回执 and 补正通知 into this folder (.eml as sent, .txt as read) for officers' review.

Run: ``.venv/bin/python examples/replies/render.py`` from the repository root.
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.config.model import load_settings  # noqa: E402
from bot.processing.replies import ReplyBuilder  # noqa: E402
from outbox.mail.compose import compose_defect_notice, compose_receipt  # noqa: E402
from outbox.mail.context import ReplyContext  # noqa: E402
from outbox.mail.headers import to_bytes  # noqa: E402
from outbox.mail.tracking import make_tracking  # noqa: E402
from parsers.facts import Contact, DossierFacts, MailFacts, Material, VideoFacts  # noqa: E402
from rules.campaign import load_campaign  # noqa: E402
from rules.finding import Finding  # noqa: E402

CST = timezone(timedelta(hours=8))
HERE = Path(__file__).resolve().parent


def context(now: datetime) -> ReplyContext:
    """The context the product itself writes replies with (the demo's office, the shipped campaign),
    so the wording reviewed here is the wording enterprises receive."""
    settings = load_settings(ROOT / "examples" / "demo.toml")
    return ReplyBuilder(settings, load_campaign()).context(now)


def dossier(video_s: float) -> DossierFacts:
    return DossierFacts(
        source="mail:<20231120093000.demo@example.com>",
        project_name="基于工业互联网平台的5G全连接智能工厂建设项目",
        applicant="武汉示例智能制造有限公司",
        contact=Contact(name="王小明", mobile="13800138000", email="wangxm@example.com"),
        received_at=datetime(2023, 11, 20, 9, 30, tzinfo=CST),
        materials=[
            Material(
                "2023年工业互联网试点示范项目申报书.docx",
                None,
                "0" * 64,
                186_210,
                role="application_form",
            ),
            Material(
                "申报书全套扫描件（盖章）.pdf", None, "1" * 64, 8_734_512, role="scanned_copy"
            ),
            Material(
                "项目展示视频.mp4",
                None,
                "2" * 64,
                41_943_040,
                role="video",
                video=VideoFacts(readable=True, duration_s=video_s),
            ),
        ],
    )


def original() -> MailFacts:
    return MailFacts(
        subject="2023年工业互联网试点示范项目申报材料-武汉示例智能制造有限公司",
        from_addr="wangxm@example.com",
        from_name="王小明",
        to=["shenbao-intake@example.org"],
        cc=[],
        reply_to=None,
        message_id="<20231120093000.demo@example.com>",
        in_reply_to=None,
        references=[],
        date=datetime(2023, 11, 20, 9, 30, tzinfo=CST),
        body_text="",
        links=[],
        attachments=[],
        headers={},
    )


def as_read(msg: EmailMessage) -> str:
    head = "\n".join(f"{h}: {msg[h]}" for h in ("From", "To", "Subject", "Date") if msg[h])
    return head + "\n\n" + msg.get_body(("plain",)).get_content()


def main() -> None:
    random.seed(2023)  # stable MIME boundaries, so re-rendering changes only what changed
    now = datetime(2023, 11, 20, 10, 0, tzinfo=CST)
    tracking = make_tracking("IIP2023", "420100", 17)
    warning = Finding(
        "CONTACT_PHONE_LANDLINE",
        "warning",
        "附件3",
        "联系方式只有座机 027-12345678，汇总表要求手机号码",
        "申报书.docx",
        "建议在申报书中补充联系人手机号码",
    )
    receipt = compose_receipt(
        context(now),
        dossier(372.5),
        [warning],
        tracking,
        to="wangxm@example.com",
        original=original(),
        message_id=f"<{tracking}.receipt@intake.example.org>",
    )
    errors = [
        Finding(
            "VIDEO_TOO_SHORT",
            "error",
            "二（四）",
            "视频时长 4分32秒，要求 5–10 分钟",
            "项目展示视频.mp4",
            "请重新剪辑或录制时长5–10分钟的项目视频（未提供视频的视为无效申报材料）",
        ),
        Finding(
            "USCC_INVALID",
            "error",
            "二（一）",
            "统一社会信用代码 91420100MA4K00001X 校验位错误，应为 18 位有效代码",
            "申报书.docx",
            "请核对营业执照上的统一社会信用代码并更正申报书",
        ),
        warning,
    ]
    notice = compose_defect_notice(
        context(now),
        dossier(272.0),
        errors,
        tracking,
        to="wangxm@example.com",
        original=original(),
        message_id=f"<{tracking}.defect@intake.example.org>",
    )
    for name, msg in (("receipt", receipt), ("defect_notice", notice)):
        (HERE / f"{name}.eml").write_bytes(to_bytes(msg))
        (HERE / f"{name}.txt").write_text(as_read(msg), encoding="utf-8")
        print(HERE / f"{name}.eml")


if __name__ == "__main__":
    main()
