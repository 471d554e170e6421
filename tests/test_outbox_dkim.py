"""DKIM (RFC 6376): replies sent through a real SMTP server carry a signature dkimpy verifies
against the public key of the configured key file, published as the TXT record `intake doctor`
and `intake dkim keygen` print."""

# Fixtures are imported by name and requested as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import dkim
import pytest

from bot.config.model import ConfigError, Settings, load_settings
from bot.daemon import Intake
from outbox.delivery import queue
from outbox.delivery.dkim import (
    SigningTransport,
    generate_private_key,
    txt_record,
    write_private_key,
)
from outbox.delivery.sender import deliver_pending
from outbox.mail.compose import compose_receipt
from tests.outbox_builders import NOW, TRACKING, make_ctx, make_dossier
from tests.servers.smtp import SmtpTestServer, smtp_server  # noqa: F401

DOMAIN = "example.org"
SELECTOR = "s2023"
REQUIRED = {
    "from",
    "subject",
    "date",
    "message-id",
    "to",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
}


@pytest.fixture(scope="module")
def key_pem() -> bytes:
    return generate_private_key()


def dns_for(record: str, name: str = f"{SELECTOR}._domainkey.{DOMAIN}."):
    """A dnsfunc for dkim.verify answering only ``name`` with ``record`` (what DNS would hold)."""

    def lookup(qname: bytes, timeout: int = 5) -> bytes | None:
        return (
            record.encode("ascii")
            if qname.decode("ascii").rstrip(".") == name.rstrip(".")
            else None
        )

    return lookup


def settings_with_key(tmp_path: Path, pem: bytes, **outbox: object) -> Settings:
    key = tmp_path / "dkim.pem"
    if not key.exists():
        write_private_key(key, pem)
    return Settings(
        store={"data_dir": tmp_path / "data"},
        smtp={
            "dkim_domain": DOMAIN,
            "dkim_selector": SELECTOR,
            "dkim_key_file": key,
            "host": "127.0.0.1",
            "security": "plain",
            "timeout_s": 5,
        },
        outbox={"from_addr": "shenbao-intake@example.org", "domain": DOMAIN, **outbox},
        drop={"folders": [tmp_path / "drop"]},
    )


