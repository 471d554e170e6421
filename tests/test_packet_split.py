"""The signed split of a mailed packet (``outbox/documents/packet_split.py``).

Before, only ``manifest.json`` was signed, and a part's number and the count of parts came from
its ``X-Intake-Packet-Part`` header. Anyone relaying a genuine packet could relabel part 1 of 2
as ``1/1`` and get the packet registered with the other part's dossiers missing (the genuine
parts were then "already registered"), or send a garbled copy of a part first, which took that
part's place. Each test replays or alters genuine parts made by the product's own split, zip and
signing code, as ``intake packet send`` makes them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import pytest

from bot.daemon import Intake
from outbox.documents.packet import part_zip, split_parts
from outbox.documents.packet_split import (
    PART_FILE,
    PART_SIGNATURE_FILE,
    SignedPart,
    part_file,
    read_signed_part,
    sign_part,
    split_digest,
)
from outbox.documents.signing import Signer, public_key_text
from outbox.mail.headers import to_bytes
from outbox.mail.packet_mail import Sender, compose_part
from tests.test_packet_trust import (
    A_ADDR,
    CITY_A,
    KEY_A,
    KEY_B,
    province,
    tracking,
    write_packet,
)

NOW = datetime(2023, 11, 29, 2, tzinfo=UTC)
BIG = {"申报书.txt": "项目名称：示例\n".encode() + b"x" * 20_000}


def two_dossier_packet(root: Path) -> Path:
    """A packet signed by 甲市 with two dossiers of ~20 KB each: two parts at a 30 KB budget."""
    return write_packet(root, KEY_A, [(tracking(1), "01-一", BIG), (tracking(2), "02-二", BIG)])


def part_mails(packet: Path, budget: int, *, key=KEY_A, edit=None) -> list[bytes]:  # noqa: ANN001
    """Every part of ``packet`` split at ``budget`` bytes, as ``packet send`` mails them (the split
    signed with ``key``). ``edit(k, doc)`` may change part k's part.json (a dict) before signing."""
    raw = (packet / "manifest.json").read_bytes()
    manifest = json.loads(raw)
    parts = split_parts(manifest, budget)
    split = split_digest(parts)
    out = []
    for k, pieces in enumerate(parts, 1):
        zip_bytes = part_zip(packet, pieces)
        part = part_file(manifest["packet_id"], raw, split, k, len(parts), zip_bytes)
        if edit is not None:
            doc = json.loads(part)
            edit(k, doc)
            part = json.dumps(doc).encode()
        msg = compose_part(
            Sender(CITY_A, "申报受理", A_ADDR, "jia.example.org", "x"), ["province@hubei.example.org"],
            manifest, k, len(parts), zip_bytes, now=NOW, manifest_bytes=raw,
            signature=(packet / "manifest.sig").read_bytes(),
            part_files=[(PART_FILE, part), (PART_SIGNATURE_FILE, sign_part(key, part))],
        )  # fmt: skip
        out.append(to_bytes(msg))
    return out


def relabel(raw: bytes, header: str) -> bytes:
    msg = message_from_bytes(raw, policy=email_policy.default)
    msg.replace_header("X-Intake-Packet-Part", header)
    return msg.as_bytes()


def without_split(raw: bytes) -> bytes:
    """The mail with part.json and part.sig taken out (as an older sender, or a forger, sends it)."""
    msg = message_from_bytes(raw, policy=email_policy.default)
    for part in list(msg.iter_attachments()):
        if part.get_filename() in (PART_FILE, PART_SIGNATURE_FILE):
            msg.get_payload().remove(part)
    return msg.as_bytes()


def with_zip(raw: bytes, data: bytes) -> bytes:
    """The mail with its zip's bytes replaced (a copy altered in transit)."""
    msg = message_from_bytes(raw, policy=email_policy.default)
    for part in msg.iter_attachments():
        if part.get_filename().endswith(".zip"):
            part.set_content(data, maintype="application", subtype="zip", filename=part.get_filename())
    return msg.as_bytes()


def deliver(intake: Intake, *mails: bytes) -> None:
    """Each mail dropped and processed in its own pass, in order."""
    folder = intake.settings.drop.folders[0]
    folder.mkdir(parents=True, exist_ok=True)
    for raw in mails:
        name = f"part-{hashlib.sha256(raw).hexdigest()[:12]}.eml"
        (folder / name).write_bytes(raw)
        intake.run_once()


