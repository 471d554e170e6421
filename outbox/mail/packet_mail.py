"""Mails between levels: a packet's numbered parts going up, one packet receipt or a refusal coming back.

Packet parts carry ``X-Intake-Packet: <id>`` and ``X-Intake-Packet-Part: k/n`` and a fixed
Message-ID per part (``<id.part-k-of-n@domain>``), so a resent part is recognised; they carry no
``Auto-Submitted`` and no ``X-Intake-Verdict`` (``outbox.mail.loops.should_not_reply`` would refuse
them). Receipts and refusals are automatic answers (RFC 3834 ``Auto-Submitted: auto-replied``)
carrying ``X-Intake-Packet-Receipt: <id>`` and our loop header.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime

from outbox.mail.headers import address_header, param_header, set_header, text_header, to_bytes
from outbox.mail.template_files import load_template
from rules.wording import date_text

HEADER_PACKET = "X-Intake-Packet"
HEADER_PART = "X-Intake-Packet-Part"
HEADER_RECEIPT = "X-Intake-Packet-Receipt"


@dataclass(frozen=True)
class Sender:
    """Who sends: office unit, From name/address, Message-ID domain, our loop header value."""

    unit: str
    from_name: str
    from_addr: str
    domain: str
    loop_value: str
    officer_contact: str = ""


def part_message_id(packet_id: str, part: int, total: int, domain: str) -> str:
    return f"<{packet_id}.part-{part}-of-{total}@{domain}>"


def part_subject(unit: str, campaign_name: str, packet_id: str, part: int, total: int) -> str:
    """``【推荐材料】<unit><campaign>推荐项目（1/3） [<packet id>]``."""
    return f"【推荐材料】{unit}{campaign_name}推荐项目（{part}/{total}） [{packet_id}]"


def compose_part(
    sender: Sender,
    to: list[str],
    manifest: dict,
    part: int,
    total: int,
    zip_bytes: bytes,
    *,
    now: datetime,
    manifest_bytes: bytes | None = None,
    signature: bytes | None = None,
) -> EmailMessage:
    """Part ``part`` of ``total`` of the packet described by ``manifest`` (its zip attached).

    ``manifest_bytes``: the exact bytes of manifest.json as signed (default: ``manifest`` as
    JSON); ``signature``: the bytes of ``manifest.sig``, attached beside it when given."""
    pid = manifest["packet_id"]
    projects = "".join(
        f"{d['seq']}. [{d['tracking']}] {d['facts'].get('project_name') or ''}"
        f"（{d['facts'].get('applicant') or ''}）\n"
        for d in manifest["dossiers"]
    ) or "无\n"
    zip_name = f"{pid}-{part}of{total}.zip"
    body = load_template("packet_part.txt").substitute(
        unit=sender.unit, campaign_name=manifest.get("campaign", ""), packet_id=pid, total=total,
        part=part, projects=projects, zip_name=zip_name, date=_date(now),
    )
    msg = EmailMessage()
    msg.set_content(body, subtype="plain", charset="utf-8")
    if manifest_bytes is None:
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    _attach(msg, "manifest.json", manifest_bytes, "application/json")
    if signature is not None:
        _attach(msg, "manifest.sig", signature, "application/json")
    _attach(msg, zip_name, zip_bytes, "application/zip")
    _headers(msg, sender, to, part_subject(sender.unit, manifest.get("campaign", ""), pid, part, total),
             now, part_message_id(pid, part, total, sender.domain))
    set_header(msg, HEADER_PACKET, pid)
    set_header(msg, HEADER_PART, f"{part}/{total}")
    return _reparse(msg)


@dataclass(frozen=True)
class ProjectResult:
    """One project's line in a packet receipt."""

    tracking: str
    project_name: str
    applicant: str
    result: str  # 已登记，材料齐全 | 已登记，存在问题 | 未登记：…
    details: list[str]


