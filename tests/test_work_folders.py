"""Work folders of finished inputs are renamed aside at once and removed on the cleaner thread."""

from __future__ import annotations

from pathlib import Path

from bot.processing.work_folders import DISCARDED, WorkFolders


def _folder(root: Path, name: str, files: int = 3) -> Path:
    folder = root / name
    (folder / "parts").mkdir(parents=True)
    for i in range(files):
        (folder / "parts" / f"{i}.bin").write_bytes(b"x" * 1000)
    return folder


def test_a_discarded_folder_is_free_at_once_and_gone_after_close(tmp_path: Path) -> None:
    """GIVEN an input's two work folders WHEN discarded THEN their names are free at once (a
    retry of the input may write there again) and, once closed, nothing of them is left."""
    folders = WorkFolders(tmp_path)
    a, b = _folder(tmp_path, "input-7"), _folder(tmp_path, "input-7-parsed")
    folders.discard(a, b, tmp_path / "input-7-never-made")
    assert not a.exists() and not b.exists()
    again = _folder(tmp_path, "input-7")  # the retry's folder is its own
    folders.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([DISCARDED, "input-7"])
    assert list((tmp_path / DISCARDED).iterdir()) == []
    assert sorted(p.name for p in (again / "parts").iterdir()) == ["0.bin", "1.bin", "2.bin"]
    folders.discard(again)  # after close: removed in place
    assert not again.exists()


def test_folders_left_aside_by_a_crash_are_removed_by_the_next_start(tmp_path: Path) -> None:
    _folder(tmp_path / DISCARDED, "input-3-0123456789ab")
    folders = WorkFolders(tmp_path)
    folders.close()
    assert list((tmp_path / DISCARDED).iterdir()) == []