def registered(intake: Intake) -> list[str]:
    return sorted(d.tracking for d in intake.store.dossiers())


def test_the_split_of_a_real_send_registers_whole_in_any_order(tmp_path):
    """GIVEN a two-part packet as `packet send` mails it THEN parts arriving in reverse order are
    kept, then joined, and both dossiers are registered."""
    intake = province(tmp_path / "prov")
    mails = part_mails(two_dossier_packet(tmp_path / "src"), 30_000)
    assert len(mails) == 2
    try:
        folder = intake.settings.drop.folders[0]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "part-2.eml").write_bytes(mails[1])
        (outcome,) = intake.run_once().outcomes
        assert outcome.waiting and "kept; waiting for part(s) 1" in outcome.skipped  # not "ignored"
        assert registered(intake) == []
        deliver(intake, mails[0])
        assert registered(intake) == [tracking(1), tracking(2)]
    finally:
        intake.close()


@pytest.mark.parametrize("header", ["1/1", "1/999999999", "0/3", "5/3"])
def test_a_rewritten_part_header_changes_nothing(tmp_path, header):
    """GIVEN part 1 of 2 of a genuine packet whose X-Intake-Packet-Part was rewritten in transit
    THEN the desk takes the signed numbers: part 1 of 2 is kept and waits for part 2 (before,
    "1/1" registered the packet with dossier 2 missing and the genuine parts were then refused
    as already registered; "1/999999999" made the desk count a billion missing parts)."""
    intake = province(tmp_path / "prov")
    first, second = part_mails(two_dossier_packet(tmp_path / "src"), 30_000)
    try:
        deliver(intake, relabel(first, header))
        assert registered(intake) == []
        (row,) = intake.store.inputs()
        assert row.state == "processed"
        kept = intake.store.conn.execute("SELECT part, total FROM packet_parts_in").fetchall()
        assert [tuple(r) for r in kept] == [(1, 2)]
        deliver(intake, second)
        assert registered(intake) == [tracking(1), tracking(2)]
    finally:
        intake.close()


def test_a_part_without_its_signed_split_is_refused(tmp_path):
    """GIVEN part 1 of 2 relabelled "1/1" with part.json and part.sig taken out THEN it is refused
    and not kept; the genuine parts still register the whole packet."""
    intake = province(tmp_path / "prov")
    first, second = part_mails(two_dossier_packet(tmp_path / "src"), 30_000)
    try:
        deliver(intake, without_split(relabel(first, "1/1")))
        assert registered(intake) == []
        (row,) = intake.store.inputs()
        assert row.state == "refused" and "no signed split" in row.error
        assert intake.store.conn.execute("SELECT COUNT(*) FROM packet_parts_in").fetchone()[0] == 0
        deliver(intake, first, second)
        assert registered(intake) == [tracking(1), tracking(2)]
    finally:
        intake.close()


def test_an_altered_copy_sent_first_does_not_take_the_genuine_parts_place(tmp_path):
    """GIVEN a copy of part 1 whose zip was swapped in transit (its part.json is genuine), sent
    before the genuine part 1 THEN the copy is refused (its zip is not the one signed) and the
    genuine parts register both dossiers whole (before: the first copy was kept and both
    dossiers came out "文件缺失或校验值不一致")."""
    intake = province(tmp_path / "prov")
    first, second = part_mails(two_dossier_packet(tmp_path / "src"), 30_000)
    try:
        deliver(intake, with_zip(first, b"PK\x05\x06" + b"\0" * 18))
        (row,) = intake.store.inputs()
        assert row.state == "refused" and "not the one signed" in row.error
        deliver(intake, first, second)
        assert registered(intake) == [tracking(1), tracking(2)]
        results = json.loads(intake.store.conn.execute("SELECT result FROM packets_in").fetchone()[0])
        assert len(results) == 2 and all(r["result"].startswith("已登记") for r in results)
    finally:
        intake.close()