def compose_packet_receipt(
    sender: Sender,
    to: str,
    *,
    packet_id: str,
    sender_unit: str,
    campaign_name: str,
    parts: int,
    results: list[ProjectResult],
    general: list[str],
    now: datetime,
    in_reply_to: str | None = None,
) -> EmailMessage:
    """The one receipt answering a whole packet: each project's result, then table findings."""
    items = "".join(
        load_template("packet_receipt_item.txt").substitute(
            number=i, tracking=r.tracking, project_name=r.project_name, applicant=r.applicant,
            result=r.result, details="".join(f"   - {d}\n" for d in r.details),
        )
        for i, r in enumerate(results, 1)
    ) or "无\n"
    general_text = (
        "汇总表及清单的问题：\n" + "".join(f"   - {g}\n" for g in general) if general else ""
    )
    body = load_template("packet_receipt.txt").substitute(
        sender_unit=sender_unit or "推荐单位", campaign_name=campaign_name, packet_id=packet_id,
        parts=parts, projects=items, general=general_text, officer_contact=sender.officer_contact,
        unit=sender.unit, date=_date(now),
    )
    msg = EmailMessage()
    msg.set_content(body, subtype="plain", charset="utf-8")
    _headers(msg, sender, [to], f"【推荐材料回执】{packet_id} {sender_unit}".strip(), now, None)
    _auto(msg, sender, packet_id, in_reply_to)
    return _reparse(msg)


def compose_packet_refusal(
    sender: Sender, to: str, *, packet_id: str, now: datetime, in_reply_to: str | None = None
) -> EmailMessage:
    """The clear refusal of a packet from a sender not allowed to submit packets here."""
    body = load_template("packet_refused.txt").substitute(
        packet_id=packet_id or "未知", unit=sender.unit, officer_contact=sender.officer_contact,
        date=_date(now),
    )
    msg = EmailMessage()
    msg.set_content(body, subtype="plain", charset="utf-8")
    _headers(msg, sender, [to], f"【推荐材料未受理】{packet_id}".strip(), now, None)
    _auto(msg, sender, packet_id, in_reply_to)
    return _reparse(msg)


def _headers(msg: EmailMessage, s: Sender, to: list[str], subject: str, now: datetime,
             message_id: str | None) -> None:
    import secrets

    set_header(msg, "From", address_header("From", [(s.from_name, s.from_addr)]))
    set_header(msg, "To", address_header("To", [("", a) for a in to]))
    set_header(msg, "Subject", text_header("Subject", subject))
    set_header(msg, "Date", format_datetime(now if now.tzinfo else now.astimezone()))
    set_header(msg, "Message-ID", message_id or f"<packet.{secrets.token_hex(8)}@{s.domain}>")
    set_header(msg, "Content-Language", "zh-CN")


def _auto(msg: EmailMessage, s: Sender, packet_id: str, in_reply_to: str | None) -> None:
    if in_reply_to:
        set_header(msg, "In-Reply-To", in_reply_to)
        set_header(msg, "References", in_reply_to)
    set_header(msg, "Auto-Submitted", "auto-replied")  # RFC 3834 §5
    set_header(msg, "X-Auto-Response-Suppress", "All")
    set_header(msg, HEADER_RECEIPT, packet_id or "unknown")
    set_header(msg, "X-Intake-Loop", s.loop_value)


def _attach(msg: EmailMessage, name: str, data: bytes, mime: str) -> None:
    maintype, _, subtype = mime.partition("/")
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename="attachment")
    part = list(msg.iter_attachments())[-1]
    set_header(part, "Content-Type", param_header("Content-Type", mime, [("name", name)]))
    set_header(part, "Content-Disposition",
               param_header("Content-Disposition", "attachment", [("filename", name)]))


def _reparse(msg: EmailMessage) -> EmailMessage:
    for part in msg.walk():
        if part is not msg:
            del part["MIME-Version"]
    return message_from_bytes(to_bytes(msg), policy=email_policy.default)  # type: ignore[return-value]


def _date(now: datetime) -> str:
    return date_text(now)  # the campaign's zone (Beijing), whatever the machine's TZ
