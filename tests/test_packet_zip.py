"""write_part_zip: already compressed kinds stored, the rest deflated, streamed to a file, pieces rejoin."""

from __future__ import annotations

import hashlib
import os
import zipfile

import pytest

from outbox.documents.packet import (
    COPY_CHUNK,
    PacketError,
    Piece,
    assemble_parts,
    part_zip,
    split_parts,
    write_part_zip,
)


def _packet(root):
    files = {
        "01-甲/项目视频.mp4": os.urandom(COPY_CHUNK + 12_345),  # more than one copy block
        "01-甲/全套扫描件.pdf": os.urandom(50_000),
        "01-甲/申报书.docx": os.urandom(20_000),
        "汇总表.xlsx": os.urandom(9_000),
        "notes.txt": "汇总说明\n".encode() * 2_000,
    }
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    manifest = {"files": [
        {"path": p, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for p, d in files.items()
    ]}
    return files, manifest


def test_compressed_kinds_are_stored_and_text_deflated_in_a_file(tmp_path):
    """GIVEN a packet with a video, a PDF, a .docx, an .xlsx and a text file
    WHEN its one part is written to a file THEN the first four are ZIP_STORED, the text
    ZIP_DEFLATED, every member's bytes are the file's, and the bytes equal part_zip's."""
    root = tmp_path / "packet"
    files, manifest = _packet(root)
    (pieces,) = split_parts(manifest, 1 << 40)
    out = tmp_path / "part.zip"
    write_part_zip(root, pieces, out)
    with zipfile.ZipFile(out) as zf:
        kinds = {i.filename: i.compress_type for i in zf.infolist()}
        assert all(zf.read(p) == d for p, d in files.items())
    assert kinds == {
        "01-甲/项目视频.mp4": zipfile.ZIP_STORED,
        "01-甲/全套扫描件.pdf": zipfile.ZIP_STORED,
        "01-甲/申报书.docx": zipfile.ZIP_STORED,
        "汇总表.xlsx": zipfile.ZIP_STORED,
        "notes.txt": zipfile.ZIP_DEFLATED,
    }
    assert out.read_bytes() == part_zip(root, pieces)


def test_cut_pieces_written_to_files_rejoin_to_the_same_bytes(tmp_path):
    """GIVEN a 30 KB budget (the 50 KB PDF is cut into pieces) WHEN each part is written to a file
    THEN every part's zip fits the budget and the parts rebuild every file of the manifest."""
    root = tmp_path / "packet"
    files, manifest = _packet(root)
    for p in ("01-甲/项目视频.mp4",):
        del files[p]
    manifest["files"] = [f for f in manifest["files"] if f["path"] in files]
    parts = split_parts(manifest, 30_000)
    assert any(p.member.endswith(".001") for part in parts for p in part)
    zips = []
    for k, part in enumerate(parts):
        write_part_zip(root, part, tmp_path / f"p{k}.zip")
        zips.append((tmp_path / f"p{k}.zip").read_bytes())
    assert max(len(z) for z in zips) <= 30_000
    assert assemble_parts(zips, manifest, tmp_path / "back") == []


def test_a_file_shorter_than_its_piece_is_an_error(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF" * 10)
    with pytest.raises(PacketError, match="shorter"):
        write_part_zip(tmp_path, [Piece("a.pdf", 0, 400, "a.pdf")], tmp_path / "x.zip")


def test_members_swapped_for_longer_ones_are_cut_at_the_manifest_size(tmp_path):
    """GIVEN a signed manifest giving 申报书.docx 20 KB and a cut PDF 50 KB, and parts whose zips
    were swapped in transit for members of 64 MB of zeros (a zip bomb: a few KB on the wire)
    WHEN the parts are assembled THEN no file on disk is larger than its declared size + 1 byte
    (before: each member was read whole into memory and written whole), both are reported
    bad, the other files are whole, and the pieces' folder is gone."""
    root = tmp_path / "packet"
    files, manifest = _packet(root)
    parts = split_parts(manifest, 30_000)
    zips = []
    for k, part in enumerate(parts):
        write_part_zip(root, part, tmp_path / f"p{k}.zip")
        zips.append((tmp_path / f"p{k}.zip").read_bytes())
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("01-甲/申报书.docx", "w") as out:
            for _ in range(64):
                out.write(bytes(1 << 20))
        with zf.open("01-甲/全套扫描件.pdf.001", "w") as out:
            for _ in range(64):
                out.write(bytes(1 << 20))
    assert bomb.stat().st_size < 1_000_000

    back = tmp_path / "back"
    bad = assemble_parts(iter([*zips, bomb.read_bytes()]), manifest, back)

    assert sorted(bad) == ["01-甲/全套扫描件.pdf", "01-甲/申报书.docx"]
    sizes = {f["path"]: f["size"] for f in manifest["files"]}
    for path, size in sizes.items():  # a spoiled file is not joined at all
        assert not (back / path).exists() or (back / path).stat().st_size <= size + 1
    assert all((back / p).read_bytes() == d for p, d in files.items() if p not in bad)
    assert not (tmp_path / "back.pieces").exists()


def _zip_of(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip whose entries are written as given (repeated names included)."""
    import io
    import warnings

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": the attack
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return buf.getvalue()


def test_a_file_repeated_or_sent_whole_and_in_pieces_is_written_once_at_most(tmp_path):
    """GIVEN a signed manifest giving notes.txt 64 KiB and a zip that repeats, 300 times, an
    entry with its whole name and then a piece of it (the helper's attack: each copy got the full
    size again, and the join wrote it all once more: ~1000× the declared bytes)
    WHEN the part is assembled THEN the file is bad, nothing past its declared size was written
    (the destination and the pieces' folder together), and the other files are whole."""
    root = tmp_path / "packet"
    files, manifest = _packet(root)
    block = bytes(64 * 1024)
    for f in manifest["files"]:
        if f["path"] == "notes.txt":
            f["size"], f["sha256"] = len(block), hashlib.sha256(block).hexdigest()
    others = [(p, d) for p, d in files.items() if p != "notes.txt"]
    entries = others + [e for n in range(1, 301) for e in (("notes.txt", b""), (f"notes.txt.{n:03d}", block))]
    written = []
    real_copy = __import__("outbox.documents.packet", fromlist=["_copy_member"])._copy_member

    def counting(zf, info, target, limit):
        n = real_copy(zf, info, target, limit)
        written.append(n)
        return n

    import outbox.documents.packet as packet_module

    packet_module._copy_member, saved = counting, packet_module._copy_member
    try:
        bad = assemble_parts([_zip_of(entries)], manifest, tmp_path / "back")
    finally:
        packet_module._copy_member = saved
    assert bad == ["notes.txt"]
    assert sum(written) <= sum(len(d) for _, d in others) + len(block) + 1
    assert all((tmp_path / "back" / p).read_bytes() == d for p, d in others)


@pytest.mark.parametrize("damage", ["encrypted", "method", "stream"])
def test_a_damaged_member_raises_one_of_the_damaged_zip_errors(tmp_path, damage):
    """GIVEN a part's zip altered in transit: a member flagged encrypted, an unknown compression
    method, or a corrupt deflate stream WHEN assembled THEN what is raised is one of
    DAMAGED_ZIP_ERRORS (the receiver answers "damaged"; before, all but BadZipFile failed the
    input three times and quarantined it, with no receipt)."""
    from outbox.documents.packet import DAMAGED_ZIP_ERRORS

    data = os.urandom(2000) * 8
    manifest = {"files": [{"path": "a.txt", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}]}
    raw = bytearray(_zip_of([("a.txt", data)]))
    local = raw.index(b"PK\x03\x04")
    central = raw.index(b"PK\x01\x02")
    if damage == "encrypted":
        raw[local + 6] |= 1
        raw[central + 8] |= 1
    elif damage == "method":
        raw[local + 8] = raw[central + 10] = 99
    else:
        start = local + 30 + len("a.txt")
        raw[start: start + 40] = bytes(range(40))
    with pytest.raises(DAMAGED_ZIP_ERRORS):
        assemble_parts([bytes(raw)], manifest, tmp_path / "back")