def test_parts_of_two_different_splits_are_never_joined(tmp_path):
    """GIVEN the same packet sent twice, cut differently (one part, then two parts) THEN part 1 of
    the two-part send and the one-part send are each their own split: the one-part send
    registers on its own, and the two-part send's part 1 alone never completes a packet."""
    packet = two_dossier_packet(tmp_path / "src")
    (whole,) = part_mails(packet, 1 << 30)
    first, _second = part_mails(packet, 30_000)
    intake = province(tmp_path / "prov")
    try:
        deliver(intake, first)
        assert registered(intake) == []
        deliver(intake, whole)
        assert registered(intake) == [tracking(1), tracking(2)]
        keys = {r[0] for r in intake.store.conn.execute("SELECT packet_id FROM packet_parts_in")}
        assert len(keys) == 2  # kept apart, by their split's digest
    finally:
        intake.close()


def test_a_split_signed_by_another_listed_unit_is_refused(tmp_path):
    """GIVEN 甲市's packet whose part.json was signed with 乙市's key (also listed here) THEN it is
    refused: the split must be signed by the manifest's own signer."""
    intake = province(tmp_path / "prov")
    (mail,) = part_mails(two_dossier_packet(tmp_path / "src"), 1 << 30, key=KEY_B)
    try:
        deliver(intake, mail)
        (row,) = intake.store.inputs()
        assert row.state == "refused" and "part.sig" in row.error
        assert registered(intake) == []
    finally:
        intake.close()


@pytest.mark.parametrize(("field", "value", "why"), [
    ("part", 3, "outside"),
    ("total", 999_999_999, "outside"),
    ("part", "1", "outside"),
    ("packet_id", "IIP2023-420100-P99", "another packet"),
    ("manifest_sha256", "0" * 64, "another manifest"),
    ("format", "something else", "not a readable part"),
])
def test_a_signed_split_that_does_not_fit_its_mail_is_refused(tmp_path, field, value, why):
    """GIVEN a part whose part.json, though signed by 甲市's own key, gives impossible numbers (a
    sender's bug), another packet's id or another manifest's digest THEN it is refused and not
    kept."""
    intake = province(tmp_path / "prov")
    (mail,) = part_mails(two_dossier_packet(tmp_path / "src"), 1 << 30,
                         edit=lambda _k, doc: doc.__setitem__(field, value))
    try:
        deliver(intake, mail)
        (row,) = intake.store.inputs()
        assert row.state == "refused" and why in row.error
        assert intake.store.conn.execute("SELECT COUNT(*) FROM packet_parts_in").fetchone()[0] == 0
    finally:
        intake.close()


def test_read_signed_part_refuses_a_signed_manifest_passed_off_as_a_part():
    """The signed bytes of a part are prefixed (``PART_CONTEXT``): a manifest.sig never verifies a
    part.json, and a part.sig verifies only its own part.json."""
    from outbox.documents.signing import sign_manifest

    signer = Signer(CITY_A, public_key_text(KEY_A.public_key()))
    manifest = b'{"packet_id": "P"}'
    part = part_file("P", manifest, "a" * 64, 1, 1, b"zip")
    zsha = hashlib.sha256(b"zip").hexdigest()
    ok = read_signed_part(part, sign_part(KEY_A, part), signer, packet_id="P",
                          manifest_bytes=manifest, zip_sha256s=[zsha])
    assert ok == SignedPart(1, 1, "a" * 64)
    assert "part.sig" in read_signed_part(part, sign_manifest(KEY_A, part), signer, packet_id="P",
                                          manifest_bytes=manifest, zip_sha256s=[zsha])
    assert "not the one signed" in read_signed_part(part, sign_part(KEY_A, part), signer, packet_id="P",
                                                    manifest_bytes=manifest, zip_sha256s=[zsha, zsha])


def with_attachment(raw: bytes, name: str, data: bytes) -> bytes:
    """The mail with attachment ``name``'s bytes replaced."""
    msg = message_from_bytes(raw, policy=email_policy.default)
    for part in msg.iter_attachments():
        if part.get_filename() == name:
            part.set_content(data, maintype="application", subtype="json", filename=name)
    return msg.as_bytes()


