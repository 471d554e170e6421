"""Two levels on real servers: a city sends its packet by SMTP, the province takes it over IMAP.

Servers: aiosmtpd on loopback (every mail of both instances goes through it; mail for the
province's address is delivered into Dovecot with dovecot-lda) and the session's Dovecot.
"""

from __future__ import annotations

from email import message_from_bytes
from email import policy as email_policy

import pytest
from openpyxl import load_workbook

from bot.daemon import Intake
from bot.upstream.packets import build, send
from tests.conftest import make_settings
from tests.servers.dovecot import dovecot  # noqa: F401
from tests.servers.smtp import Captured, SmtpTestServer
from tests.two_level_builders import ENTERPRISES, city_instance, city_public_key

pytestmark = pytest.mark.dovecot

PROVINCE = "province@hubei.example.org"
CITY = "intake@wuhan.example.org"
LIMIT = 200_000  # bytes per packet mail: the ~600 KB packet needs several parts


@pytest.fixture
def relay(dovecot):  # noqa: F811
    """An SMTP relay delivering mail for PROVINCE into a fresh Dovecot mailbox."""
    user, password = dovecot.new_user()

    def to_dovecot(c: Captured) -> str | None:
        if PROVINCE in [r.lower() for r in c.rcpts]:
            dovecot.deliver(user, c.data, sender=c.mail_from)
        return None

    server = SmtpTestServer(on_message=to_dovecot).start()
    try:
        yield server, dovecot, user, password
    finally:
        server.stop()


def _smtp(server: SmtpTestServer) -> dict:
    return {"host": "127.0.0.1", "port": server.port, "security": "plain"}


def _smtp_city(tmp_path, server: SmtpTestServer, video) -> tuple[Intake, str]:  # noqa: ANN001
    """The city, sending through the relay in parts under ``LIMIT``, and its public key
    (`intake keys init` on the city, once at setup)."""
    city = city_instance(tmp_path / "city", video, smtp=_smtp(server),
                         outbox={"transport": "smtp"}, packet={"max_message_bytes": LIMIT})
    return city, city_public_key(city)


def _province(root, server, dc, user, password, senders=()) -> Intake:
    """The province, accepting packets mailed from CITY and signed by one of ``senders``
    (``(unit, public key)`` pairs, as exchanged once at setup)."""
    settings = make_settings(
        root,
        office={"level": "province", "unit": "湖北省经济和信息化厅", "division_code": "420000",
                "downstream_senders": [CITY]},
        packet={"senders": [{"unit": u, "public_key": k} for u, k in senders]},
        imap={"enabled": True, "host": dc.host, "port": dc.port, "security": "plain",
              "username": user, "password": password, "timeout_s": 10},
        smtp=_smtp(server),
        outbox={"transport": "smtp", "from_addr": PROVINCE, "domain": "hubei.example.org"},
    )
    return Intake(settings)


def _to(server: SmtpTestServer, addr: str) -> list[Captured]:
    return [c for c in server.messages if addr in [r.lower() for r in c.rcpts]]


def test_city_packet_to_province_and_one_receipt(tmp_path, relay, video_6min):
    """GIVEN a city that took three enterprises' dossiers and a province allowing the city
    WHEN the city builds its packet and sends it in parts (the first part failing once, then
    resumed) and the province reads its mailbox
    THEN every part is under the limit and numbered (k/n) with one packet id, the resume sends
    only the failed part, the province registers each dossier under its ORIGINAL tracking
    number, and the city gets exactly one receipt listing each project as registered."""
    server, dc, user, password = relay
    city, city_key = _smtp_city(tmp_path, server, video_6min)
    try:
        built = build(city.settings, city.store, city.campaign)
        trackings = [d["tracking"] for d in built.manifest["dossiers"]]
        ws = load_workbook(built.path / "汇总表.xlsx")["汇总表"]
        assert ws["A1"].value == "2023年工业互联网试点示范推荐项目汇总表"
        assert ws["A2"].value == "推荐单位（盖章）：武汉市经济和信息化局"
        assert [ws.cell(row=r, column=6).value for r in (4, 5, 6)] == [
            f"{e.mobile} / {e.email}" for e in (ENTERPRISES[2], ENTERPRISES[1], ENTERPRISES[0])]

        server.fail_next("451 4.3.0 try again later", times=1, stage="data")
        first = send(city, draft=True)
        assert first.failed and list(first.failed) == [1]
        assert first.total >= 3 and first.sent == list(range(2, first.total + 1))
        second = send(city, draft=True)
        assert second.sent == [1] and second.already == list(range(2, first.total + 1))
        third = send(city, draft=True)
        assert third.sent == [] and not third.failed
    finally:
        city.close()

    parts = _to(server, PROVINCE)
    assert len(parts) == first.total  # each part once: nothing sent twice
    pid = built.manifest["packet_id"]
    numbers = set()
    for c in parts:
        m = c.message
        assert len(c.data) <= LIMIT
        assert "manifest.sig" in [a.get_filename() for a in m.iter_attachments()]
        assert m["X-Intake-Packet"] == pid
        assert m["Auto-Submitted"] is None and m["X-Intake-Verdict"] is None
        k, n = m["X-Intake-Packet-Part"].split("/")
        assert f"（{k}/{n}）" in str(m["Subject"]) and pid in str(m["Subject"])
        numbers.add(int(k))
    assert numbers == set(range(1, first.total + 1))

    province = _province(tmp_path / "province", server, dc, user, password,
                         senders=[("武汉市经济和信息化局", city_key)])
    try:
        report = province.run_once()
        registered = {d.tracking: d for d in province.store.dossiers()}
        statuses = {r[0] for r in province.store.conn.execute("SELECT state FROM inputs")}
    finally:
        province.close()
    assert sorted(registered) == sorted(trackings)  # the city's numbers, kept
    assert all(d.verdict == "accepted" for d in registered.values())
    assert {d.applicant for d in registered.values()} == {e.applicant for e in ENTERPRISES}
    assert statuses == {"processed"}
    assert {d.signer for d in registered.values()} == {"武汉市经济和信息化局"}
    assert not [o for o in report.outcomes if o.error]

    receipts = _to(server, CITY)
    receipts = [c for c in receipts if c.message["X-Intake-Packet-Receipt"] == pid]
    assert len(receipts) == 1
    msg = message_from_bytes(receipts[0].data, policy=email_policy.default)
    body = msg.get_body(("plain",)).get_content()
    assert "【推荐材料回执】" in str(msg["Subject"])
    assert msg["Auto-Submitted"] == "auto-replied"
    for t in trackings:
        assert f"[{t}]" in body
    assert body.count("已登记，材料齐全") == 3


