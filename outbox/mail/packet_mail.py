"""Mails between levels: a packet's numbered parts going up, one packet receipt or a refusal coming back.

Packet parts carry ``X-Intake-Packet: <id>`` and ``X-Intake-Packet-Part: k/n`` and a fixed
Message-ID per part (``<id.part-k-of-n@domain>``), so a resent part is recognised; they carry no
``Auto-Submitted`` and no ``X-Intake-Verdict`` (``outbox.mail.loops.should_not_reply`` would refuse
them). Receipts and refusals are automatic answers (RFC 3834 ``Auto-Submitted: auto-replied``)
carrying ``X-Intake-Packet-Receipt: <id>`` and our loop header.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from outbox.mail.finish import finish
from outbox.mail.headers import COMPOSE_POLICY, param_header, set_header
from outbox.mail.template_files import load_template, subject
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


def part_message_id(packet_id: str, part: int, total: int, domain: str, *, split: str = "",
                    again: str = "") -> str:
    """``<id.part-k-of-n[.split][.again-X]@domain>``: ``split`` (the split's digest, its first 12
    digits used) keeps part k of two sends cut differently apart, where a mailbox drops repeated
    ids; ``again`` marks a part sent once more (``packet send --again``)."""
    tail = (f".{split[:12]}" if split else "") + (f".again-{again}" if again else "")
    return f"<{packet_id}.part-{part}-of-{total}{tail}@{domain}>"


def part_subject(unit: str, campaign_name: str, packet_id: str, part: int, total: int) -> str:
    """``【推荐材料】<unit><campaign>推荐项目（1/3） [<packet id>]``."""
    return subject("packet_part", unit=unit, campaign_name=campaign_name, part=part, total=total,
                   packet_id=packet_id)


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
    part_files: Sequence[tuple[str, bytes]] = (),
    split: str = "",
    message_id: str | None = None,
) -> EmailMessage:
    """Part ``part`` of ``total`` of the packet described by ``manifest`` (its zip attached).

    ``manifest_bytes``: the exact bytes of manifest.json as signed (default: ``manifest`` as
    JSON); ``signature``: the bytes of ``manifest.sig``, attached beside it when given;
    ``part_files``: more JSON files to attach, as ``(name, bytes)``: ``part.json`` and
    ``part.sig``, the signed split (``outbox/documents/packet_split.py``); ``split``: that
    split's digest (in the Message-ID); ``message_id``: another Message-ID than the part's usual
    one (a part sent again: a mailbox may drop a repeated id)."""
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
    msg = EmailMessage(policy=COMPOSE_POLICY)
    msg.set_content(body, subtype="plain", charset="utf-8")
    if manifest_bytes is None:
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    _attach(msg, "manifest.json", manifest_bytes, "application/json")
    if signature is not None:
        _attach(msg, "manifest.sig", signature, "application/json")
    for name, data in part_files:
        _attach(msg, name, data, "application/json")
    _attach(msg, zip_name, zip_bytes, "application/zip")
    # A part is no automatic answer: no Auto-Submitted, no loop header (the level above takes it).
    return finish(
        msg, sender=(sender.from_name, sender.from_addr), to=[("", a) for a in to],
        subject=part_subject(sender.unit, manifest.get("campaign", ""), pid, part, total), now=now,
        message_id=message_id or part_message_id(pid, part, total, sender.domain, split=split), auto=None, loop_value=None,
        headers={HEADER_PACKET: pid, HEADER_PART: f"{part}/{total}"},
    )


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
    msg = EmailMessage(policy=COMPOSE_POLICY)
    msg.set_content(body, subtype="plain", charset="utf-8")
    return _answer(msg, sender, to, subject("packet_receipt", packet_id=packet_id, sender_unit=sender_unit).strip(), now, packet_id,
                   in_reply_to)


def compose_packet_refusal(
    sender: Sender, to: str, *, packet_id: str, now: datetime, in_reply_to: str | None = None
) -> EmailMessage:
    """The clear refusal of a packet from a sender not allowed to submit packets here."""
    body = load_template("packet_refused.txt").substitute(
        packet_id=packet_id or "未知", unit=sender.unit, officer_contact=sender.officer_contact,
        date=_date(now),
    )
    msg = EmailMessage(policy=COMPOSE_POLICY)
    msg.set_content(body, subtype="plain", charset="utf-8")
    return _answer(msg, sender, to, subject("packet_refused", packet_id=packet_id).strip(), now, packet_id, in_reply_to)


def _answer(msg: EmailMessage, s: Sender, to: str, subject: str, now: datetime, packet_id: str,
            in_reply_to: str | None) -> EmailMessage:
    """A receipt or refusal: an automatic answer (RFC 3834) naming the packet."""
    return finish(
        msg, sender=(s.from_name, s.from_addr), to=[("", to)], subject=subject, now=now,
        message_id=f"<packet.{secrets.token_hex(8)}@{s.domain}>", auto="auto-replied",
        loop_value=s.loop_value, in_reply_to=in_reply_to,
        headers={HEADER_RECEIPT: packet_id or "unknown"},
    )


def _attach(msg: EmailMessage, name: str, data: bytes, mime: str) -> None:
    maintype, _, subtype = mime.partition("/")
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename="attachment")
    part = list(msg.iter_attachments())[-1]
    set_header(part, "Content-Type", param_header("Content-Type", mime, [("name", name)]))
    set_header(part, "Content-Disposition",
               param_header("Content-Disposition", "attachment", [("filename", name)]))


def _date(now: datetime) -> str:
    return date_text(now)  # the campaign's zone (Beijing), whatever the machine's TZ