@pytest.mark.parametrize("name", [PART_SIGNATURE_FILE, "manifest.sig"])
def test_a_signature_file_nested_too_deep_is_refused_not_quarantined(tmp_path, name):
    """GIVEN a genuine part whose part.sig or manifest.sig was replaced by 4,080 bytes of nested
    brackets (under the 4 KB cap) THEN the part is refused at once (before: json's RecursionError
    failed the input on every pass until it was quarantined, a forger's mail taken for a desk
    fault)."""
    intake = province(tmp_path / "prov")
    (mail,) = part_mails(two_dossier_packet(tmp_path / "src"), 1 << 30)
    try:
        deliver(intake, with_attachment(mail, name, b"[" * 2040 + b"]" * 2040))
        (row,) = intake.store.inputs()
        assert row.state == "refused" and "not a readable signature file" in row.error
        assert registered(intake) == []
    finally:
        intake.close()


def p01_and_p02(tmp_path: Path, old_at: str, new_at: str, *, also: dict | None = None) -> tuple[Path, Path]:
    """甲市's P01 (project 1 "旧版", and ``also``: more projects by tracking number) built at
    ``old_at``, and its P02 (project 1 corrected, "新版") built at ``new_at``."""
    more = [(t, f"0{i}-其他", {"申报书.txt": text.encode()}) for i, (t, text) in enumerate((also or {}).items(), 2)]
    old = write_packet(tmp_path / "p01", KEY_A, [(tracking(1), "01-一", {"申报书.txt": "旧版".encode()}), *more],
                       packet_id="IIP2023-420100-P01", created_at=old_at)
    new = write_packet(tmp_path / "p02", KEY_A, [(tracking(1), "01-一", {"申报书.txt": "新版".encode()})],
                       packet_id="IIP2023-420100-P02", created_at=new_at)
    return old, new


def versions_of_project_1(tmp_path: Path, *packets: Path) -> int:
    """How many versions project 1 has once ``packets`` arrived at the province, in that order."""
    intake = province(tmp_path / "prov")
    try:
        deliver(intake, *(m for packet in packets for m in part_mails(packet, 1 << 30)))
        return len(intake.store.versions_of(intake.store.dossier_by_tracking(tracking(1)).id))
    finally:
        intake.close()


def test_a_packet_built_earlier_and_delivered_late_rolls_nothing_back(tmp_path):
    """GIVEN 甲市's packet P01 (built 09:00) and P02 (built 10:00, the corrected project 1), the
    P01 mail held back in transit until P02 was registered WHEN P01 arrives THEN project 1 keeps
    P02's version (before: P01 gave it a new version, the old content) and P01's receipt says why;
    P01's project that P02 did not hold is registered as usual."""
    old, new = p01_and_p02(tmp_path, "2023-11-29T09:00:00+08:00", "2023-11-29T10:00:00+08:00",
                           also={tracking(3): "三"})
    (late,) = part_mails(old, 1 << 30)
    (mail2,) = part_mails(new, 1 << 30)
    intake = province(tmp_path / "prov")
    try:
        deliver(intake, mail2)
        deliver(intake, late)
        one = intake.store.dossier_by_tracking(tracking(1))
        versions = intake.store.versions_of(one.id)
        results = {p: json.loads(r) for p, r in intake.store.conn.execute(
            "SELECT packet_id, result FROM packets_in")}
        assert registered(intake) == [tracking(1), tracking(3)]
    finally:
        intake.close()
    assert len(versions) == 1  # P02's only
    p01 = {r["tracking"]: r["result"] for r in results["IIP2023-420100-P01"]}
    assert p01[tracking(1)].startswith("未登记") and "较旧" in p01[tracking(1)]
    assert p01[tracking(3)].startswith("已登记")


def test_a_later_packet_still_updates_a_project(tmp_path):
    """The other order, the usual one: P01 (09:00) then P02 (10:00) gives project 1 a second
    version."""
    old, new = p01_and_p02(tmp_path, "2023-11-29T09:00:00+08:00", "2023-11-29T10:00:00+08:00")
    assert versions_of_project_1(tmp_path, old, new) == 2


