"""Property tests: parse_message and extract_archive never raise and never write outside their root."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tests.robustness.profiles  # noqa: F401  (loads the quick or the fuzz profile)
from parsers.archives import ArchiveLimits, extract_archive
from parsers.facts import MailFacts
from parsers.mime import parse_message

CASES = Path(__file__).parent / "cases"
MAILS = [p.read_bytes() for p in sorted(CASES.glob("C0*/input/*.eml"))]


def _seed_zips() -> list[bytes]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("材料/申报书.docx", b"PK fake docx " * 50)
        zf.writestr("../evil.txt", b"x")
        zf.writestr("inner.zip", _inner_zip())
    return [buf.getvalue(), (CASES / "C10" / "input" / "申报材料_含异常路径.zip").read_bytes()]


def _inner_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a/b.txt", b"hello")
    return buf.getvalue()


ZIPS = _seed_zips()


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed with a few bytes flipped, a slice cut out or repeated, or truncated."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["flip", "cut", "dup", "truncate"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[i : i + draw(st.integers(1, 64))]
        elif op == "dup":
            data[i:i] = data[i : i + draw(st.integers(1, 64))]
        else:
            del data[i:]
    return bytes(data)


# The profile (tests/robustness/profiles.py) sets the budget: quick in `make test`, long in `make fuzz`.
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
pytestmark = pytest.mark.fuzz


@FUZZ
@given(st.one_of(st.binary(max_size=2048), mutated(MAILS)))
def test_parse_message_never_raises(raw: bytes) -> None:
    facts = parse_message(raw)
    assert isinstance(facts, MailFacts)
    for a in facts.attachments:
        assert a.size == len(a.data) and isinstance(a.name, str) and a.name


def _check_extraction(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        archive = root / f"input{suffix}"
        archive.write_bytes(data)
        dest = root / "work" / "job"
        limits = ArchiveLimits(max_members=50, max_total_bytes=4 * 1024 * 1024)
        result = extract_archive(archive, dest, limits=limits)
        written = [p for p in root.rglob("*") if p != archive and not p.is_dir()]
        assert all(p.resolve().is_relative_to(dest.resolve()) for p in written)
        assert not any(p.is_symlink() for p in root.rglob("*"))
        assert sum(p.stat().st_size for p in written) <= limits.max_total_bytes
        for m in result.members:
            assert m.path.resolve().is_relative_to(dest.resolve())
            assert m.path.stat().st_size == m.size
        assert not (root / "work" / "evil.txt").exists() and not (root / "evil.txt").exists()


@FUZZ
@given(mutated(ZIPS))
def test_extract_archive_mutated_zips_stay_inside_dest(data: bytes) -> None:
    _check_extraction(data, ".zip")


@FUZZ
@given(st.sampled_from([b"PK\x03\x04", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07\x00", b""]), st.binary(max_size=1024))
def test_extract_archive_random_bytes_behind_magic(magic: bytes, tail: bytes) -> None:
    _check_extraction(magic + tail, ".bin")
