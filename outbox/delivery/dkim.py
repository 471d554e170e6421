"""DKIM signing of outgoing mail (RFC 6376) with dkimpy, at delivery time, over the exact bytes sent.

The queue keeps the unsigned wire form; :class:`SigningTransport` signs each attempt just before
the transport hands the bytes over, so what is signed is byte for byte what is sent (or written
as ``.eml``). Canonicalisation is ``relaxed/relaxed`` (RFC 6376 §3.4.2, §3.4.4): relays that
refold headers or re-end lines do not break the signature. The signed headers
(:data:`SIGNED_HEADERS`) are those filters and threading rely on; a listed header the message
lacks is signed as absent, so nobody can add one later (RFC 6376 §5.4.2).

Keys: RSA, 2048 bits by default (RFC 8301 §3.2: at least 1024, 2048 recommended), PEM, PKCS#1 or
PKCS#8. The public half is published as a TXT record at ``<selector>._domainkey.<domain>``
(RFC 6376 §3.6.2.2) with the text :func:`txt_record` returns.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from outbox.delivery.smtp import TemporaryFailure
from outbox.errors import OutboxError

# Signed when present, and signed as absent when not (h= lists each once).
SIGNED_HEADERS = (
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Auto-Submitted",
    "X-Intake-Tracking",
)
MIN_BITS = 1024  # RFC 8301 §3.2: verifiers must refuse smaller RSA keys
KEY_BITS = 2048


class DkimKeyError(OutboxError, ValueError):
    """The DKIM private key file is missing, unreadable, not a PEM RSA key, or too short."""


def load_private_key(path: Path) -> bytes:
    """The PEM bytes of the RSA private key at ``path``, checked to be usable for signing.

    Raises :class:`DkimKeyError` naming the problem (missing file, no permission, not a PEM RSA
    private key, fewer than :data:`MIN_BITS` bits).
    """
    try:
        pem = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise DkimKeyError(f"{path}: no such file (make one with `intake dkim keygen`)") from exc
    except OSError as exc:
        raise DkimKeyError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise DkimKeyError(f"{path}: not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DkimKeyError(f"{path}: not an RSA key (DKIM signing here uses rsa-sha256)")
    if key.key_size < MIN_BITS:
        raise DkimKeyError(f"{path}: {key.key_size}-bit RSA key; at least {MIN_BITS} bits needed")
    return pem


def generate_private_key(bits: int = KEY_BITS) -> bytes:
    """A new RSA private key (public exponent 65537) as PKCS#1 PEM bytes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def write_private_key(path: Path, pem: bytes) -> None:
    """Write ``pem`` to a new file ``path`` readable by its owner only (mode 0600).

    Raises ``FileExistsError`` rather than overwrite a key whose public half may be published.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(path, 0o600)  # the umask cannot widen it, but be explicit


def txt_record(private_pem: bytes) -> str:
    """The DNS TXT value for the public half of ``private_pem``: ``v=DKIM1; k=rsa; p=<base64>``.

    ``p=`` is the DER SubjectPublicKeyInfo, base64 without line breaks (RFC 6376 §3.6.1).
    """
    key = serialization.load_pem_private_key(private_pem, password=None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"


def zone_line(selector: str, domain: str, record: str) -> str:
    """The record as a zone-file line, split into strings of ≤ 255 characters (RFC 1035 §3.3.14):
    ``s1._domainkey.example.org. IN TXT ( "v=DKIM1; k=rsa; p=…" "…" )``."""
    chunks = [record[i : i + 255] for i in range(0, len(record), 255)]
    quoted = " ".join(f'"{c}"' for c in chunks)
    return f"{selector}._domainkey.{domain}. IN TXT ( {quoted} )"


@dataclass(frozen=True)
class DkimSigner:
    """Signs wire-form messages for ``domain`` with the key published under ``selector``."""

    domain: str
    selector: str
    private_pem: bytes

    @classmethod
    def from_file(cls, domain: str, selector: str, key_file: Path) -> DkimSigner:
        """Load and check the key (raises :class:`DkimKeyError`)."""
        return cls(domain.strip().lower(), selector.strip(), load_private_key(key_file))

    @property
    def dns_name(self) -> str:
        """``<selector>._domainkey.<domain>``, where the TXT record lives."""
        return f"{self.selector}._domainkey.{self.domain}"

    def txt_record(self) -> str:
        """The TXT value to publish at :attr:`dns_name`."""
        return txt_record(self.private_pem)

    def sign(self, raw: bytes) -> bytes:
        """``raw`` with a ``DKIM-Signature`` header prepended (rsa-sha256, relaxed/relaxed).

        ``raw`` must be the wire form (CRLF line ends). Raises ``dkim.DKIMException`` when the
        message cannot be parsed as RFC 5322.
        """
        import dkim  # dkimpy and dnspython (~0.1 s to import): loaded when a mail is signed

        header = dkim.sign(
            raw,
            self.selector.encode("ascii"),
            self.domain.encode("ascii"),
            self.private_pem,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[h.encode("ascii") for h in SIGNED_HEADERS],
        )
        return header + raw


class _Transport(Protocol):
    async def deliver(
        self, raw: bytes, *, mail_from: str, rcpts: list[str], msg_id: str
    ) -> str: ...


class SigningTransport:
    """Wraps a transport (SMTP or file): each message is signed, then handed to it unchanged."""

    def __init__(self, inner: _Transport, signer: DkimSigner) -> None:
        self.inner = inner
        self.signer = signer

    async def deliver(self, raw: bytes, *, mail_from: str, rcpts: list[str], msg_id: str) -> str:
        """Sign ``raw`` and deliver the signed bytes through the wrapped transport.

        A signing error is a :class:`~outbox.delivery.smtp.TemporaryFailure` (the message stays
        queued until the key is fixed)."""
        import dkim

        try:
            signed = self.signer.sign(raw)
        except dkim.DKIMException as exc:  # our own message or key: wait for the fix, drop nothing
            raise TemporaryFailure(f"DKIM signing failed: {exc}") from exc
        return await self.inner.deliver(signed, mail_from=mail_from, rcpts=rcpts, msg_id=msg_id)