def _signed_headers(raw: bytes) -> set[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    sig = re.search(r"^DKIM-Signature:(.*?)(?=^\S)", head + "\r\nX: y", re.M | re.S).group(1)
    h = re.search(r"\bh=([^;]+)", sig).group(1)
    return {x.strip().lower() for x in re.sub(r"\s+", "", h).split(":")}


def test_reply_through_smtp_carries_a_signature_that_verifies(
    tmp_path: Path, key_pem: bytes, smtp_server: SmtpTestServer
) -> None:
    """GIVEN [smtp] dkim_* set and a receipt in the queue WHEN the daemon's transport sends it to a
    real SMTP server THEN the captured bytes carry a DKIM-Signature (relaxed/relaxed, d=, s=, the
    headers that matter) that dkim.verify accepts against the published TXT record, and a changed
    subject makes it fail."""
    settings = settings_with_key(tmp_path, key_pem, transport="smtp")
    settings.smtp.port = smtp_server.port
    intake = Intake(settings)
    try:
        original = make_dossier()
        msg = compose_receipt(
            make_ctx(domain=DOMAIN), original, [], TRACKING, to="wangxm@example.com"
        )
        queue.enqueue(
            intake.store.conn, msg, kind="receipt", tracking=TRACKING, dedupe_key="r1", now=NOW
        )
        transport = intake.transport()
        assert isinstance(transport, SigningTransport)
        report = asyncio.run(deliver_pending(intake.store.conn, transport, now=NOW))
        stored = queue.get(intake.store.conn, report.sent[0])
    finally:
        intake.close()
    (captured,) = smtp_server.messages
    raw = captured.data
    assert raw.startswith(b"DKIM-Signature:")
    assert b"DKIM-Signature" not in stored.raw  # the queue keeps the unsigned form; each send signs
    assert raw.endswith(stored.raw)
    record = txt_record(key_pem)
    assert dkim.verify(raw, dnsfunc=dns_for(record))
    sig = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "c=relaxed/relaxed" in sig and f"d={DOMAIN}" in sig and f"s={SELECTOR}" in sig
    assert REQUIRED <= _signed_headers(raw)
    tampered = re.sub(rb"(\r\nSubject: )", rb"\1x", raw, count=1)
    assert not dkim.verify(tampered, dnsfunc=dns_for(record))
    other = txt_record(generate_private_key())
    assert not dkim.verify(raw, dnsfunc=dns_for(other))


def test_file_transport_writes_signed_eml(tmp_path: Path, key_pem: bytes) -> None:
    """GIVEN the embedded file transport and a DKIM key WHEN a reply is delivered THEN the .eml is
    signed and verifies (what the file shows is what would be sent)."""
    settings = settings_with_key(tmp_path, key_pem, folder=tmp_path / "outbox")
    intake = Intake(settings)
    try:
        msg = compose_receipt(
            make_ctx(domain=DOMAIN), make_dossier(), [], TRACKING, to="a@example.com"
        )
        queue.enqueue(
            intake.store.conn, msg, kind="receipt", tracking=TRACKING, dedupe_key="r1", now=NOW
        )
        asyncio.run(deliver_pending(intake.store.conn, intake.transport(), now=NOW))
    finally:
        intake.close()
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    assert dkim.verify(eml.read_bytes(), dnsfunc=dns_for(txt_record(key_pem)))


def test_without_dkim_keys_nothing_is_signed(tmp_path: Path) -> None:
    """GIVEN no dkim_* keys (a provider's SMTP signs) THEN the transport sends the bytes as queued."""
    intake = Intake(Settings(store={"data_dir": tmp_path / "d"}, outbox={"folder": tmp_path / "o"}))
    try:
        assert not isinstance(intake.transport(), SigningTransport)
    finally:
        intake.close()


def test_config_refuses_missing_partial_or_bad_key(tmp_path: Path) -> None:
    """The key file is checked when the configuration is loaded; the three keys go together."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[smtp]\ndkim_domain = "{DOMAIN}"\ndkim_selector = "s1"\n'
        f'dkim_key_file = "{tmp_path / "none.pem"}"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg)
    assert any(
        p.startswith("smtp.dkim_key_file:") and "no such file" in p for p in exc.value.problems
    )
    (tmp_path / "junk.pem").write_text("not a key", encoding="utf-8")
    cfg.write_text(
        f'[smtp]\ndkim_domain = "{DOMAIN}"\ndkim_selector = "s1"\n'
        f'dkim_key_file = "{tmp_path / "junk.pem"}"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg)
    assert "not an unencrypted PEM private key" in str(exc.value)
    cfg.write_text(f'[smtp]\ndkim_domain = "{DOMAIN}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg)
    assert "set all three or none" in str(exc.value)


def _intake(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )


def test_keygen_writes_0600_key_and_doctor_prints_its_record(tmp_path: Path) -> None:
    """GIVEN `intake dkim keygen` WHEN run THEN a 2048-bit key with mode 0600 is written, the printed
    TXT record is its public half, a second run refuses to overwrite it, and `intake doctor` with
    the three keys set prints the same record under <selector>._domainkey.<domain>."""
    res = _intake(
        "dkim",
        "keygen",
        "--out",
        "keys/dkim.pem",
        "--selector",
        SELECTOR,
        "--domain",
        DOMAIN,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    key = tmp_path / "keys" / "dkim.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    record = txt_record(key.read_bytes())
    assert record in res.stdout and f"{SELECTOR}._domainkey.{DOMAIN}" in res.stdout
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    assert load_pem_private_key(key.read_bytes(), None).key_size == 2048
    again = _intake("dkim", "keygen", "--out", "keys/dkim.pem", "--domain", DOMAIN, cwd=tmp_path)
    assert again.returncode == 1 and record == txt_record(key.read_bytes())
    (tmp_path / "config.toml").write_text(
        f'[smtp]\ndkim_domain = "{DOMAIN}"\ndkim_selector = "{SELECTOR}"\n'
        'dkim_key_file = "keys/dkim.pem"\n',
        encoding="utf-8",
    )
    doctor = _intake("doctor", cwd=tmp_path)
    assert f"{SELECTOR}._domainkey.{DOMAIN}" in doctor.stdout
    assert record in doctor.stdout.replace("\n", "")


def test_signing_survives_a_verifier_that_rewrites_line_ends(
    key_pem: bytes, tmp_path: Path
) -> None:
    """relaxed/relaxed: a relay that re-ends lines with LF (a local MDA) leaves the signature valid."""
    settings = settings_with_key(tmp_path, key_pem)
    from outbox.delivery.dkim import DkimSigner

    signer = DkimSigner.from_file(DOMAIN, SELECTOR, settings.smtp.dkim_key_file)
    msg = compose_receipt(make_ctx(domain=DOMAIN), make_dossier(), [], TRACKING, to="a@example.com")
    conn = sqlite3.connect(":memory:")
    queue.init_queue(conn)
    queue.enqueue(conn, msg, kind="receipt", tracking=TRACKING, dedupe_key="x", now=NOW)
    raw = signer.sign(queue.get(conn, 1).raw)
    assert dkim.verify(raw.replace(b"\r\n", b"\n"), dnsfunc=dns_for(txt_record(key_pem)))


def test_config_check_warns_about_misaligned_domains_and_an_open_key(
    tmp_path: Path, key_pem: bytes
) -> None:
    """`intake config check`: Message-ID domain ≠ From domain, d= not aligned with From (DMARC),
    a private key others can read, and signing on a provider's SMTP each get a warning."""
    from bot.config.lint import lint

    settings = settings_with_key(tmp_path, key_pem)
    assert [w for w in lint(settings) if w.startswith(("outbox.domain", "smtp.dkim"))] == []
    settings.outbox.domain = "intake.example.net"
    settings.outbox.from_addr = "shenbao@bureau.example.cn"
    settings.outbox.transport = "smtp"
    settings.smtp.host = "smtp.163.com"
    settings.smtp.dkim_key_file.chmod(0o644)
    warnings = lint(settings)
    assert any(w.startswith("outbox.domain:") and "bureau.example.cn" in w for w in warnings)
    assert any(w.startswith("smtp.dkim_domain:") and "DMARC" in w for w in warnings)
    assert any(w.startswith("smtp.dkim_key_file:") and "chmod 600" in w for w in warnings)
    assert any(w.startswith("smtp.dkim_domain:") and "smtp.163.com" in w for w in warnings)
