"""The next level's intake of packets: recognise, verify the signature, check names, register, one receipt.

A packet is a mail carrying ``X-Intake-Packet`` or a ``manifest.json`` with a ``packet_id``
(``outbox/mail/packet_mail.py``), or a dropped folder holding ``manifest.json``. Trust comes from
the signature, not from the From (``outbox/documents/signing.py``): ``manifest.sig`` must verify with
a key listed in ``[[packet.senders]]``, by mail and from drop folders alike; a mailed packet must
also come from ``[office] downstream_senders`` (the receipt goes there). The manifest is then
checked as attacker data (every folder and file name by ``parsers.safe_names``; an absolute or
parent path refuses the whole packet) before anything is written. A refused mail from a listed
office gets a clear refusal (unless automatic, RFC 3834; capped per sender per day); a
stranger's, and a refused folder, are logged and recorded, never answered. A mailed part's
number, the count of parts and its zip's sha256 come from the signed split (``part.json``,
``outbox/documents/packet_split.py``, signed by the manifest's signer), never from its header;
parts are kept until all ``n`` of one split have arrived; then every file is checked against the
manifest's sha256, each dossier is read again and registered under its ORIGINAL tracking number
(a packet may create or update only dossiers its own signer created), judged together with every
dossier already here (cross-dossier rules across all districts), the 汇总表 is checked against the
dossiers, and the sending office gets ONE receipt listing each project's result.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.processing.instance import Instance
from bot.processing.pipeline import Outcome, without_waived
from bot.store import packets as packet_table
from bot.store.database import InputRow
from bot.store.decisions import waived_codes
from bot.store.facts_codec import loads_facts
from bot.upstream.manifest_check import PACKET_ID_SHAPE, manifest_problem
from outbox.delivery import queue as outgoing
from outbox.documents.packet import DAMAGED_ZIP_ERRORS, MANIFEST, assemble_parts, sha256_file
from outbox.documents.packet_split import (
    MAX_PART_FILE_BYTES,
    PART_FILE,
    PART_SIGNATURE_FILE,
    SignedPart,
    read_signed_part,
)
from outbox.documents.signing import MAX_SIGNATURE_BYTES, SIGNATURE_FILE, Signer, verify_manifest
from outbox.mail.loops import should_not_reply
from outbox.mail.packet_mail import (
    ProjectResult,
    Sender,
    compose_packet_receipt,
    compose_packet_refusal,
)
from parsers.facts import Attachment, DossierFacts, MailFacts
from parsers.mime import parse_message
from rules.engine import evaluate, table_findings
from rules.finding import Finding
from rules.verdict import verdict

log = logging.getLogger("intake.packet_intake")

MAX_MANIFEST_BYTES = 16 * 1024 * 1024  # a manifest.json or manifest.sig read back; a real one is KBs

@dataclass
class PacketInput:
    """What one input holds of a packet: its manifest and signature, part number, or a folder
    (a mailed part's zips are read only after the signature verifies, ``_assemble``).

    ``part`` and ``total`` of a mail are 1 until ``take`` reads them from the signed split
    (``part.json``); the ``X-Intake-Packet-Part`` header is never believed."""

    packet_id: str
    manifest: dict
    part: int
    total: int
    sender: str | None
    message_id: str | None
    mail: MailFacts | None
    folder_files: dict[str, str] | None = None  # folder packet: relative path → sha256
    manifest_bytes: bytes | None = None  # exactly as received (what the signature covers)
    signature: bytes | None = None  # manifest.sig, when present
    part_bytes: bytes | None = None  # part.json (a mail: the signed split), when present
    part_signature: bytes | None = None  # part.sig, when present
    zip_sha256s: tuple[str, ...] = ()  # sha256 of each zip the mail carries


def make_interceptor(intake: Instance):
    """The pipeline hook: takes packet inputs, leaves everything else (returns None)."""
    def intercept(row: InputRow, dossiers: list[DossierFacts]) -> Outcome | None:
        mail = dossiers[0].mail if dossiers else None
        if mail is not None and "x-intake-packet" not in mail.headers and not any(
            a.name.lower().endswith(MANIFEST) for a in mail.attachments
        ):
            return None  # an ordinary submission: no second parse
        packet = recognise(intake, row, mail)
        if packet is None:
            return None
        return take(intake, row, packet)

    return intercept


def recognise(intake: Instance, row: InputRow, mail: MailFacts | None = None) -> PacketInput | None:
    """The packet this input carries (or a part of one), else None.

    A mail packet is recognised from ``mail``, what its worker read under ``[budgets]``: the
    manifest, its signature and the part header. The raw mail is never parsed again here before
    the sender and the signature are checked (``take``): a From is anyone's to write.
    """
    store = intake.store
    if row.kind == "folder":
        files = {rel: sha for rel, sha, _size in row.manifest or []}
        sizes = {rel: size for rel, _sha, size in row.manifest or []}
        if MANIFEST not in files or sizes[MANIFEST] > MAX_MANIFEST_BYTES:
            return None  # a dossier folder that happens to hold a big manifest.json is a dossier
        raw = store.archive.path_for(files[MANIFEST]).read_bytes()
        manifest = _json(raw)
        if not manifest or "packet_id" not in manifest:
            return None
        sig = (store.archive.path_for(files[SIGNATURE_FILE]).read_bytes()
               if SIGNATURE_FILE in files and sizes[SIGNATURE_FILE] <= MAX_MANIFEST_BYTES else None)
        return PacketInput(str(manifest["packet_id"]), manifest, 1, 1, None, None, None, files,
                           raw, sig)
    if row.kind != "mail" or mail is None:
        return None
    manifest = raw = sig = part_bytes = part_sig = None
    for att in mail.attachments:
        name = att.name.lower()
        if name.endswith(MANIFEST) and raw is None:
            raw = _attachment_bytes(intake, att)
            manifest = _json(raw) if raw is not None else None
        elif name == SIGNATURE_FILE and sig is None:
            sig = _attachment_bytes(intake, att, MAX_SIGNATURE_BYTES)
        elif name == PART_FILE and part_bytes is None:
            part_bytes = _attachment_bytes(intake, att, MAX_PART_FILE_BYTES)
        elif name == PART_SIGNATURE_FILE and part_sig is None:
            part_sig = _attachment_bytes(intake, att, MAX_SIGNATURE_BYTES)
    header = mail.headers.get("x-intake-packet")
    if not manifest or "packet_id" not in manifest:
        if header is None:
            return None
        manifest, raw = {"packet_id": header.strip() or "(unnamed)"}, None
    zips = tuple(a.sha256 for a in mail.attachments if a.name.lower().endswith(".zip"))
    return PacketInput(str(manifest["packet_id"]), manifest, 1, 1, mail.from_addr,
                       mail.message_id, mail, None, raw, sig, part_bytes, part_sig, zips)


def _attachment_bytes(intake: Instance, att: Attachment, limit: int = MAX_MANIFEST_BYTES) -> bytes | None:
    """A small attachment's bytes as its worker decoded them: kept in memory under the spill
    size, else read back from the archive (every material is kept there by sha256); None when
    neither holds them or a manifest passes ``MAX_MANIFEST_BYTES``. A signature or part file over
    its ``limit`` (4 KB) is not read: ``limit`` + 1 zero bytes stand for it, which the checks that
    follow refuse as too large (before, up to 16 MB of each was read before any check)."""
    if att.size > limit:
        return None if limit >= MAX_MANIFEST_BYTES else bytes(limit + 1)
    if att.data or att.size == 0:
        return att.data
    if not intake.store.archive.has(att.sha256):
        return None
    return intake.store.archive.path_for(att.sha256).read_bytes()


def _parts_key(packet_id: str, unit: str) -> str:
    """The ``packet_parts_in`` key: parts are gathered per signer, never across signers."""
    return f"{packet_id} [{unit}]"


def _json(data: bytes) -> dict | None:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # nested 200,000 deep: not a manifest
        return None
    return value if isinstance(value, dict) else None


def _sender(intake: Instance) -> Sender:
    s = intake.settings
    return Sender(s.office.unit, s.outbox.from_name, s.outbox.from_addr, s.outbox.domain,
                  intake.pipeline.replies.loop_value, s.office.officer_contact)


def _allowed(intake: Instance) -> set[str]:
    """``[office] downstream_senders``, lower-cased: who may mail packets to this level."""
    return {a.strip().lower() for a in intake.settings.office.downstream_senders}


def take(intake: Instance, row: InputRow, packet: PacketInput) -> Outcome:
    """Refuse, keep (waiting for more parts) or register the packet; returns the pipeline outcome."""
    store, settings = intake.store, intake.settings
    conn = store.conn
    outcome = Outcome(row.id, row.name)
    now = intake.pipeline.now()
    if packet.mail is not None and (packet.sender or "").lower() not in _allowed(intake):
        return _refuse(intake, row, packet, "sender not in downstream_senders", outcome)
    signer = verify_manifest(packet.manifest_bytes or b"", packet.signature,
                             [(s.unit, s.public_key) for s in settings.packet.senders])
    if not isinstance(signer, Signer):
        return _refuse(intake, row, packet, signer, outcome)
    own = _signer_address(intake, signer)
    if packet.mail is not None and own and (packet.sender or "").lower() != own:
        # Another listed office's From on this unit's part: it would get this unit's receipt.
        return _refuse(intake, row, packet, f"From is not {signer.unit}'s address ({own})", outcome)
    problem = manifest_problem(packet.manifest)
    if problem:
        return _refuse(intake, row, packet, problem, outcome)
    parts_key = _parts_key(packet.packet_id, signer.unit)
    if packet.mail is not None:
        # Which part this is, of how many, and its zip: signed at send time by the manifest's
        # signer (``part.json``); the header is anyone's to rewrite in transit.
        signed = read_signed_part(packet.part_bytes, packet.part_signature, signer,
                                  packet_id=packet.packet_id, manifest_bytes=packet.manifest_bytes or b"",
                                  zip_sha256s=packet.zip_sha256s)
        if not isinstance(signed, SignedPart):
            return _refuse(intake, row, packet, signed, outcome)
        packet.part, packet.total = signed.part, signed.total
        parts_key += f" split {signed.split_sha256[:16]}"  # two sends cut differently never mix
    key = packet_table.registry_key(conn, packet.packet_id, signer.unit)
    if packet_table.is_registered(conn, key, unit=signer.unit):
        store.mark_processed(row.id)
        outcome.skipped = f"packet {packet.packet_id} already registered"
        return outcome
    zip_sha = _keep_zip(intake, row, packet) if packet.mail is not None else None
    with store.transaction():
        have = packet_table.add_part_in(conn, parts_key, packet.part, packet.total, row.id,
                                        packet.sender, zip_sha)
        missing = [k for k in range(1, packet.total + 1) if k not in have]
        if missing:
            store.mark_processed(row.id)
    if missing:
        outcome.waiting = True
        outcome.skipped = (f"packet {packet.packet_id} part {packet.part}/{packet.total} kept; "
                           f"waiting for part(s) {', '.join(map(str, missing[:20]))}"
                           f"{' …' if len(missing) > 20 else ''}")
        log.info("input %s: %s", row.id, outcome.skipped)
        return outcome
    staging = settings.store.work_dir / f"packet-{row.id}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        bad = _assemble(intake, packet, have, staging)
        froms = {h.sender.lower() for h in have.values() if h.sender}
        _register(intake, row, packet, signer, staging, bad, outcome, now, froms)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return outcome


def _refuse(intake: Instance, row: InputRow, packet: PacketInput, why: str, outcome: Outcome) -> Outcome:
    """Record ``row`` as refused (nothing registered, nothing written) and, for a mail from a
    listed office (``downstream_senders``), answer it once with a clear refusal (none to
    automatic mail, none over the daily cap, none to anyone else)."""
    store, settings = intake.store, intake.settings
    conn = store.conn
    now = intake.pipeline.now()
    with store.transaction():
        # Only a listed office is answered: a stranger's From is anyone's to write, and a
        # refusal to it would carry the forger's text to any address (backscatter).
        if packet.mail is not None and packet.sender and packet.sender.lower() in _allowed(intake):
            reason = should_not_reply(packet.mail, own_addresses=intake.pipeline.replies.own_addresses,
                                      loop_header_value=intake.pipeline.replies.loop_value)
            cap = settings.outbox.replies_per_sender_per_day
            if reason is None and outgoing.sent_today(conn, packet.sender, now.date()) >= cap:
                reason = f"reply cap of {cap} per day reached"  # a flood of spoofed packets: no storm
            if reason is None:
                msg = compose_packet_refusal(_sender(intake), packet.sender, packet_id=_shown_id(packet),
                                             now=now, in_reply_to=packet.message_id)
                outgoing.enqueue(conn, msg, kind="packet_refusal", tracking=None,
                                 dedupe_key=f"packet-refusal:{row.id}", now=now, commit=False)
        store.close_input(row.id, "refused", f"packet {packet.packet_id[:80]!r} refused: {why}")
    log.warning("input %s: packet %r refused: %s", row.id, packet.packet_id[:80], why)
    outcome.skipped = f"packet refused: {why}"
    return outcome


def _signer_address(intake: Instance, signer: Signer) -> str | None:
    """The ``address`` listed for ``signer`` in ``[[packet.senders]]``, lower-cased; None when unset."""
    for s in intake.settings.packet.senders:
        if s.unit == signer.unit and s.public_key.strip() == signer.public_key and s.address:
            return s.address.strip().lower()
    return None


def _receipt_address(intake: Instance, signer: Signer, froms: set[str], packet: PacketInput) -> str | None:
    """Where the receipt goes: the signer's listed ``address``; without one, the From its parts
    came from, only when they all came from one (another listed office's From on one part would
    otherwise get this unit's results); None: no receipt (logged)."""
    own = _signer_address(intake, signer)
    if own:
        return own
    if packet.mail is None:
        return None
    if len(froms) == 1:
        return next(iter(froms))
    log.warning("packet %s: its parts came from %s; no receipt sent (set address for %s in "
                "[[packet.senders]])", packet.packet_id, ", ".join(sorted(froms)), signer.unit)
    return None


def _shown_id(packet: PacketInput) -> str:
    """The packet id as a refusal may repeat it: only one shaped like ours (``IIP2023-420100-P01``:
    ASCII letters, digits, ``.``, ``_``, ``-``; at most 64), else "（编号无法识别）": an
    unverified id is the sender's text, not ours to mail."""
    return packet.packet_id if PACKET_ID_SHAPE.fullmatch(packet.packet_id) else "（编号无法识别）"


def _keep_zip(intake: Instance, row: InputRow, packet: PacketInput) -> str | None:
    """Archive this part's zip (the one its signed part.json names, already checked) from what
    its worker decoded: in memory, else the file it spilled into the input's work folder. The
    packet is later assembled from the archive, so the part's mail, which may carry anything
    around the signed zip, is never parsed again in the desk's process. Returns its sha256, or
    None when neither holds it (the mail is then read again at assembly, as before)."""
    archive = intake.store.archive
    att = next((a for a in packet.mail.attachments if a.name.lower().endswith(".zip")), None) \
        if packet.mail is not None else None
    if att is None:
        return None
    if archive.has(att.sha256):
        return att.sha256
    if att.data and len(att.data) == att.size:
        archive.put_bytes(att.data)
        return att.sha256
    folder = intake.pipeline.parsed_folder(row.id)
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if (path.is_file() and not path.is_symlink() and path.stat().st_size == att.size
                and sha256_file(path) == att.sha256):
            archive.adopt(path)  # linked, not copied; the work folder is removed, never changed
            return att.sha256
    return None


def _assemble(intake: Instance, packet: PacketInput, have: dict[int, packet_table.HeldPart],
              staging: Path) -> list[str]:
    store = intake.store
    manifest = packet.manifest
    if packet.folder_files is not None:
        bad = []
        for f in manifest.get("files", []):
            sha = packet.folder_files.get(f["path"])
            if sha is None or sha != f["sha256"] or not store.archive.has(sha):
                bad.append(f["path"])
                continue
            dest = staging / f["path"]
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(store.archive.path_for(sha), dest)
        return bad

    def zips() -> Iterator[bytes]:
        # One part's zip at a time: memory holds one part (at most [imap] max_message_bytes),
        # never the packet. Reached only for a packet whose signature verified (``take``). The
        # zip comes from the archive (``_keep_zip``); a part kept before that, from its mail.
        for k in sorted(have):
            sha = have[k].zip_sha256
            if sha and store.archive.has(sha):
                yield store.archive.path_for(sha).read_bytes()
                continue
            row = store.get_input(have[k].input_id)
            mail = parse_message(store.archive.path_for(row.sha256).read_bytes())
            for att in mail.attachments:
                if att.name.lower().endswith(".zip"):
                    yield att.data
            del mail

    try:
        return assemble_parts(zips(), manifest, staging)
    except DAMAGED_ZIP_ERRORS as exc:  # altered in transit: every file bad, one clear receipt
        log.warning("packet %s: a part's zip is damaged: %s: %s", packet.packet_id, type(exc).__name__, exc)
        return [f["path"] for f in manifest.get("files", [])]


_SEQUENCE = re.compile(r"-P([0-9]{1,9})(?: |$)")  # ``IIP2023-420100-P07``: the unit's 7th packet
FUTURE_SLACK = timedelta(days=1)  # a build time further ahead of this desk's clock is not believed


def _built_at(value: object, now: datetime) -> datetime | None:
    """A signed manifest's ``created_at`` as a moment, or None when it cannot order packets: not
    ISO 8601, or more than ``FUTURE_SLACK`` ahead of ``now`` (a unit's clock far ahead would
    otherwise freeze its projects against every later packet). Without a zone (a pinned clock
    written without one), it is read as UTC: all of one unit's packets alike."""
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if when is None:
        return None
    when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return None if when > now + FUTURE_SLACK else when


def _stored_time(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _sequence(packet_key: str) -> int:
    """The packet's number among its unit's (``…-P07`` → 7); 0 when the id has none."""
    m = _SEQUENCE.search(packet_key)
    return int(m[1]) if m else 0


def _newer_version_here(conn, dossier_id: int, unit: str, packet_id: str, manifest: dict,  # noqa: ANN001
                        now: datetime) -> bool:
    """True when dossier ``dossier_id``'s current version came from a packet of ``unit`` built
    after ``packet_id`` (``manifest``): by the signed build times, and at the same time (a pinned
    clock) by the unit's packet number. Unknown times never refuse."""
    held = packet_table.packet_of_current_version(conn, dossier_id, unit)
    if held is None:
        return False
    ours, theirs = _built_at(manifest.get("created_at"), now), _built_at(held[1], now)
    if ours is None or theirs is None:
        return False
    return (theirs, _sequence(held[0])) > (ours, _sequence(packet_id))


def _not_registered(d: dict, result: str, details: list[str] | None = None) -> ProjectResult:
    """A receipt line for manifest entry ``d`` (its tracking number and facts) not registered here."""
    facts = d.get("facts", {})
    return ProjectResult(d["tracking"], str(facts.get("project_name") or ""),
                         str(facts.get("applicant") or ""), result, details or [])


def _register(intake: Instance, row: InputRow, packet: PacketInput, signer: Signer, staging: Path,
              bad: list[str], outcome: Outcome, now: datetime, froms: set[str]) -> None:
    store, settings, pipeline = intake.store, intake.settings, intake.pipeline
    conn = store.conn
    key = packet_table.registry_key(conn, packet.packet_id, signer.unit)
    manifest = packet.manifest
    results: dict[str, ProjectResult] = {}
    new: list[tuple[int, dict, DossierFacts]] = []
    for i, d in enumerate(manifest.get("dossiers", [])):
        existing = store.dossier_by_tracking(d["tracking"])
        if existing is not None and existing.signer != signer.unit:
            # A packet creates or updates only its own signer's dossiers: this number belongs to
            # a dossier taken here directly or sent by another unit.
            log.warning("packet %s: %s belongs to %s, not to signer %s: not registered",
                        packet.packet_id, d["tracking"], existing.signer or "this office", signer.unit)
            results[d["tracking"]] = _not_registered(
                d, "未登记：该受理编号已属于其他单位报送或本级直接受理的项目，贵单位不能更新")
            continue
        if existing is not None and _newer_version_here(conn, existing.id, signer.unit, packet.packet_id,
                                                        manifest, now):
            # A packet built before the one that gave this dossier its current version, arriving
            # late (held back, or a part of it replayed): never a rollback.
            log.warning("packet %s: %s holds a version from a packet %s built later: not registered",
                        packet.packet_id, d["tracking"], signer.unit)
            results[d["tracking"]] = _not_registered(
                d, "未登记：本级已登记贵单位较晚报送的该项目版本，本包中的版本较旧，未采用；"
                   "如需以本包为准，请重新生成推荐材料（新的推荐编号）后报送")
            continue
        broken = [p for p in bad if p.startswith(d["folder"] + "/")]
        if broken or not (staging / d["folder"]).is_dir():
            results[d["tracking"]] = _not_registered(
                d, "未登记：文件缺失或校验值（SHA-256）与清单不一致，请重新报送",
                [Path(p).name for p in broken] or ["文件夹缺失"])
            continue
        # In a worker under [budgets], like any input: a file forwarded from below costs its
        # budget and one finding, not the desk (issue 15).
        facts = pipeline.read_folder(staging / d["folder"], staging / f".parsed-{i}",
                                     received_at=settings.campaign.now or row.received_at,
                                     display_name=d["folder"])  # fmt: skip
        facts.sender = packet.sender
        pipeline.keep_materials([facts])
        new.append((i, d, facts))
    general: list[str] = []
    if bad:
        general.append("以下文件缺失或校验值不一致：" + "、".join(bad[:20]))
    table_extra: list[list[Finding]] = [[] for _ in new]
    table_path = staging / manifest.get("table", "汇总表.xlsx")
    if table_path.is_file():
        from parsers.tables import read_table

        tev = table_findings(read_table(table_path), [f for _, _, f in new], intake.campaign)
        general += [f"{f.message}（{f.where}）" if f.where else f.message for f in tev.general]
        table_extra = tev.per_dossier
    else:
        general.append("未收到汇总表")
    trackings = {d["tracking"] for _, d, _ in new}
    with store.transaction():
        current = [(dr, v) for dr, v in store.current_versions()
                   if dr.tracking not in trackings and dr.state == "open"]
        others = [loads_facts(v["facts"]) for _, v in current]
        # Judged with every other district's dossiers (cross-dossier rules), findings for the new
        # ones only; the others are judged again once below (waivers and rejections applied).
        ev = evaluate(others + [f for _, _, f in new], intake.campaign, level=settings.office.level,
                      now=pipeline.now(), targets=range(len(others), len(others) + len(new)))
        waived = waived_codes(store)
        for (i, d, facts), findings, extra in zip(new, ev.per_dossier[len(others):], table_extra,
                                                   strict=True):
            findings = without_waived(findings + extra, waived.get(d["tracking"], set()))
            v = verdict(findings)
            if store.version_for_input(row.id, i) is None:
                # the original tracking number is kept (the next level never renumbers)
                store.save_version(row.id, i, d["tracking"], facts, findings, v, now,
                                   signer=signer.unit)
            errors = [f.message for f in findings if f.severity == "error"]
            results[d["tracking"]] = ProjectResult(
                d["tracking"], facts.project_name or "", facts.applicant or "",
                "已登记，材料齐全" if v == "accepted" else "已登记，存在问题", errors)
            outcome.trackings.append(d["tracking"])
            outcome.verdicts.append(v)
        ordered = [results[d["tracking"]] for d in manifest.get("dossiers", []) if d["tracking"] in results]
        to = _receipt_address(intake, signer, froms, packet)
        if to:
            msg = compose_packet_receipt(
                _sender(intake), to, packet_id=packet.packet_id,
                sender_unit=manifest.get("unit", ""), campaign_name=manifest.get("campaign", ""),
                parts=packet.total, results=ordered, general=general, now=now,
                in_reply_to=packet.message_id,
            )
            outgoing.enqueue(conn, msg, kind="packet_receipt", tracking=None,
                             dedupe_key=f"packet-receipt:{key}", now=now, commit=False)
        pipeline.refresh_verdicts()
        packet_table.record_registered(
            conn, key, sender=packet.sender, unit=signer.unit, input_id=row.id,
            results=[{"tracking": r.tracking, "result": r.result} for r in ordered],
            created_at=_stored_time(_built_at(manifest.get("created_at"), now)))
        store.mark_processed(row.id)
    log.info("packet %s registered: %s", packet.packet_id,
             ", ".join(f"{t} {v}" for t, v in zip(outcome.trackings, outcome.verdicts, strict=True)))