def test_packet_from_a_sender_not_allowed_is_refused(tmp_path, relay, video_6min, monkeypatch):
    """GIVEN a packet mail whose sender is not in the province's downstream_senders
    WHEN the province reads it THEN no dossier is registered, the input is marked refused, and
    nothing is mailed to the stranger (a From is anyone's to write: a refusal carried the
    forger's packet id, any text, to any address); the stranger's mail is not parsed a second
    time in the desk's own process (only in its worker, under [budgets])."""
    server, dc, user, password = relay
    city = city_instance(tmp_path / "city", video_6min)
    try:
        built = build(city.settings, city.store, city.campaign)
        report = send(city, draft=True)  # file transport: the .eml is in the city's outbox folder
    finally:
        city.close()
    assert report.total == 1
    eml = next((tmp_path / "city" / "outbox").glob(f"{built.manifest['packet_id']}*.eml"))
    msg = message_from_bytes(eml.read_bytes(), policy=email_policy.default)
    msg.replace_header("From", "stranger@elsewhere.example.com")
    msg.replace_header("Message-ID", "<forged.1@elsewhere.example.com>")
    dc.deliver(user, msg.as_bytes(), sender="stranger@elsewhere.example.com")

    from bot.upstream import packet_intake

    def no_second_parse(raw: bytes):
        raise AssertionError("a stranger's packet mail parsed again outside its worker")

    monkeypatch.setattr(packet_intake, "parse_message", no_second_parse)
    province = _province(tmp_path / "province", server, dc, user, password)
    try:
        province.run_once()
        assert province.store.dossiers() == []
        states = [r[0] for r in province.store.conn.execute("SELECT state FROM inputs")]
    finally:
        province.close()
    assert states == ["refused"]
    assert _to(server, "stranger@elsewhere.example.com") == []
    assert server.messages == []  # nothing at all left the province


