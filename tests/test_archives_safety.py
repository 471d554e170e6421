"""extract_archive on real archives: GBK names, 7z, bombs, encryption, junk, limits, rar without unrar."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from parsers.archives import ArchiveLimits, extract_archive, is_archive_path
from tests.factories import make_form_docx, zip_folder


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_gbk_named_zip_from_windows_zipper_decodes_to_chinese(tmp_path: Path) -> None:
    """GIVEN a dossier folder zipped with GBK names and no UTF-8 flag (Windows' zipper)
    WHEN extracted THEN names are Chinese, bytes match, and the .docx is not opened as an archive."""
    folder = tmp_path / "武汉示例公司申报材料"
    form = make_form_docx(folder / "申报书.docx")
    (folder / "附件" / "营业执照扫描件.pdf").parent.mkdir(parents=True)
    (folder / "附件" / "营业执照扫描件.pdf").write_bytes(b"%PDF-1.4 scan")
    archive = zip_folder(folder, tmp_path / "材料.zip")
    assert (is_archive_path(archive), is_archive_path(form)) == ("zip", None)  # a .docx is a document
    result = extract_archive(archive, tmp_path / "out")
    assert result.readable and result.problems == []
    assert {m.name: m.sha256 for m in result.members} == {
        "武汉示例公司申报材料/申报书.docx": _sha(form.read_bytes()),
        "武汉示例公司申报材料/附件/营业执照扫描件.pdf": _sha(b"%PDF-1.4 scan"),
    }
    assert (tmp_path / "out" / "武汉示例公司申报材料" / "申报书.docx").is_file()


def test_7z_archive_with_a_nested_zip(tmp_path: Path) -> None:
    """GIVEN a .7z holding a file and a zip WHEN extracted THEN both the file and the zip's
    members come out, the latter named '<zip path>!/<member>'."""
    import py7zr

    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("汇总表.csv", "序号,项目名称\n1,智能工厂\n")
    src = tmp_path / "src"
    (src / "材料").mkdir(parents=True)
    (src / "材料" / "说明.txt").write_text("申报说明", encoding="utf-8")
    (src / "材料" / "内层.zip").write_bytes(inner.getvalue())
    archive = tmp_path / "a.7z"
    with py7zr.SevenZipFile(archive, "w") as sz:
        sz.writeall(src / "材料", "材料")
    assert is_archive_path(archive) == "7z"
    result = extract_archive(archive, tmp_path / "out")
    assert result.readable
    assert sorted((m.name, m.size) for m in result.members) == [
        ("材料/内层.zip!/汇总表.csv", len("序号,项目名称\n1,智能工厂\n".encode())),
        ("材料/说明.txt", len("申报说明".encode())),
    ]


def test_zip_bomb_stopped_by_ratio_and_nothing_huge_written(tmp_path: Path) -> None:
    """GIVEN 64 MiB of zeros deflated to ~64 KiB WHEN extracted THEN archive_bomb, and the
    partial output is removed."""
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("申报书.pdf", b"\0" * (64 * 1024 * 1024))
    result = extract_archive(archive, tmp_path / "out")
    assert [p.kind for p in result.problems] == ["archive_bomb"]
    assert result.members == []
    assert _tree_bytes(tmp_path / "out") == 0


def test_total_size_limit_and_member_count_limit(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for i in range(30):
            zf.writestr(f"f{i:02}.txt", b"x" * 1000)
    too_many = extract_archive(archive, tmp_path / "a", limits=ArchiveLimits(max_members=10))
    assert ([p.kind for p in too_many.problems], len(too_many.members)) == (["archive_too_many"], 10)
    too_big = extract_archive(archive, tmp_path / "b", limits=ArchiveLimits(max_total_bytes=5500))
    assert ([p.kind for p in too_big.problems], len(too_big.members)) == (["archive_bomb"], 5)
    assert _tree_bytes(tmp_path / "b") == 5000


def test_nesting_deeper_than_limit_is_kept_as_a_member(tmp_path: Path) -> None:
    data = b"deep"
    name = "a.txt"
    for level in range(4):  # zip4(zip3(zip2(zip1(a.txt))))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(name, data)
        data, name = buf.getvalue(), f"z{level}.zip"
    archive = tmp_path / "outer.zip"
    archive.write_bytes(data)
    result = extract_archive(archive, tmp_path / "out")
    assert [m.name for m in result.members] == ["z2.zip!/z1.zip!/z0.zip"]
    assert [(p.kind, p.where) for p in result.problems] == [("archive_too_deep", "z2.zip!/z1.zip!/z0.zip")]


@pytest.mark.skipif(shutil.which("zip") is None, reason="needs the zip tool to make an encrypted zip")
def test_encrypted_zip_is_a_fact(tmp_path: Path) -> None:
    src = tmp_path / "申报书.docx"
    src.write_bytes(b"secret")
    archive = tmp_path / "enc.zip"
    subprocess.run(["zip", "-q", "-j", "-P", "pw", str(archive), str(src)], check=True)
    result = extract_archive(archive, tmp_path / "out")
    assert (result.readable, result.problem) == (False, "encrypted")
    assert [(p.kind, p.where) for p in result.problems] == [("archive_encrypted", "申报书.docx")]
    assert _tree_bytes(tmp_path / "out") == 0


def test_encrypted_7z_is_a_fact(tmp_path: Path) -> None:
    import py7zr

    src = tmp_path / "a.txt"
    src.write_bytes(b"secret")
    archive = tmp_path / "enc.7z"
    with py7zr.SevenZipFile(archive, "w", password="pw", header_encryption=True) as sz:
        sz.write(src, "a.txt")
    result = extract_archive(archive, tmp_path / "out")
    assert (result.readable, result.problem) == (False, "encrypted")


def test_junk_members_are_skipped_silently(tmp_path: Path) -> None:
    archive = tmp_path / "mac.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("材料/申报书.docx", "__MACOSX/材料/._申报书.docx", "材料/.DS_Store", "材料/Thumbs.db",
                     "材料/~$申报书.docx", "材料/desktop.ini", "材料/.~lock.汇总表.xlsx#"):
            zf.writestr(name, b"x")
        zf.writestr("材料/", b"")  # a folder entry
    result = extract_archive(archive, tmp_path / "out")
    assert ([m.name for m in result.members], result.problems) == (["材料/申报书.docx"], [])


def test_rar_without_backend_or_corrupt_is_a_fact(tmp_path: Path) -> None:
    fake = tmp_path / "a.rar"
    fake.write_bytes(b"Rar!\x1a\x07\x01\x00" + b"\x00" * 40)
    result = extract_archive(fake, tmp_path / "out")
    # No unrar-compatible tool: "unsupported"; with one, the garbage yields no member at all.
    assert result.members == [] and result.problem in ("unsupported", "corrupt", None)
    broken = tmp_path / "b.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 30)
    assert (extract_archive(broken, tmp_path / "out2").problem, is_archive_path(tmp_path / "nope")) == ("corrupt", None)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_same_name_twice_and_unsafe_characters_get_distinct_safe_files(tmp_path: Path) -> None:
    archive = tmp_path / "dup.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("报告<1>?.txt", b"1")
        zf.writestr("报告<1>?.txt", b"2")
        zf.writestr("C:报告.txt", b"3")  # drive-relative on Windows: refused like an absolute path
    result = extract_archive(archive, tmp_path / "out")
    assert [(m.name, m.path.name, m.path.read_bytes()) for m in result.members] == [
        ("报告<1>?.txt", "报告_1__.txt", b"1"), ("报告<1>?.txt", "报告_1__ (2).txt", b"2")]
    assert [(p.kind, p.where) for p in result.problems] == [("archive_traversal", "C:报告.txt")]
