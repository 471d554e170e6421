"""Issue 14, attack 2: packets are trusted by their Ed25519 signature, never by a From or a folder.

Each test is an attack that succeeded before signatures: an unsigned packet dropped in a folder
or mailed with a listed sender's From, names from the manifest used as paths (files written
outside the store, an absolute folder read and its secret archived), and one unit's packet
giving new versions to another unit's dossiers. Packets are made here by hand, exactly as an
attacker (or a misbehaving unit holding an accepted key) would write them.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.daemon import Intake
from outbox.documents.packet_split import PART_FILE, PART_SIGNATURE_FILE, part_file, sign_part
from outbox.documents.signing import public_key_text, sign_manifest, verify_manifest
from outbox.mail.headers import to_bytes
from outbox.mail.packet_mail import Sender, compose_part
from outbox.mail.tracking import make_tracking
from parsers.safe_names import is_safe_relative_path
from tests.conftest import make_settings

CITY_A = "甲市经济和信息化局"
CITY_B = "乙市经济和信息化局"
A_ADDR = "intake@jia.example.org"
KEY_A = Ed25519PrivateKey.generate()
KEY_B = Ed25519PrivateKey.generate()
KEY_STRANGER = Ed25519PrivateKey.generate()


def province(root: Path) -> Intake:
    """A province accepting signed packets from 甲市 and 乙市 (mail only from 甲市's address)."""
    settings = make_settings(
        root,
        office={"level": "province", "unit": "湖北省经济和信息化厅", "division_code": "420000",
                "downstream_senders": [A_ADDR]},
        packet={"senders": [{"unit": CITY_A, "public_key": public_key_text(KEY_A.public_key())},
                            {"unit": CITY_B, "public_key": public_key_text(KEY_B.public_key())}]},
    )  # fmt: skip
    return Intake(settings)


def write_packet(
    root: Path,
    key: Ed25519PrivateKey | None,
    dossiers: list[tuple[str, str, dict[str, bytes]]],
    *,
    packet_id: str = "IIP2023-420100-P01",
    unit: str = CITY_A,
    created_at: str | None = None,
) -> Path:
    """A packet folder ``root`` holding, per ``(tracking, folder, {file name: bytes})``, that folder
    and its files, plus manifest.json (and manifest.sig when ``key`` is given). Folder and file
    names go into the manifest as given (an attacker's names); files are written only under
    ``root`` when the name stays inside it."""
    root.mkdir(parents=True)
    files, entries = [], []
    for seq, (tracking, folder, content) in enumerate(dossiers, 1):
        own = []
        for name, data in content.items():
            rel = f"{folder}/{name}"
            if is_safe_relative_path(rel):
                (root / folder).mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(data)
            item = {"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            own.append(item)
            files.append(item)
        entries.append({"seq": seq, "tracking": tracking, "folder": folder, "short_name": "示例",
                        "facts": {"project_name": f"项目{seq}", "applicant": f"示例{seq}有限公司"},
                        "verdict": "accepted", "findings": [], "files": own})  # fmt: skip
    manifest = {"format": "dossier-intake packet 1", "packet_id": packet_id, "unit": unit,
                "campaign": "2023年工业互联网试点示范", "level": "city", "table": "汇总表.xlsx",
                "dossiers": entries, "files": files}  # fmt: skip
    if created_at is not None:
        manifest["created_at"] = created_at
    raw = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
    (root / "manifest.json").write_bytes(raw)
    if key is not None:
        (root / "manifest.sig").write_bytes(sign_manifest(key, raw))
    return root


def packet_mail(
    packet: Path, *, sender: str = A_ADDR, members: dict[str, bytes] | None = None,
    split_key: Ed25519PrivateKey = KEY_A,
) -> bytes:
    """The packet as one mailed part from ``sender``: manifest.json, manifest.sig (if any), a
    zip of ``members`` (default: every file of the manifest read from the folder) and, when the
    manifest is signed, the split (part 1 of 1) signed with ``split_key``."""
    raw = (packet / "manifest.json").read_bytes()
    manifest = json.loads(raw)
    if members is None:
        members = {f["path"]: (packet / f["path"]).read_bytes() for f in manifest["files"]}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    sig = packet / "manifest.sig"
    split = []
    if sig.exists():
        part = part_file(manifest["packet_id"], raw, "0" * 64, 1, 1, buf.getvalue())
        split = [(PART_FILE, part), (PART_SIGNATURE_FILE, sign_part(split_key, part))]
    msg = compose_part(
        Sender(CITY_A, "申报受理", sender, "jia.example.org", "x"), ["province@hubei.example.org"],
        manifest, 1, 1, buf.getvalue(), now=datetime(2023, 11, 29, 2, tzinfo=UTC),
        manifest_bytes=raw, signature=sig.read_bytes() if sig.exists() else None, part_files=split,
    )  # fmt: skip
    return to_bytes(msg)


def tracking(n: int) -> str:
    return make_tracking("IIP2023", "420100", n)


FORM = {"申报书.txt": "项目名称：示例\n".encode()}


def states(intake: Intake) -> list[str]:
    return [r.state for r in intake.store.inputs()]


def test_an_unsigned_packet_folder_in_a_drop_folder_is_refused(tmp_path):
    """GIVEN a folder holding manifest.json (no signature) dropped in the province's drop folder
    THEN nothing is registered and the input is refused as unsigned (before: registered)."""
    intake = province(tmp_path / "prov")
    write_packet(intake.settings.drop.folders[0] / "packet", None, [(tracking(1), "01-示例", FORM)])
    try:
        intake.run_once()
        assert intake.store.dossiers() == []
        (row,) = intake.store.inputs()
        assert row.state == "refused" and "unsigned" in row.error
    finally:
        intake.close()


def test_packet_signed_with_a_key_not_listed_or_altered_after_signing_is_refused(tmp_path):
    """A packet signed by a stranger's key, and one whose manifest was changed after 甲市 signed
    it (a tracking number swapped), are both refused; the untouched one registers."""
    intake = province(tmp_path / "prov")
    drop = intake.settings.drop.folders[0]
    write_packet(
        drop / "stranger", KEY_STRANGER, [(tracking(1), "01-示例", FORM)], packet_id="S-P01"
    )
    altered = write_packet(
        drop / "altered", KEY_A, [(tracking(2), "01-示例", FORM)], packet_id="A-P01"
    )
    text = (altered / "manifest.json").read_text(encoding="utf-8")
    (altered / "manifest.json").write_text(text.replace(tracking(2), tracking(3)), encoding="utf-8")
    write_packet(drop / "genuine", KEY_A, [(tracking(4), "01-示例", FORM)], packet_id="A-P02")
    try:
        intake.run_once()
        assert [d.tracking for d in intake.store.dossiers()] == [tracking(4)]
        errors = sorted(r.error or "" for r in intake.store.inputs() if r.state == "refused")
        assert len(errors) == 2
        assert any("bad signature" in e for e in errors)
        assert any("not listed" in e for e in errors)
    finally:
        intake.close()


@pytest.mark.parametrize("folder", ["../../escaped", "/ABSOLUTE"])
def test_a_signed_packet_with_a_parent_or_absolute_folder_is_refused_whole(tmp_path, folder):
    """GIVEN a packet signed with an accepted key whose manifest names a parent path, or an
    absolute folder (here a folder holding an ``id_rsa``), beside a well-named dossier
    THEN the whole packet is refused: no dossier, nothing written outside, the secret never
    archived (before: files written outside the store; the absolute folder read and archived)."""
    secret_dir = tmp_path / "home" / ".ssh"
    secret_dir.mkdir(parents=True)
    secret = b"-----BEGIN OPENSSH PRIVATE KEY----- not really\n"
    (secret_dir / "id_rsa").write_bytes(secret)
    folder = str(secret_dir) if folder == "/ABSOLUTE" else folder
    intake = province(tmp_path / "prov")
    drop = intake.settings.drop.folders[0]
    write_packet(drop / "p", KEY_A, [(tracking(5), "01-示例", FORM),
                                     (tracking(6), folder, {"id_rsa": secret})])  # fmt: skip
    before = set(tmp_path.rglob("*"))
    try:
        intake.run_once()
        assert intake.store.dossiers() == []
        (row,) = intake.store.inputs()
        assert row.state == "refused" and "unsafe or malformed folder" in row.error
        assert not intake.store.archive.has(hashlib.sha256(secret).hexdigest())
    finally:
        intake.close()
    escaped = [p for p in set(tmp_path.rglob("*")) - before if "escaped" in p.name]
    assert escaped == []


@pytest.mark.parametrize(
    "name", ["01-示例/../../../../evil.txt", "ABS/evil.txt", "01-示例/..\\..\\evil.txt"]
)
def test_a_mailed_packet_with_traversal_member_names_writes_nothing(tmp_path, name):
    """GIVEN a mailed packet (From 甲市, signed with 甲市's key) whose manifest and zip name a
    member ``../…``, an absolute path or a Windows parent path
    THEN the packet is refused whole and no file lands outside (before: written outside the
    work folder)."""
    name = name.replace("ABS", str(tmp_path / "abs"))
    intake = province(tmp_path / "prov")
    data = b"evil"
    packet = write_packet(tmp_path / "src", KEY_A, [(tracking(7), "01-示例", {**FORM})])
    manifest = json.loads((packet / "manifest.json").read_bytes())
    manifest["files"].append({"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": 4})
    raw = json.dumps(manifest, ensure_ascii=False).encode()
    (packet / "manifest.json").write_bytes(raw)
    (packet / "manifest.sig").write_bytes(sign_manifest(KEY_A, raw))
    members = {f["path"]: (packet / f["path"]).read_bytes() for f in manifest["files"][:-1]}
    members[name] = data
    intake.settings.drop.folders[0].mkdir(parents=True, exist_ok=True)
    (intake.settings.drop.folders[0] / "packet.eml").write_bytes(
        packet_mail(packet, members=members)
    )
    try:
        intake.run_once()
        assert intake.store.dossiers() == []
        assert states(intake) == ["refused"]
    finally:
        intake.close()
    assert [p for p in tmp_path.rglob("evil.txt")] == []


def test_a_packet_from_signer_a_cannot_update_signer_bs_or_local_dossiers(tmp_path):
    """GIVEN 乙市's signed packet registered (dossier T), and a dossier taken here directly
    WHEN 甲市 sends a signed packet carrying T, the local dossier's number, and a new number
    THEN only the new number is registered (signer 甲市); T keeps 乙市's single version, the
    local dossier is untouched (before: both got new versions from 甲市's packet)."""
    intake = province(tmp_path / "prov")
    drop = intake.settings.drop.folders[0]
    t_b, t_new = tracking(8), tracking(9)
    write_packet(drop / "b", KEY_B, [(t_b, "01-乙", FORM)], packet_id="B-P01", unit=CITY_B)
    try:
        intake.run_once()
        assert [(d.tracking, d.signer) for d in intake.store.dossiers()] == [(t_b, CITY_B)]
        # a dossier taken here directly (a folder dropped by an enterprise of the province)
        (drop / "本级企业").mkdir()
        (drop / "本级企业" / "申报书.txt").write_text("项目名称：本级\n", encoding="utf-8")
        intake.run_once()
        local = next(d for d in intake.store.dossiers() if d.tracking != t_b)
        assert local.signer is None
        write_packet(drop / "a", KEY_A, [(t_b, "01-甲", FORM), (local.tracking, "02-甲", FORM),
                                         (t_new, "03-甲", FORM)], packet_id="A-P01")  # fmt: skip
        intake.run_once()
        rows = {d.tracking: d for d in intake.store.dossiers()}
        assert (rows[t_b].signer, rows[t_b].current_version) == (CITY_B, 1)
        assert (rows[local.tracking].signer, rows[local.tracking].current_version) == (None, 1)
        assert rows[t_new].signer == CITY_A
        result = json.loads(intake.store.conn.execute(
            "SELECT result FROM packets_in WHERE packet_id='A-P01'").fetchone()[0])  # fmt: skip
        by = {r["tracking"]: r["result"] for r in result}
        assert by[t_b].startswith("未登记") and by[local.tracking].startswith("未登记")
        assert by[t_new].startswith("已登记")
    finally:
        intake.close()


def test_verify_manifest_refuses_missing_garbled_and_foreign_signatures():
    """The signature check alone: unsigned, garbage, a key not accepted, a changed byte."""
    raw = b'{"packet_id": "X"}'
    accepted = [(CITY_A, public_key_text(KEY_A.public_key()))]
    assert verify_manifest(raw, sign_manifest(KEY_A, raw), accepted).unit == CITY_A
    assert "unsigned" in verify_manifest(raw, None, accepted)
    assert "not a readable" in verify_manifest(raw, b"\x00garbage", accepted)
    assert "not listed" in verify_manifest(raw, sign_manifest(KEY_STRANGER, raw), accepted)
    assert "bad signature" in verify_manifest(raw + b" ", sign_manifest(KEY_A, raw), accepted)


def test_a_signer_cannot_take_another_units_packet_id_first(tmp_path):
    """Attack (tests/robustness/README.md K6): packet ids are predictable
    (``IIP2023-420100-P01``: campaign, division, sequence). 乙市, a listed signer, signs an empty
    packet under 甲市's next id and drops it first; 甲市's real packet with that id was then
    skipped as "already registered": its dossiers never reached the province. Now a packet id is
    registered per signer (``registry_key``), so 甲市's packet is registered; 乙市's stays its own."""
    intake = province(tmp_path / "prov")
    drop = intake.settings.drop.folders[0]
    try:
        write_packet(drop / "squat", KEY_B, [], packet_id="IIP2023-420100-P01", unit=CITY_B)
        intake.run_once()
        write_packet(drop / "real", KEY_A, [(tracking(3), "01-甲", FORM)], packet_id="IIP2023-420100-P01")
        intake.run_once()
        assert [(d.tracking, d.signer) for d in intake.store.dossiers()] == [(tracking(3), CITY_A)]
        assert sorted(tuple(r) for r in intake.store.conn.execute("SELECT packet_id, unit FROM packets_in")) == [
            ("IIP2023-420100-P01", CITY_B), (f"IIP2023-420100-P01 [{CITY_A}]", CITY_A)]
        write_packet(drop / "again", KEY_A, [(tracking(3), "01-甲", FORM)], packet_id="IIP2023-420100-P01")
        intake.run_once()  # the same packet again: already registered for 甲市
        assert intake.store.dossier_by_tracking(tracking(3)).current_version == 1
    finally:
        intake.close()


def test_a_hostile_file_in_a_signed_packet_costs_its_budget_not_the_desk(tmp_path):
    """GIVEN 甲市's signed packet whose dossier carries the heavy PDF (~50 s of pypdf) as
    全套扫描件.pdf, and [budgets] pdf_s = 2 at the province
    WHEN it is taken
    THEN the dossier is registered within seconds, its PDF read in a worker and marked
    too_costly (FILE_TOO_COSTLY), like a file sent to the province directly (issue 15; before:
    read in the daemon's own process, for as long as pypdf took)."""
    from tests.hostile_files import heavy_pdf

    heavy = heavy_pdf(tmp_path / "heavy.pdf", pages=40).read_bytes()
    base = province(tmp_path / "prov")
    settings = base.settings.model_copy(update={"budgets": base.settings.budgets.model_copy(update={"pdf_s": 2.0})})
    base.close()
    intake = Intake(settings)
    write_packet(settings.drop.folders[0] / "a", KEY_A,
                 [(tracking(5), "01-甲", {**FORM, "全套扫描件.pdf": heavy})])  # fmt: skip
    try:
        intake.run_once()
        (d,) = intake.store.dossiers()
        assert d.tracking == tracking(5)
        (_, v), = intake.store.current_versions()
        pdf = next(m for m in json.loads(v["facts"])["materials"] if m["name"] == "全套扫描件.pdf")
        assert pdf["problem"] == "too_costly"
        assert "FILE_TOO_COSTLY" in {f["code"] for f in json.loads(v["findings"])}
    finally:
        intake.close()


def test_manifest_over_the_spill_size_is_read_back_from_the_archive(tmp_path):
    """GIVEN a mailed manifest.json large enough that its worker kept only its sha256 (not its
    bytes) WHEN the packet is recognised THEN its bytes are read back from the archive (where
    every material is kept), not by parsing the mail again; one never archived, or over
    MAX_MANIFEST_BYTES, gives nothing (the packet is then unsigned and refused)."""
    from bot.upstream.packet_intake import MAX_MANIFEST_BYTES, _attachment_bytes
    from parsers.facts import Attachment

    intake = province(tmp_path)
    try:
        body = json.dumps({"packet_id": "P-1", "pad": "x" * 1_200_000}).encode()
        sha, size = intake.store.archive.put_bytes(body)
        kept = Attachment("manifest.json", "application/json", b"", sha, size)
        assert _attachment_bytes(intake, kept) == body
        small = Attachment("manifest.sig", "application/json", b"{}", "0" * 64, 2)
        assert _attachment_bytes(intake, small) == b"{}"
        lost = Attachment("manifest.json", "application/json", b"", "f" * 64, size)
        assert _attachment_bytes(intake, lost) is None
        huge = Attachment("manifest.json", "application/json", b"", sha, MAX_MANIFEST_BYTES + 1)
        assert _attachment_bytes(intake, huge) is None
    finally:
        intake.close()


def test_a_dropped_folder_with_a_manifest_over_the_limit_is_not_read_as_a_packet(tmp_path, monkeypatch):
    """GIVEN a folder in the drop folder whose manifest.json names a packet but passes
    MAX_MANIFEST_BYTES (lowered here to 1 KB) WHEN the desk runs THEN the manifest is never read
    into the desk's memory as a packet's: the folder is taken as a dossier like any other (its
    files judged in a worker, under [budgets]), not refused or registered as a packet."""
    from bot.upstream import packet_intake

    monkeypatch.setattr(packet_intake, "MAX_MANIFEST_BYTES", 1024)
    intake = province(tmp_path / "prov")
    folder = write_packet(intake.settings.drop.folders[0] / "packet", KEY_A,
                          [(tracking(n), f"{n:02d}-示例", FORM) for n in range(1, 12)])
    assert (folder / "manifest.json").stat().st_size > 1024
    try:
        intake.run_once()
        (row,) = intake.store.inputs()
        registered = intake.store.conn.execute("SELECT COUNT(*) FROM packets_in").fetchone()[0]
    finally:
        intake.close()
    assert row.state == "processed" and registered == 0


def test_a_manifest_nested_too_deep_is_no_manifest_and_odd_ids_are_not_repeated():
    """GIVEN a manifest.json nested 200,000 deep (json raised RecursionError, which failed the
    input three times into quarantine) THEN it reads as no manifest; and a refusal repeats a
    packet id only when it is shaped like ours, never the sender's free text."""
    from bot.upstream.packet_intake import PacketInput, _json, _shown_id

    assert _json(b"[" * 200_000 + b"]" * 200_000) is None
    ours = PacketInput("IIP2023-420100-P01", {}, 1, 1, None, None, None)
    spam = PacketInput("恭喜您获得政府补贴5万元请立即登录evil.example领取", {}, 1, 1, None, None, None)
    assert _shown_id(ours) == "IIP2023-420100-P01"
    assert _shown_id(spam) == "（编号无法识别）"
