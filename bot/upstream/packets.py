"""Building and sending this instance's packet for the next level, from the store.

Which dossiers: the current version of every open dossier. Accepted ones are recommended in the
officers' order (``bot/upstream/ranking.py``); beyond this unit's quota (``[office] unit_kind``, notice
二（五）) they are listed as not recommended (QUOTA_EXCEEDED); defective ones are listed with their
outstanding defects. Sending splits the packet under ``[packet] max_message_bytes`` and records
each part acknowledged, so a second ``send`` after a failure sends only the missing parts.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from bot.clock import Clock
from bot.config.model import Settings
from bot.processing.instance import Instance
from bot.processing.pipeline import findings_of
from bot.store import packets as packet_table
from bot.store.database import Store
from bot.store.facts_codec import loads_facts
from bot.upstream import ranking
from bot.upstream.manifest_check import manifest_problem
from outbox.delivery.smtp import DeliveryFailure
from outbox.documents import signing
from outbox.documents.packet import (
    MANIFEST,
    PACKET_ROLES,
    REPORT,
    TABLE,
    PacketError,
    build_packet,
    part_zip,
    payload_budget,
    read_manifest,
    sha256_file,
    short_name,
    split_parts,
    unit_short_name,
    write_iso,
)
from outbox.documents.packet_plan import PacketEntry, PacketMaterial, PacketPlan
from outbox.documents.packet_split import (
    MAX_PACKET_PARTS,
    PART_FILE,
    PART_FILES_BYTES,
    PART_SIGNATURE_FILE,
    part_file,
    sign_part,
    split_digest,
)
from outbox.documents.recommendation_report import unfilled
from outbox.documents.summary_table import summary_row
from outbox.mail.headers import to_bytes
from outbox.mail.packet_mail import Sender, compose_part, part_message_id
from parsers.facts import DossierFacts
from rules.campaign import Campaign
from rules.engine import quota_findings, table_findings

log = logging.getLogger("intake.packets")


def facts_json(facts: DossierFacts) -> dict:
    """The facts a packet's manifest carries for one dossier (no file paths, no mail)."""
    c = facts.contact
    return {
        "project_name": facts.project_name, "applicant": facts.applicant, "uscc": facts.uscc,
        "category": facts.category, "direction": facts.direction,
        "contact": {"name": c.name, "mobile": c.mobile, "email": c.email, "phone": c.phone},
        "priority": list(facts.priority),
        "received_at": facts.received_at.isoformat() if facts.received_at else None,
    }


def candidates(store: Store) -> tuple[list[ranking.Ranked], list[tuple[ranking.Ranked, list[str], list]]]:
    """(accepted dossiers, defective ones with their error messages and findings) from the store."""
    accepted, defective = [], []
    for d, v in store.current_versions():
        if d.state != "open":
            continue
        facts = loads_facts(v["facts"])
        arrived = facts.received_at or datetime.fromisoformat(d.created_at)
        item = ranking.Ranked(d.tracking, facts, arrived)
        findings = findings_of(v)
        if v["verdict"] == "accepted":
            accepted.append(item)
        else:
            errors = [f"{f.code}：{f.message}" for f in findings if f.severity == "error"]
            defective.append((item, errors, findings))
    return accepted, defective


def _entry(item: ranking.Ranked, findings: list, verdict: str) -> PacketEntry:
    f = item.facts
    materials = [
        PacketMaterial(m.role, m.name, m.sha256, m.size)
        for m in f.materials
        if m.role in PACKET_ROLES and m.readable
    ]
    return PacketEntry(
        tracking=item.tracking, row=summary_row(f), short_name=short_name(f.applicant or ""),
        materials=materials, facts=facts_json(f), findings=[x.to_json() for x in findings],
        verdict=verdict,
    )