def test_a_part_from_another_listed_office_is_refused_and_the_receipt_goes_to_the_signer(tmp_path):
    """GIVEN a province listing 甲市 (address intake@jia) and 乙市 (intake@yi) as senders, 甲市's
    key with its address, and 甲市's two-part packet whose last part was re-sent with 乙市's From
    THEN that copy is refused, and when 甲市's genuine last part arrives the one receipt goes to
    intake@jia (before: the receipt, with 甲市's projects and results, went to 乙市)."""
    from tests.conftest import make_settings

    yi = "intake@yi.example.org"
    settings = make_settings(
        tmp_path / "prov",
        office={"level": "province", "unit": "湖北省经济和信息化厅", "division_code": "420000",
                "downstream_senders": [A_ADDR, yi]},
        packet={"senders": [{"unit": CITY_A, "public_key": public_key_text(KEY_A.public_key()),
                             "address": A_ADDR},
                            {"unit": "乙市经济和信息化局", "public_key": public_key_text(KEY_B.public_key())}]},
    )  # fmt: skip
    intake = Intake(settings)
    first, second = part_mails(two_dossier_packet(tmp_path / "src"), 30_000)
    forged = message_from_bytes(second, policy=email_policy.default)
    forged.replace_header("From", yi)
    forged.replace_header("Message-ID", "<forged@yi.example.org>")
    try:
        deliver(intake, first, forged.as_bytes())
        assert registered(intake) == []
        refused = [r for r in intake.store.inputs() if r.state == "refused"]
        assert len(refused) == 1 and "From is not" in refused[0].error
        deliver(intake, second)
        assert registered(intake) == [tracking(1), tracking(2)]
        receipts = [json.loads(r[0]) for r in intake.store.conn.execute(
            "SELECT rcpts FROM outgoing WHERE kind='packet_receipt'")]
    finally:
        intake.close()
    assert receipts == [[A_ADDR]]


@pytest.mark.parametrize("name", [PART_FILE, PART_SIGNATURE_FILE, "manifest.sig"])
def test_an_oversized_signature_or_part_file_is_refused_as_too_large(tmp_path, name):
    """GIVEN a genuine part whose part.json, part.sig or manifest.sig was padded to 1.2 MB (past
    the worker's in-memory size, so it is only in the archive) THEN the part is refused as too
    large, and that file is never read back (before: up to 16 MB of each was read into the
    desk's memory before the sender or the signature was checked)."""
    intake = province(tmp_path / "prov")
    (mail,) = part_mails(two_dossier_packet(tmp_path / "src"), 1 << 30)
    try:
        deliver(intake, with_attachment(mail, name, b" " * 1_200_000))
        (row,) = intake.store.inputs()
        assert row.state == "refused" and "too large" in row.error
    finally:
        intake.close()


def padded(raw: bytes, n: int = 300) -> bytes:
    """The mail with ``n`` junk attachments added around its parts (the signed zip untouched)."""
    msg = message_from_bytes(raw, policy=email_policy.default)
    for i in range(n):
        msg.add_attachment(b"junk %d" % i, maintype="application", subtype="octet-stream",
                           filename=f"junk-{i}.bin")
    msg.replace_header("Message-ID", "<padded@relay.example.org>")
    return msg.as_bytes()


@pytest.mark.parametrize("size", [20_000, 1_500_000])  # a zip kept in memory; one spilled to disk
def test_a_kept_part_is_assembled_from_its_signed_zip_never_its_mail_parsed_again(tmp_path, monkeypatch,
                                                                                   size):
    """GIVEN a copy of part 1 padded with 300 junk attachments, kept first (its zip is the signed
    one), then the genuine part 2 WHEN the packet is whole THEN it is assembled from the zips
    the workers decoded, kept in the archive: no part's mail is parsed again in the desk's own
    process, outside [budgets] (before: the padded mail was), and both projects register."""
    from bot.upstream import packet_intake

    content = {"申报书.txt": "项目名称：示例\n".encode() + b"x" * size}
    packet = write_packet(tmp_path / "src", KEY_A, [(tracking(1), "01-一", content),
                                                    (tracking(2), "02-二", content)])
    first, second = part_mails(packet, size + 10_000)

    def no_second_parse(raw: bytes):
        raise AssertionError("a part's mail parsed again in the desk's process")

    monkeypatch.setattr(packet_intake, "parse_message", no_second_parse)
    intake = province(tmp_path / "prov")
    try:
        deliver(intake, padded(first), second)
        assert registered(intake) == [tracking(1), tracking(2)]
        shas = [r[0] for r in intake.store.conn.execute("SELECT zip_sha256 FROM packet_parts_in")]
        assert len(shas) == 2 and all(intake.store.archive.has(s) for s in shas)
    finally:
        intake.close()


