"""Issue 14, attack 8: a drop folder never lets its writer read a file outside it.

The swap happens between the watcher's check (stability, completeness) and the store's copy: a
ledger wrapper performs it just before the real ``Store.accept_path`` runs, which is the window an
attacker with write access to the share races for. The "secret" is a real file outside the drop
folder standing in for /etc/shadow.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from bot.sources.folders import FolderWatcher
from bot.store.database import Store

SECRET = b"root:$6$secret-hash-that-must-never-be-archived:19000:0:99999:7:::\n"


class SwappingLedger:
    """The real Store, with ``swap()`` run between the watcher's checks and the copy."""

    def __init__(self, store: Store, swap: Callable[[Path], None]) -> None:
        self.store = store
        self.swap = swap

    def __getattr__(self, name: str):  # noqa: ANN204 - the rest of the Ledger protocol
        return getattr(self.store, name)

    def accept_path(self, path: Path, *, taken_at: datetime) -> str:
        self.swap(path)
        return self.store.accept_path(path, taken_at=taken_at)


@pytest.fixture
def world(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "shadow").write_bytes(SECRET)
    root = tmp_path / "drop"
    root.mkdir()
    store = Store.open(tmp_path / "s.sqlite3", tmp_path / "archive")
    yield root, outside, store
    store.close()


def _archived(store: Store, data: bytes) -> bool:
    return store.archive.has(hashlib.sha256(data).hexdigest())


def _scan(watcher: FolderWatcher) -> int:
    watcher.scan_once(now=1000.0)
    return watcher.scan_once(now=1010.0)


def test_dossier_folder_swapped_for_a_symlink_is_not_followed(world) -> None:
    """GIVEN a dossier folder that settles WHEN it is swapped for a symlink to a folder outside the
    drop folder after the check THEN nothing from outside is archived and no input is recorded."""
    root, outside, store = world
    dossier = root / "某公司申报材料"
    dossier.mkdir()
    (dossier / "申报书.pdf").write_bytes(b"%PDF-1.4 harmless\n%%EOF\n")

    def swap(path: Path) -> None:
        shutil.rmtree(path)
        os.symlink(outside, path)

    w = FolderWatcher(root, SwappingLedger(store, swap), processed_dir=None, settle_s=1.0)
    assert _scan(w) == 0
    assert not _archived(store, SECRET)
    assert store.inputs() == []


def test_file_swapped_for_a_symlink_is_not_followed(world) -> None:
    root, outside, store = world
    (root / "申报书.pdf").write_bytes(b"%PDF-1.4 harmless\n%%EOF\n")

    def swap(path: Path) -> None:
        path.unlink()
        os.symlink(outside / "shadow", path)

    w = FolderWatcher(root, SwappingLedger(store, swap), processed_dir=None, settle_s=1.0)
    assert _scan(w) == 0
    assert not _archived(store, SECRET)
    assert store.inputs() == []


def test_inner_folder_swapped_for_a_symlink_is_left_out(world) -> None:
    """The symlink sits one level down: the dossier is taken, the linked folder is not read."""
    root, outside, store = world
    dossier = root / "dossier"
    (dossier / "附件").mkdir(parents=True)
    (dossier / "申报书.pdf").write_bytes(b"%PDF-1.4 harmless\n%%EOF\n")
    (dossier / "附件" / "说明.txt").write_bytes(b"note")

    def swap(path: Path) -> None:
        shutil.rmtree(path / "附件")
        os.symlink(outside, path / "附件")

    w = FolderWatcher(root, SwappingLedger(store, swap), processed_dir=None, settle_s=1.0)
    assert _scan(w) == 1
    assert not _archived(store, SECRET)
    (row,) = store.inputs()
    assert "shadow" not in (row.manifest or "")


def test_hard_linked_file_is_refused(world) -> None:
    """GIVEN a dossier folder holding a hard link to a file outside the drop folder
    WHEN it is taken THEN the linked file's bytes are not archived; the other files are."""
    root, outside, store = world
    dossier = root / "dossier"
    dossier.mkdir()
    (dossier / "申报书.pdf").write_bytes(b"%PDF-1.4 harmless\n%%EOF\n")
    os.link(outside / "shadow", dossier / "说明.txt")
    w = FolderWatcher(root, store, processed_dir=None, settle_s=1.0)
    assert _scan(w) == 1
    assert not _archived(store, SECRET)
    assert _archived(store, b"%PDF-1.4 harmless\n%%EOF\n")


def test_hard_linked_top_level_file_is_refused(world) -> None:
    root, outside, store = world
    os.link(outside / "shadow", root / "申报书.pdf")
    with pytest.raises(OSError):  # bot.store.nofollow.UnsafeEntry
        store.accept_path(root / "申报书.pdf", taken_at=datetime(2023, 11, 29))
    assert not _archived(store, SECRET)