def test_unsigned_or_foreign_signed_packet_with_the_citys_from_is_refused(tmp_path, relay, video_6min,
                                                                         monkeypatch):
    """GIVEN the city's real packet mail with a forged From of the city (listed in
    downstream_senders) but its manifest.sig removed, and the same packet re-signed with an
    attacker's key WHEN the province reads its mailbox (real Dovecot) THEN neither registers
    anything (before: registered on the From alone); both inputs are refused, and neither mail
    is parsed a second time in the desk's own process (before: the whole mail was, outside
    [budgets], for anyone who wrote the city's From)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from outbox.documents.signing import sign_manifest

    server, dc, user, password = relay
    city = city_instance(tmp_path / "city", video_6min)
    city_key = city_public_key(city)
    try:
        built = build(city.settings, city.store, city.campaign)
        send(city, draft=True)
    finally:
        city.close()
    eml = next((tmp_path / "city" / "outbox").glob(f"{built.manifest['packet_id']}*.eml"))
    genuine = message_from_bytes(eml.read_bytes(), policy=email_policy.default)
    manifest_raw = (built.path / "manifest.json").read_bytes()
    for n, signature in enumerate((None, sign_manifest(Ed25519PrivateKey.generate(), manifest_raw))):
        msg = message_from_bytes(eml.read_bytes(), policy=email_policy.default)
        msg.replace_header("Message-ID", f"<forged.{n}@elsewhere.example.com>")
        for part in msg.iter_attachments():
            if part.get_filename() == "manifest.sig":
                if signature is None:
                    part.set_payload(b"")
                    part.replace_header("Content-Disposition", 'attachment; filename="notes.txt"')
                    part.replace_header("Content-Type", "text/plain")
                else:
                    part.set_content(signature, maintype="application", subtype="json",
                                     filename="manifest.sig")
        dc.deliver(user, msg.as_bytes(), sender=CITY)
    assert genuine["From"].addresses[0].addr_spec == CITY

    from bot.upstream import packet_intake

    def no_second_parse(raw: bytes):
        raise AssertionError("a packet mail parsed again before its signature was checked")

    monkeypatch.setattr(packet_intake, "parse_message", no_second_parse)
    province = _province(tmp_path / "province", server, dc, user, password,
                         senders=[("武汉市经济和信息化局", city_key)])
    try:
        province.run_once()
        assert province.store.dossiers() == []
        rows = province.store.inputs()
    finally:
        province.close()
    assert [r.state for r in rows] == ["refused", "refused"]
    assert "unsigned" in rows[0].error and "not listed" in rows[1].error


def _same_count_other_cut(packet_dir, limit: int) -> int:
    """A ``max_message_bytes`` above ``limit`` that cuts the built packet into as many parts as
    ``limit`` does, but differently (as `packet send` computes it)."""
    from outbox.documents.packet import payload_budget, read_manifest, split_parts
    from outbox.documents.packet_split import PART_FILES_BYTES, split_digest

    manifest = read_manifest(packet_dir)
    overhead = (len((packet_dir / "manifest.json").read_bytes()) + len((packet_dir / "manifest.sig").read_bytes())
                + PART_FILES_BYTES)

    def cut(m: int):
        return split_parts(manifest, payload_budget(m, overhead))

    base = cut(limit)
    for bigger in range(limit + 2_000, 2 * limit, 2_000):
        other = cut(bigger)
        if len(other) == len(base) and split_digest(other) != split_digest(base):
            return bigger
    raise AssertionError("no limit cuts the packet differently into as many parts")


def test_a_send_resumed_after_the_limit_changed_sends_the_new_split_whole(tmp_path, relay, video_6min):
    """GIVEN a city whose first send lost part 1 (a 4xx at the relay), and whose officer then
    raised [packet] max_message_bytes so that the packet is cut into as many parts, differently
    WHEN it sends again THEN every part of the new cut goes out and the province (real Dovecot)
    registers the packet whole (before: the old cut's parts counted as sent, only the new cut's
    part 1 went out, the province joins the parts of one cut only, and no later send could
    mend it)."""
    server, dc, user, password = relay
    city, city_key = _smtp_city(tmp_path, server, video_6min)
    try:
        built = build(city.settings, city.store, city.campaign)
        trackings = sorted(d["tracking"] for d in built.manifest["dossiers"])
        server.fail_next("451 4.3.0 try again later", times=1, stage="data")
        first = send(city, draft=True, packet_dir=built.path)
        assert list(first.failed) == [1]
        city.settings.packet.max_message_bytes = _same_count_other_cut(built.path, LIMIT)
        second = send(city, draft=True, packet_dir=built.path)
        assert second.total == first.total and not second.failed
        assert second.already == [] and second.sent == list(range(1, second.total + 1))
    finally:
        city.close()
    province = _province(tmp_path / "province", server, dc, user, password,
                         senders=[("武汉市经济和信息化局", city_key)])
    try:
        province.run_once()
        registered = sorted(d.tracking for d in province.store.dossiers())
    finally:
        province.close()
    assert registered == trackings


def test_send_again_mails_a_part_the_relay_took_once_more(tmp_path, relay, video_6min):
    """GIVEN a packet the relay took whole WHEN the officer sends part 2 again (`--again 2`: the
    level above says it never arrived) THEN the relay gets part 2 a second time and nothing
    else, and the province, receiving both copies, registers the packet once."""
    server, dc, user, password = relay
    city, city_key = _smtp_city(tmp_path, server, video_6min)
    try:
        built = build(city.settings, city.store, city.campaign)
        first = send(city, draft=True, packet_dir=built.path)
        again = send(city, draft=True, packet_dir=built.path, again=[2])
    finally:
        city.close()
    assert not first.failed and again.sent == [2] and again.already == [
        k for k in range(1, first.total + 1) if k != 2]
    numbers = sorted(int(c.message["X-Intake-Packet-Part"].split("/")[0]) for c in _to(server, PROVINCE))
    assert numbers == sorted([*range(1, first.total + 1), 2])
    province = _province(tmp_path / "province", server, dc, user, password,
                         senders=[("武汉市经济和信息化局", city_key)])
    try:
        province.run_once()
        registered = sorted(d.tracking for d in province.store.dossiers())
        receipts = province.store.conn.execute(
            "SELECT COUNT(*) FROM outgoing WHERE kind='packet_receipt'").fetchone()[0]
    finally:
        province.close()
    assert registered == sorted(d["tracking"] for d in built.manifest["dossiers"]) and receipts == 1
