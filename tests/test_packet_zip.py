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
    for path, size in sizes.items():
        assert (back / path).stat().st_size <= size + 1
    assert all((back / p).read_bytes() == d for p, d in files.items() if p not in bad)
    assert not (tmp_path / "back.pieces").exists()
