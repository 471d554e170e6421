"""The signed split of a mailed packet: which part a mail is, of how many, and its zip's digest.

``manifest.sig`` covers the files (their sha256) but not the mail: a packet is split into parts
when it is sent, long after the manifest was signed, and the ``X-Intake-Packet-Part: k/n``
header is anyone's to rewrite. Relabelling part 1 of 3 as ``1/1`` once got a packet registered
with two thirds of its dossiers missing, and a garbled copy of a part sent first took the
genuine part's place (the first copy of a part number is kept).

So each part mail also carries ``part.json`` and its signature ``part.sig``, made by the same
key as ``manifest.sig`` at send time:

``{"format", "packet_id", "manifest_sha256", "split_sha256", "part", "total", "zip_sha256"}``

- ``manifest_sha256``: the exact ``manifest.json`` bytes this part belongs to;
- ``split_sha256``: the whole split (every part's zip members, ``split_digest``), so parts of
  two sends cut differently (another ``max_message_bytes``) are never joined;
- ``zip_sha256``: this part's zip, so a copy whose zip was altered is refused before it is kept.

The signed bytes are ``PART_CONTEXT`` + ``part.json``: a signed part can never pass for a signed
manifest, nor the reverse. The receiver (``bot/upstream/packet_intake.py``) takes the part
number and count from here only, never from the header.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from outbox.documents.packet import Piece
from outbox.documents.signing import Signer, sign_manifest, verify_manifest

PART_FILE = "part.json"
PART_SIGNATURE_FILE = "part.sig"
PART_FORMAT = "dossier-intake packet part 1"
PART_CONTEXT = b"dossier-intake packet part 1\n"  # prefixed to part.json when signing
MAX_PART_FILE_BYTES = 4096  # part.json is ~400 bytes
PART_FILES_BYTES = 2048  # room a part mail keeps for part.json and part.sig (payload budget)
MAX_PACKET_PARTS = 10_000  # parts of one packet; at 20 MB a part, 200 GB


def split_digest(parts: Sequence[Sequence[Piece]]) -> str:
    """sha256 (hex) of a split: each part's members in order, with their file, offset and length."""
    plan = [[[p.member, p.path, p.offset, p.length] for p in pieces] for pieces in parts]
    return hashlib.sha256(json.dumps(plan, ensure_ascii=False).encode("utf-8")).hexdigest()


def part_file(packet_id: str, manifest_bytes: bytes, split_sha256: str, part: int, total: int,
              zip_bytes: bytes) -> bytes:
    """The bytes of ``part.json`` for part ``part`` of ``total`` (1-based) carrying ``zip_bytes``."""
    doc = {
        "format": PART_FORMAT,
        "packet_id": packet_id,
        "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
        "split_sha256": split_sha256,
        "part": part,
        "total": total,
        "zip_sha256": hashlib.sha256(zip_bytes).hexdigest(),
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def sign_part(key: Ed25519PrivateKey, part_bytes: bytes) -> bytes:
    """The bytes of ``part.sig`` for ``part_bytes`` (the same signature file format as manifest.sig)."""
    return sign_manifest(key, PART_CONTEXT + part_bytes)


@dataclass(frozen=True)
class SignedPart:
    """What a verified ``part.json`` says: this mail is part ``part`` of ``total`` of the split
    ``split_sha256``."""

    part: int
    total: int
    split_sha256: str


def read_signed_part(
    part_bytes: bytes | None,
    signature: bytes | None,
    signer: Signer,
    *,
    packet_id: str,
    manifest_bytes: bytes,
    zip_sha256s: Sequence[str],
) -> SignedPart | str:
    """The part a mail is, as ``signer`` (who signed its manifest) signed it; else why it is refused.

    ``zip_sha256s``: the sha256 of each zip the mail carries; it must carry exactly one, the one
    signed. Refused: no part.json or part.sig, a signature not by ``signer``'s key, another
    packet's or another manifest's part, numbers outside 1 ≤ part ≤ total ≤ ``MAX_PACKET_PARTS``,
    a zip other than the signed one.
    """
    if part_bytes is None or signature is None:
        return "no signed split (part.json and part.sig): the sender's dossier-intake is older than this one"
    if len(part_bytes) > MAX_PART_FILE_BYTES:
        return "part.json too large"
    who = verify_manifest(PART_CONTEXT + part_bytes, signature, [(signer.unit, signer.public_key)])
    if not isinstance(who, Signer):
        return f"part.sig: {who}"
    try:
        doc = json.loads(part_bytes.decode("utf-8"))
        part, total = doc["part"], doc["total"]
        fields = (doc["format"], doc["packet_id"], doc["manifest_sha256"], doc["split_sha256"], doc["zip_sha256"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError):
        return "part.json is not a readable part description"
    fmt, pid, manifest_sha, split_sha, zip_sha = fields
    if fmt != PART_FORMAT or not all(isinstance(v, str) for v in fields):
        return "part.json is not a readable part description"
    if pid != packet_id or manifest_sha != hashlib.sha256(manifest_bytes).hexdigest():
        return "part.json belongs to another packet or another manifest"
    if not (type(part) is int and type(total) is int and 1 <= part <= total <= MAX_PACKET_PARTS):
        return f"part {part} of {total}: outside 1…{MAX_PACKET_PARTS}"
    if list(zip_sha256s) != [zip_sha]:
        return "the zip is not the one signed for this part (altered, missing or more than one)"
    return SignedPart(part, total, split_sha)