def plan_packet(settings: Settings, store: Store, campaign: Campaign, packet_id: str) -> PacketPlan:
    """The packet's content: ranked recommended entries within the quota, the rest listed."""
    accepted, defective = candidates(store)
    ordered = ranking.order(accepted, ranking.officer_positions(store.conn))
    quota = quota_findings(
        [i.facts for i in ordered], campaign, settings.office.level, settings.office.unit_kind
    )
    recommended, over = [], []
    stored = {d.tracking: findings_of(v) for d, v in store.current_versions()}
    for item, q in zip(ordered, quota, strict=True):
        entry = _entry(item, stored.get(item.tracking, []) + q, "accepted")
        (over if q else recommended).append(entry)
    office = settings.office
    return PacketPlan(
        packet_id=packet_id,
        title=campaign.table.title or f"{campaign.name}推荐项目汇总表",
        campaign_name=campaign.name,
        unit=office.unit,
        unit_short=office.unit_short or unit_short_name(office.unit),
        division_code=office.division_code,
        level=office.level,
        created_at=Clock(settings.campaign.now).now().isoformat(),
        recommended=recommended,
        not_recommended=over,
        defective=[(_entry(i, fs, "defective"), errs) for i, errs, fs in defective],
    )


@dataclass
class BuildResult:
    """A built packet: its folder, manifest, and counts of dossiers by list."""

    path: Path
    manifest: dict
    counts: dict[str, int]
    unchanged: bool = False  # the latest packet, returned because nothing changed since


def plan_fingerprint(plan: PacketPlan) -> str:
    """sha256 of what a packet holds (entries, files, findings, title, unit), id and time left out:
    two builds with the same fingerprint would send the same thing."""
    content = asdict(plan)
    content.pop("packet_id")
    content.pop("created_at")
    return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def _unchanged(store: Store, fingerprint: str, out: Path) -> BuildResult | None:
    """The latest packet when it holds exactly this content and still lies in ``out``."""
    root = latest_packet(store)
    if root is None or root.parent.resolve() != out.resolve() or not root.is_dir():
        return None
    try:
        manifest = read_manifest(root)
    except PacketError:
        return None
    if manifest.get("content_sha256") != fingerprint:
        return None
    counts = {"recommended": len(manifest.get("dossiers", [])),
              "over_quota": len(manifest.get("not_recommended", [])),
              "defective": len(manifest.get("defective", []))}
    return BuildResult(root, manifest, counts, unchanged=True)


def build(
    settings: Settings, store: Store, campaign: Campaign, out_dir: Path | None = None, *, new: bool = False
) -> BuildResult:
    """Build a packet under ``out_dir`` (``[packet] out_dir``) with a new packet id, unless the
    latest packet there holds exactly the same content (then that one is returned, ``unchanged``;
    ``new`` builds anyway).

    The 汇总表 is read back and checked against the packet's dossiers (``table_findings``); its
    findings go into the manifest. Raises PacketError when an archived file is missing.
    """
    out = out_dir or settings.packet.out_dir
    plan = plan_packet(settings, store, campaign, "")
    fingerprint = plan_fingerprint(plan)
    if not new and (same := _unchanged(store, fingerprint, out)) is not None:
        log.info("nothing changed since packet %s: not building a new one", same.manifest.get("packet_id"))
        return same
    with store.transaction():
        seq = store.next_seq("packet")
    packet_id = f"{campaign.code}-{settings.office.division_code}-P{seq:02d}"
    plan.packet_id = packet_id
    root = build_packet(out, plan, store.archive.path_for)
    manifest = read_manifest(root)
    if (problem := manifest_problem(manifest)) is not None:  # the level above would refuse it whole
        raise PacketError(f"packet {packet_id}: {problem}")
    from parsers.tables import read_table

    table = read_table(root / TABLE)
    by_tracking = {i.tracking: i.facts for i in candidates(store)[0]}
    rec_facts = [by_tracking[e.tracking] for e in plan.recommended]
    ev = table_findings(table, rec_facts, campaign)
    problems = [f.to_json() for f in ev.general] + [f.to_json() for fs in ev.per_dossier for f in fs]
    if problems:
        log.warning("packet %s: the 汇总表 check found %d problem(s)", packet_id, len(problems))
    manifest["findings"] = problems
    # A video sent only as a cloud-drive link is not in the packet: an officer must download it
    # (and check its length) before the discs are burnt. Said in the manifest and the log.
    no_video = [e.tracking for e, f in zip(plan.recommended, rec_facts, strict=True)
                if not any(m.role == "video" for m in f.materials)]
    manifest["videos_to_fetch"] = no_video
    manifest["content_sha256"] = fingerprint
    for tracking in no_video:
        log.warning("packet %s: %s has no video file (cloud-drive link only): download it into "
                    "the dossier's folder before burning the disc", packet_id, tracking)
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    sign_packet(settings, root)
    packet_table.record_built(store.conn, packet_id, root.resolve(), len(plan.recommended))
    counts = {"recommended": len(plan.recommended), "over_quota": len(plan.not_recommended),
              "defective": len(plan.defective)}
    log.info("packet %s: %d recommended, %d over the quota, %d defective", packet_id,
             counts["recommended"], counts["over_quota"], counts["defective"])
    return BuildResult(root, manifest, counts)