def test_status_shows_packets_received_and_parts_waiting(tmp_path):
    """`intake status` (its data) lists a packet from below while its parts are kept, as parts
    held of how many, then as registered with its projects (before: packets appeared nowhere in
    status)."""
    from bot.cli.status import status_data

    intake = province(tmp_path / "prov")
    first, second = part_mails(two_dossier_packet(tmp_path / "src"), 30_000)
    try:
        deliver(intake, first)
        waiting = status_data(intake.settings)["packets"]
        deliver(intake, second)
        after = status_data(intake.settings)["packets"]
    finally:
        intake.close()
    assert [(w["held"], w["total"]) for w in waiting["waiting"]] == [(1, 2)] and waiting["received"] == []
    assert after["waiting"] == []
    (r,) = after["received"]
    assert (r["packet_id"], r["unit"], r["registered"], r["projects"]) == ("IIP2023-420100-P01", CITY_A, 2, 2)


@pytest.mark.parametrize(("old_at", "new_at"), [
    ("2023-11-29T10:00:00+08:00", "2023-11-29T10:00:00+08:00"),  # a pinned clock: the same time
    ("2023-11-29T09:00:00", "2023-11-29T10:00:00"),  # a pinned clock written without a zone
])
def test_the_rollback_guard_holds_with_a_pinned_clock_below(tmp_path, old_at, new_at):
    """GIVEN the level below's clock pinned (every packet built at the same time, or at times
    without a zone) and its P01 held back until P02 registered THEN project 1 keeps P02's version
    (before: a tie or a time without a zone switched the guard off): at the same time, the
    unit's packet number decides."""
    old, new = p01_and_p02(tmp_path, old_at, new_at)
    assert versions_of_project_1(tmp_path, new, old) == 1


def test_a_build_time_far_ahead_of_the_clock_freezes_nothing(tmp_path):
    """GIVEN a unit's P01 signed with created_at in 2099 (its clock wrong) THEN its later P02
    still updates the project (before: every later packet was refused as older, for good)."""
    old, new = p01_and_p02(tmp_path, "2099-01-01T00:00:00+08:00", "2023-11-29T10:00:00+08:00")
    assert versions_of_project_1(tmp_path, old, new) == 2


def test_without_an_address_the_receipt_goes_only_where_every_part_came_from(tmp_path):
    """GIVEN two listed offices and no address for 甲市 WHEN 甲市's last part arrives with 乙市's
    From THEN the packet registers but no receipt is sent (before: 甲市's results went to 乙市);
    with every part from 甲市's address the receipt goes there."""
    from tests.conftest import make_settings

    def desk(root: Path) -> Intake:
        return Intake(make_settings(
            root, office={"level": "province", "unit": "湖北省经济和信息化厅", "division_code": "420000",
                          "downstream_senders": [A_ADDR, "intake@yi.example.org"]},
            packet={"senders": [{"unit": CITY_A, "public_key": public_key_text(KEY_A.public_key())}]}))

    first, second = part_mails(two_dossier_packet(tmp_path / "src"), 30_000)
    forged = message_from_bytes(second, policy=email_policy.default)
    forged.replace_header("From", "intake@yi.example.org")
    for mails, root, want in (([first, forged.as_bytes()], tmp_path / "p1", []),
                              ([first, second], tmp_path / "p2", [[A_ADDR]])):
        intake = desk(root)
        try:
            deliver(intake, *mails)
            assert registered(intake) == [tracking(1), tracking(2)]
            receipts = [json.loads(r[0]) for r in intake.store.conn.execute(
                "SELECT rcpts FROM outgoing WHERE kind='packet_receipt'")]
        finally:
            intake.close()
        assert receipts == want


def test_a_signed_packet_id_not_shaped_like_ours_is_refused(tmp_path):
    """GIVEN a packet signed by 甲市 whose id carries terminal markup ("[blink]…") THEN it is
    refused before anything is kept (before: the id reached the officers' `status` table)."""
    intake = province(tmp_path / "prov")
    packet = write_packet(tmp_path / "src", KEY_A, [(tracking(1), "01-一", BIG)],
                          packet_id="[blink][reverse]IIP2023-420100-P01")
    try:
        deliver(intake, *part_mails(packet, 1 << 30))
        (row,) = intake.store.inputs()
        assert row.state == "refused" and "packet_id" in row.error
    finally:
        intake.close()
