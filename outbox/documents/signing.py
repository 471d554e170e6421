"""Packet signatures: each instance's Ed25519 key pair (pyca/cryptography) and the signature file.

The sender signs the exact bytes of ``manifest.json`` when the packet is built; the signature goes
into ``manifest.sig`` beside it (in the packet folder and in every mailed part). The manifest lists
every file's sha256, so one signature covers the whole packet. The receiver accepts a packet only
when ``manifest.sig`` verifies with one of the public keys listed in ``[[packet.senders]]``; the
signer is that configured unit, never a name written in the packet.

Keys: the private key is a PKCS#8 PEM file, mode 0600, at ``[packet] signing_key`` (default
``<data_dir>/keys/packet-signing.pem``, folder 0700); the public key is written as one line
``ed25519:<base64 of the 32 raw bytes>`` (``intake keys show``), to paste into the other
instance's config. The signature file is JSON: ``{"format", "public_key", "signature"}``
(signature: base64 of the 64-byte Ed25519 signature).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from outbox.errors import OutboxError

SIGNATURE_FILE = "manifest.sig"
SIGNATURE_FORMAT = "dossier-intake signature 1"
KEY_PREFIX = "ed25519:"
MAX_SIGNATURE_BYTES = 4096  # a signature file is ~200 bytes; anything bigger is not ours


class SigningError(OutboxError):
    """No usable key (missing, unreadable, wrong type); the message says which file and why."""


def default_key_path(data_dir: Path) -> Path:
    """Where the private key lives when ``[packet] signing_key`` is unset."""
    return data_dir / "keys" / "packet-signing.pem"


def key_path(settings) -> Path:
    """The private key file of this instance (``[packet] signing_key`` or the default)."""
    return settings.packet.signing_key or default_key_path(settings.store.data_dir)


def parse_public_key(text: str) -> Ed25519PublicKey:
    """``ed25519:<base64>`` as a public key. Raises ValueError in plain words when it is not one."""
    value = (text or "").strip()
    if not value.startswith(KEY_PREFIX):
        raise ValueError(
            f"a public key starts with {KEY_PREFIX!r} (as `intake keys show` prints it)"
        )
    try:
        raw = base64.b64decode(value[len(KEY_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the public key is not valid base64") from exc
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, this one is {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_text(key: Ed25519PublicKey) -> str:
    """The one-line form of a public key: ``ed25519:<base64 of 32 bytes>``."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def init_key(path: Path, *, force: bool = False) -> Ed25519PrivateKey:
    """Create a new key pair at ``path`` (PEM, 0600; parent folder 0700) and return it.

    Raises SigningError when ``path`` exists and ``force`` is false (a key is never silently
    replaced: the units above would refuse every packet signed by the new one).
    """
    if path.exists() and not force:
        raise SigningError(f"{path} exists: a key is already set up (`intake keys show` prints its public "
                           "key for the level above; --force replaces it, and the level above must then "
                           "be given the new one)")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return key


def load_key(path: Path) -> Ed25519PrivateKey:
    """The private key at ``path``. Raises SigningError when it is missing or not Ed25519."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningError(
            f"no signing key at {path} ({exc.strerror}): run `intake keys init` once"
        ) from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{path} is not a readable private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path} is not an Ed25519 key")
    return key


def sign_manifest(key: Ed25519PrivateKey, manifest_bytes: bytes) -> bytes:
    """The signature file's bytes for ``manifest_bytes`` (the exact bytes of manifest.json)."""
    doc = {
        "format": SIGNATURE_FORMAT,
        "public_key": public_key_text(key.public_key()),
        "signature": base64.b64encode(key.sign(manifest_bytes)).decode("ascii"),
    }
    return json.dumps(doc, indent=1).encode("utf-8")


def signer_key_text(signature: bytes) -> str | None:
    """The public key a signature file names (``ed25519:…``), or None when it is not readable."""
    try:
        return str(json.loads(signature.decode("utf-8"))["public_key"]).strip()
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError):
        return None


@dataclass(frozen=True)
class Signer:
    """A unit whose key verified a packet: its configured name and public key."""

    unit: str
    public_key: str


def verify_manifest(
    manifest_bytes: bytes, signature: bytes | None, accepted: list[tuple[str, str]]
) -> Signer | str:
    """The configured signer of ``manifest_bytes``, or why the packet is refused (a string).

    ``accepted``: ``(unit, public key text)`` pairs from ``[[packet.senders]]``. A packet is
    refused when the signature file is missing, malformed, names a key not accepted here, or does
    not verify with that key.
    """
    if signature is None:
        return "unsigned packet (no manifest.sig)"
    if len(signature) > MAX_SIGNATURE_BYTES:
        return "manifest.sig too large"
    try:
        doc = json.loads(signature.decode("utf-8"))
        key_text = str(doc["public_key"]).strip()
        sig = base64.b64decode(str(doc["signature"]), validate=True)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error, RecursionError):
        # RecursionError: 4 KB of nested brackets, a forger's (json recurses per level)
        return "manifest.sig is not a readable signature file"
    for unit, public in accepted:
        if public.strip() != key_text:
            continue
        try:
            parse_public_key(public).verify(sig, manifest_bytes)
        except (InvalidSignature, ValueError):
            return f"bad signature (key of {unit} does not verify the manifest)"
        return Signer(unit, key_text)
    return "signed with a key not listed in [[packet.senders]]"