def sign_packet(settings: Settings, root: Path) -> bytes:
    """Sign ``root/manifest.json`` with this instance's key into ``root/manifest.sig``; returns the
    signature file's bytes. The key is created on first use (``intake keys init`` does it ahead;
    the public key must reach the level above once, see README "Keys")."""
    path = signing.key_path(settings)
    if path.exists():
        key = signing.load_key(path)
    else:
        key = signing.init_key(path)
        log.warning("no signing key yet: created %s; public key %s — give it to the level above "
                    "([[packet.senders]] there)", path, signing.public_key_text(key.public_key()))
    sig = signing.sign_manifest(key, (root / MANIFEST).read_bytes())
    (root / signing.SIGNATURE_FILE).write_bytes(sig)
    return sig


def latest_packet(store: Store) -> Path | None:
    """The folder of the packet built last, or None."""
    return packet_table.latest_built(store.conn)


@dataclass
class SendReport:
    """One ``packet send``: parts sent now, parts acknowledged earlier, failures (part → error)."""

    packet_id: str
    total: int
    sent: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    sizes: dict[int, int] = field(default_factory=dict)  # part → bytes of the message
    isos: list[Path] = field(default_factory=list)


def _report_as_completed(root: Path, manifest: dict, *, sent_before: bool) -> dict:
    """The manifest with the 推荐报告's size and sha256 as the officers left it (they complete the
    draft in place after ``packet build``); rewritten to disk when it changed. Raises PacketError
    when it changed after parts of this packet were already sent (build a new packet then)."""
    name = manifest.get("report", REPORT)
    path = root / name
    entry = next((f for f in manifest.get("files", []) if f.get("path") == name), None)
    if entry is None or not path.is_file():
        return manifest
    size, sha = path.stat().st_size, sha256_file(path)
    if (entry["size"], entry["sha256"]) == (size, sha):
        return manifest
    if sent_before:
        raise PacketError(f"{path} changed after parts of packet {manifest['packet_id']} were "
                          "sent: build a new packet (intake packet build) and send that")
    entry.update(size=size, sha256=sha)
    (root / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    (root / signing.SIGNATURE_FILE).unlink(missing_ok=True)  # signed again below, as it now is
    log.info("%s: completed by the officers; manifest updated", name)
    return manifest


def send(intake: Instance, packet_dir: Path | None = None, *, iso: bool | None = None,
         draft: bool = False, again: Collection[int] | None = (),
         without_videos: bool = False) -> SendReport:
    """Mail the packet (default: the latest built, else a new one) to ``[office] upstream``.

    Parts already acknowledged for this packet are not sent again, except those in ``again``
    (part numbers; None: every part), for a part the relay took that never reached the level
    above (which keeps one copy of each part and ignores repeats). A part that fails is
    reported and the others are still tried. Raises PacketError when no upstream is configured;
    unless ``draft``, while the 推荐报告 still has 【请填写】 blanks or its （草稿） title; and unless
    ``without_videos``, while a recommended dossier's video is only a cloud-drive link (the
    level above would find it missing: 二（四） wants the video itself).
    """
    settings: Settings = intake.settings
    store: Store = intake.store
    to = list(settings.office.upstream)
    if not to:
        raise PacketError("no upstream address: set [office] upstream")
    root = packet_dir or latest_packet(store) or build(settings, store, intake.campaign).path
    manifest = read_manifest(root)
    pid = manifest["packet_id"]
    report_path = root / manifest.get("report", REPORT)
    if not draft and report_path.is_file():
        left = unfilled(report_path)
        if left:
            raise PacketError(
                f"{report_path} is still a draft ({len(left)} place(s) to complete, first: "
                f"{left[0][:60]}): fill in the 【请填写】 blanks and remove （草稿） from the title, "
                "then send again; or give --draft to send it as a draft")
    to_fetch = [str(t) for t in manifest.get("videos_to_fetch") or []]
    if to_fetch and not without_videos:
        raise PacketError(
            f"packet {pid} has no video file for {', '.join(to_fetch)} (a cloud-drive link only): "
            "download each (intake fetched TRACKING FILE), build the packet again (intake packet "
            "build), then send; or give --without-videos to send it as it is (the level above "
            "will find the video missing)")
    sent_before = packet_table.any_part_sent(store.conn, pid)
    manifest = _report_as_completed(root, manifest, sent_before=sent_before)
    raw_manifest = (root / MANIFEST).read_bytes()
    sig_path = root / signing.SIGNATURE_FILE
    signature = sig_path.read_bytes() if sig_path.is_file() else sign_packet(settings, root)
    manifest_bytes = len(raw_manifest) + len(signature) + PART_FILES_BYTES
    limit = settings.packet.max_message_bytes
    parts = split_parts(manifest, payload_budget(limit, manifest_bytes))
    total = len(parts)
    if total > MAX_PACKET_PARTS:
        raise PacketError(f"packet {pid} would be {total} parts, over {MAX_PACKET_PARTS}: "
                          "raise [packet] max_message_bytes")
    split_sha = split_digest(parts)
    key = signing.load_key(signing.key_path(settings))
    if signing.public_key_text(key.public_key()) != signing.signer_key_text(signature):
        raise PacketError(f"{sig_path} was made with another key than {signing.key_path(settings)}: "
                          "build the packet again (intake packet build --new) to sign it with this one")
    report = SendReport(pid, total)
    done = packet_table.parts_sent(store.conn, pid, total, split_sha)
    if again and not set(again) <= set(range(1, total + 1)):
        raise PacketError(f"packet {pid} has {total} part(s): no part {max(again)} to send again")
    resend = done & (set(range(1, total + 1)) if again is None else set(again))
    done -= resend
    resent_tag = secrets.token_hex(4)  # a part sent again gets its own Message-ID
    o = settings.outbox
    sender = Sender(settings.office.unit, o.from_name, o.from_addr, o.domain,
                    intake.pipeline.replies.loop_value, settings.office.officer_contact)
    transport = intake.transport()
    now = intake.pipeline.now()
    for k, pieces in enumerate(parts, 1):
        if k in done:
            report.already.append(k)
            continue
        mid = part_message_id(pid, k, total, o.domain, split=split_sha,
                              again=resent_tag if k in resend else "")
        zip_bytes = part_zip(root, pieces)
        # The split is signed at send time (outbox/documents/packet_split.py): the level above
        # takes this part's number, count and zip from here, never from the header.
        part_bytes = part_file(pid, raw_manifest, split_sha, k, total, zip_bytes)
        msg = compose_part(sender, to, manifest, k, total, zip_bytes, now=now,
                           manifest_bytes=raw_manifest, signature=signature, message_id=mid,
                           part_files=[(PART_FILE, part_bytes),
                                       (PART_SIGNATURE_FILE, sign_part(key, part_bytes))])
        raw = to_bytes(msg)
        report.sizes[k] = len(raw)
        if len(raw) > limit:
            raise PacketError(f"packet {pid} part {k}/{total} is {len(raw)} bytes, over {limit}")
        try:
            answer = asyncio.run(transport.deliver(raw, mail_from=o.from_addr, rcpts=to, msg_id=mid))
        except (DeliveryFailure, OSError) as exc:
            report.failed[k] = str(exc)
            log.warning("packet %s part %d/%d not sent: %s", pid, k, total, exc)
            continue
        packet_table.record_part_sent(store.conn, pid, k, total, split=split_sha, message_id=mid,
                                      size=len(raw), response=answer)
        report.sent.append(k)
        log.info("packet %s part %d/%d sent (%d bytes)", pid, k, total, len(raw))
    if iso if iso is not None else settings.packet.iso:
        discs = root.parent / f"{pid}-discs"
        for d in manifest["dossiers"]:
            report.isos.append(write_iso(root / d["folder"], discs / f"{d['folder']}.iso", d["short_name"]))
    return report
