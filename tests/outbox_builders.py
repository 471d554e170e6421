"""Builders for the outbox tests: a reply context, a dossier with materials, findings."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from outbox.mail.context import ReplyContext
from parsers.facts import Contact, DossierFacts, Material, VideoFacts
from rules.finding import Finding

CST = timezone(timedelta(hours=8))
NOW = datetime(2023, 11, 20, 9, 30, tzinfo=CST)
TRACKING = "IIP2023-420100-0017-8"
CASES = Path(__file__).parent / "cases"


def make_ctx(**overrides: object) -> ReplyContext:
    values: dict[str, object] = dict(
        campaign_name="2023年工业互联网试点示范",
        level="city",
        unit="武汉市经济和信息化局",
        from_addr="shenbao-intake@example.org",
        from_name="武汉市经信局申报受理",
        domain="intake.example.org",
        officer_contact="张科长 027-85550000（工作日 9:00–17:00）",
        deadline=date(2023, 12, 1),
        next_steps=[
            "纸质申报书装订成册一式7份，于12月1日前报送市经信局；",
            "光盘2张（含5–10分钟项目视频、可编辑版申报书和全套扫描件），盘面标注申报单位简称。",
        ],
        now=NOW,
        loop_header_value="wuhan-city-a1b2",
        large_file_note="视频超过邮箱附件限制时，请刻录光盘随纸质材料报送。",
    )
    values.update(overrides)
    return ReplyContext(**values)  # type: ignore[arg-type]


def make_dossier(project: str = "基于工业互联网平台的智能工厂建设项目") -> DossierFacts:
    return DossierFacts(
        source="mail:<c20.20240415093000@mail.example.com>",
        project_name=project,
        applicant="武汉示例智能制造有限公司",
        contact=Contact(name="王小明", mobile="13800138000", email="wangxm@example.com"),
        received_at=datetime(2023, 11, 19, 16, 5, tzinfo=CST),
        materials=[
            Material("申报书.docx", None, "0" * 64, 36_045, role="application_form", kind="docx"),
            Material("全套扫描件.pdf", None, "1" * 64, 2_411_724, role="scanned_copy", kind="pdf"),
            Material(
                "项目视频.mp4",
                None,
                "2" * 64,
                12_582_912,
                role="video",
                kind="mp4",
                video=VideoFacts(readable=True, duration_s=272.4),
            ),
        ],
    )


def video_finding() -> Finding:
    return Finding(
        code="VIDEO_TOO_SHORT",
        severity="error",
        clause="二（四）",
        message="视频时长 4分32秒，要求 5–10 分钟",
        where="项目视频.mp4",
        fix="请重新剪辑或录制时长5–10分钟的项目视频，回复本邮件发送新视频即可",
    )


def phone_warning() -> Finding:
    return Finding(
        code="CONTACT_PHONE_LANDLINE",
        severity="warning",
        clause="附件3",
        message="联系方式为座机 027-12345678，汇总表要求手机号码",
        where="申报书.docx",
        fix="建议在申报书中补充联系人手机号码",
    )
