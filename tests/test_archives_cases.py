"""Public case C10 (ZIP Slip members and a zip inside the zip) through extract_archive."""

from __future__ import annotations

import json
import os
from pathlib import Path

from parsers.archives import extract_archive

CASES = Path(__file__).parent / "cases"


def test_c10_zip_slip_members_skipped_and_nested_zip_opened(tmp_path: Path) -> None:
    """GIVEN a zip with ../, absolute and backslash traversal members, a symlink, and a nested zip
    WHEN it is extracted into <tmp>/work/job
    THEN nothing lands outside it, no symlink exists, the unsafe members are flagged, and the
    nested documents are found under their '<inner archive path>!/<member>' names."""
    exp = json.loads((CASES / "C10" / "expected.json").read_text(encoding="utf-8"))
    dest = tmp_path / "work" / "job"
    before = set(Path("/tmp").glob("zipslip_*"))
    result = extract_archive(CASES / "C10" / "input" / exp["archive"], dest)

    assert result.readable and result.problem is None
    found = {m.name: m.sha256 for m in result.members}
    for doc in exp["documents_found"]:
        assert found[doc["path"]] == doc["sha256"]
    assert set(found) == {"材料/内层材料.zip!/申报书.docx", "材料/内层材料.zip!/汇总表.xlsx", "材料/说明.txt"}
    assert [(p.kind, p.where) for p in result.problems] == [
        ("archive_traversal", "../../../../tmp/zipslip_申报_c10.txt"),
        ("archive_traversal", "/tmp/zipslip_abs_c10.txt"),
        ("archive_traversal", "..\\..\\..\\zipslip_backslash_c10.txt"),
        ("archive_link", "材料/链接"),
    ]

    assert set(Path("/tmp").glob("zipslip_*")) == before
    for path in ("/tmp/zipslip_申报_c10.txt", "/tmp/zipslip_abs_c10.txt"):
        assert not os.path.lexists(path)
    assert not os.path.lexists(dest.parent / "zipslip_backslash_c10.txt")
    assert sorted(p.name for p in tmp_path.rglob("*zipslip*")) == []
    assert [p for p in tmp_path.rglob("*") if p.is_symlink()] == []
    assert not os.path.lexists(dest / "材料" / "链接")
    for m in result.members:
        assert m.path.resolve().is_relative_to(dest.resolve())
        assert m.path.stat().st_size == m.size
