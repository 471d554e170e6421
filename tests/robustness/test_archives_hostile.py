"""Hostile archives end as ARCHIVE_UNSAFE or FILE_UNREADABLE findings, bounded, with no write outside."""

from __future__ import annotations

from pathlib import Path

from parsers.archives import ArchiveLimits
from parsers.materials import ParseOptions
from tests.robustness import hostile as H
from tests.robustness.harness import judge
from tests.robustness.isolated import baseline_mib, read_isolated


def test_ratio_bomb_is_stopped_before_the_ratio_is_exceeded_by_much(tmp_path: Path) -> None:
    """GIVEN a zip holding 64 MiB of zeros (about 1000:1)
    WHEN it is read as an input
    THEN extraction stops (ARCHIVE_UNSAFE on the member) and at most a few MiB were written."""
    got = judge(H.zip_bomb_ratio(tmp_path / "in"), tmp_path)
    assert got.where("ARCHIVE_UNSAFE") == ["申报书.docx"]
    assert [p.kind for p in got.dossier.problems] == ["archive_bomb"]
    assert sum(p.stat().st_size for p in got.written) < 4 * 1024 * 1024


def test_total_size_bomb_is_stopped_at_the_budget(tmp_path: Path) -> None:
    """GIVEN incompressible members totalling 6 MiB and a 3 MiB extraction budget
    THEN the members within budget are materials and the next one is an archive_bomb finding."""
    opts = ParseOptions(archive_limits=ArchiveLimits(max_total_bytes=3 * 1024 * 1024))
    got = judge(H.zip_bomb_total(tmp_path / "in"), tmp_path, opts)
    assert [m.name for m in got.dossier.materials] == ["part0.bin", "part1.bin", "part2.bin"]
    assert got.where("ARCHIVE_UNSAFE") == ["part3.bin"]
    assert sum(p.stat().st_size for p in got.written) <= 3 * 1024 * 1024


def test_nested_bomb_42_style_stays_under_the_ratio_and_in_memory(tmp_path: Path) -> None:
    """GIVEN 16 zips of 16 × 8 MiB of zeros each (2 GiB expanded, a few hundred KB packed)
    WHEN read in a fresh process
    THEN every inner archive is stopped as a bomb, nothing is a material, peak memory stays small."""
    src = H.zip_nested_bomb(tmp_path / "in")
    out = read_isolated(src, tmp_path / "work")
    assert out["materials"] == []
    assert {k for k, _ in out["problems"]} == {"archive_bomb"}
    assert out["peak_mib"] < baseline_mib() + 150
    written = sum(p.stat().st_size for p in (tmp_path / "work").rglob("*") if p.is_file())
    assert written < 64 * 1024 * 1024


def test_declared_size_lie_yields_only_the_real_bytes(tmp_path: Path) -> None:
    """GIVEN a member whose central directory claims 2 GiB but holds 1,000 bytes
    THEN the 1,000 bytes are the material and a video name over text is a mismatch finding."""
    got = judge(H.zip_declared_size_lie(tmp_path / "in"), tmp_path)
    (m,) = got.dossier.materials
    assert (m.name, m.size, m.problem) == ("视频.mp4", 1000, "mismatch")
    assert got.where("VIDEO_UNREADABLE") == ["视频.mp4"]


def test_nesting_beyond_three_levels_is_reported_not_opened(tmp_path: Path) -> None:
    got = judge(H.zip_nested(tmp_path / "in", depth=12), tmp_path)
    assert got.where("ARCHIVE_UNSAFE") == ["level1.zip!/level2.zip!/level3.zip"]
    assert [p.kind for p in got.dossier.problems] == ["archive_too_deep"]


def test_every_traversal_form_is_refused_and_nothing_lands_outside(tmp_path: Path) -> None:
    """GIVEN members named with .., absolute, drive-letter, UNC, backslash and mixed paths
    THEN each is an ARCHIVE_UNSAFE finding, only the good member is extracted, no escape file exists."""
    got = judge(H.zip_traversal(tmp_path / "in"), tmp_path)
    assert sorted(got.where("ARCHIVE_UNSAFE")) == sorted(H.TRAVERSAL_NAMES)
    assert [m.name for m in got.dossier.materials] == ["正常.txt"]
    assert [p.name for p in got.written] == ["正常.txt"]
    for name in ("escape-deep.txt", "escape-absolute.txt", "escape-dotdot.txt"):
        assert not (Path("/tmp") / name).exists() and not (tmp_path / name).exists()


def test_links_devices_and_fifos_are_not_created(tmp_path: Path) -> None:
    got = judge(H.zip_special_members(tmp_path / "in"), tmp_path)
    assert sorted(got.where("ARCHIVE_UNSAFE")) == ["dirlink", "null-device", "passwd-link", "pipe"]
    assert {(p.kind, p.where) for p in got.dossier.problems} == {
        ("archive_link", "passwd-link"), ("archive_link", "dirlink"),
        ("archive_device", "null-device"), ("archive_device", "pipe"),
    }
    # "dirlink/through-link.txt" becomes a real folder under the work folder, never /tmp.
    assert all(p.is_file() and not p.is_symlink() for p in got.written)
    assert not Path("/tmp/through-link.txt").exists()


def test_hundred_thousand_members_stop_at_the_member_limit_with_one_capped_finding_list(tmp_path: Path) -> None:
    """GIVEN 100,000 empty members
    THEN 2,000 are taken, the 2,001st stops the archive, and the defect list stays short."""
    got = judge(H.zip_many_members(tmp_path / "in"), tmp_path)
    assert len(got.dossier.materials) == 2000
    assert [p.kind for p in got.dossier.problems] == ["archive_too_many"]
    unreadable = got.where("FILE_UNREADABLE")
    assert len(unreadable) == 21 and unreadable[-1] == ""  # 20 named, one line counting the rest
    assert len(got.findings) < 30


def test_encrypted_zip_and_7z_are_unreadable_findings(tmp_path: Path) -> None:
    z = judge(H.zip_encrypted(tmp_path / "in"), tmp_path)
    assert "FILE_UNREADABLE" in z.codes() and z.dossier.materials[0].problem == "encrypted"
    s = judge(H.sevenz_encrypted(tmp_path / "in7"), tmp_path)
    assert "FILE_UNREADABLE" in s.codes()
    assert any(p.kind == "archive_encrypted" for p in s.dossier.problems)
