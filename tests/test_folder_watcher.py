"""The drop-folder watcher on a real filesystem: case C19, pre-sized copies, dossier folders, polling."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from bot.sources.folders import FolderWatcher
from bot.sources.stability import looks_complete
from tests.factories import make_dossier_dir, make_form_docx, make_scan_pdf, make_video

CASES = Path(__file__).parent / "cases"


class PathLedger:
    """A small real ``Ledger`` for drop folders: copies what it takes into an archive folder.

    Stands in for ``bot.store.database.Store`` until the tests switch to it.
    """

    def __init__(self, root: Path, *, fail_on: str | None = None) -> None:
        self.archive = root / "archive"
        self.archive.mkdir(parents=True)
        self.taken: list[
            tuple[str, str]
        ] = []  # (name, sha256 of the file or of the folder's listing)
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def accept_path(self, path: Path, *, taken_at: datetime) -> str:
        if path.name == self.fail_on:
            raise OSError("disk full (staged)")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            listing = [(p.relative_to(path).as_posix(), _sha(p.read_bytes())) for p in files]
            sha = _sha(json.dumps(listing, ensure_ascii=False).encode())
            shutil.copytree(path, self.archive / sha, dirs_exist_ok=True)
        else:
            data = path.read_bytes()
            sha = _sha(data)
            with open(self.archive / sha, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        with self.lock:
            self.taken.append((path.name, sha))
            return str(len(self.taken))

    def is_known_uid(self, account: str, folder: str, uidvalidity: int, uid: int) -> bool:
        return False

    def input_state(self, input_id: int) -> str | None:
        return "received" if 0 < input_id <= len(self.taken) else None

    def is_known_message(self, sha256: str, message_id: str | None) -> bool:
        return False

    def accept_mail(self, raw: bytes, **kw: object) -> str:
        raise NotImplementedError


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def replay(case_dir: Path, watched: Path, outside: Path) -> None:
    """Play ``plan.json`` of case C19 into ``watched`` (moves-in come from ``outside``)."""
    plan = json.loads((case_dir / "plan.json").read_text("utf-8"))
    for step in plan["steps"]:
        op = step["op"]
        if op == "write":
            data = (case_dir / step["src"]).read_bytes()
            with open(watched / step["dst"], "wb") as f:
                if step.get("partial_first"):
                    f.write(data[: len(data) // 2])
                    f.flush()
                    time.sleep(0.1)
                    f.write(data[len(data) // 2 :])
                else:
                    f.write(data)
        elif op == "sleep":
            time.sleep(step["seconds"])
        elif op == "rename":
            os.rename(watched / step["from"], watched / step["to"])
        elif op == "move_in":
            staged = outside / step["dst"]
            staged.write_bytes((case_dir / step["src"]).read_bytes())
            os.rename(staged, watched / step["dst"])
        elif op == "delete":
            (watched / step["path"]).unlink()
        else:
            raise AssertionError(f"unknown op {op}")


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(watched root, processed area inside it, a sibling folder on the same filesystem)."""
    root, outside = tmp_path / "drop", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    return root, root / "processed", outside


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_c19_save_by_rename_and_side_files(tmp_path: Path, dirs, polling: bool) -> None:
    """GIVEN the C19 replay (temp file renamed into place, a move-in, lock/owner/OS files) into a
    watched folder WHEN run() watches THEN exactly 申报书.docx and 汇总表.xlsx are taken, once each."""
    root, processed, outside = dirs
    expected = json.loads((CASES / "C19" / "expected.json").read_text("utf-8"))
    ledger = PathLedger(tmp_path)
    watcher = FolderWatcher(
        root, ledger, processed_dir=processed, settle_s=0.4, polling=polling, poll_interval_s=0.1
    )
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        time.sleep(0.2)
        replay(CASES / "C19" / "input", root, outside)
        deadline = time.monotonic() + 6
        while len(ledger.taken) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # several more settle periods: nothing else may be taken
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    want = {(e["file"], e["sha256"]) for e in expected["processed_exactly_once"]}
    assert sorted(ledger.taken) == sorted(want)
    assert not {name for name, _ in ledger.taken} & set(expected["ignored_silently"])
    assert sorted(p.name.split("-", 2)[2] for p in processed.iterdir()) == [
        "汇总表.xlsx",
        "申报书.docx",
    ]
    assert sorted(p.name for p in root.iterdir() if p != processed) == [
        ".DS_Store",
        "Thumbs.db",
        "desktop.ini",
    ]


def _real_file(kind: str, folder: Path) -> Path:
    if kind == "zip":
        path = folder / "申报材料.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("申报书.txt", os.urandom(40_000))  # incompressible: a real-sized archive
            zf.writestr("说明.txt", "见附件".encode())
        return path
    if kind == "docx":
        return make_form_docx(folder / "申报书.docx")
    if kind == "pdf":
        return make_scan_pdf(folder / "全套扫描件.pdf", pages=1)
    return make_video(folder / "项目视频.mp4", 3)


@pytest.mark.parametrize("kind", ["zip", "docx", "pdf", "mp4"])
def test_presized_copy_is_not_taken_until_complete(tmp_path: Path, dirs, kind: str) -> None:
    """GIVEN a copy pre-sized to its final length and half written WHEN it stays unchanged past the
    settle delay THEN it is not taken; once filled and settled it is taken once."""
    root, processed, _ = dirs
    src = _real_file(kind, tmp_path)
    data = src.read_bytes()
    target = root / src.name
    with open(target, "wb") as f:
        f.truncate(len(data))
        f.write(data[: len(data) // 2])
    assert not looks_complete(target)
    ledger = PathLedger(tmp_path)
    w = FolderWatcher(root, ledger, processed_dir=processed, settle_s=2.0)
    t = time.time()
    assert (w.scan_once(now=t), w.scan_once(now=t + 10)) == (0, 0)
    with open(target, "r+b") as f:
        f.seek(len(data) // 2)
        f.write(data[len(data) // 2 :])
    assert looks_complete(target)
    assert (w.scan_once(now=t + 11), w.scan_once(now=t + 12), w.scan_once(now=t + 14)) == (0, 0, 1)
    assert ledger.taken == [(src.name, _sha(data))]
    assert w.scan_once(now=t + 20) == 0


def test_dossier_subfolder_taken_once_when_every_file_is_stable(tmp_path: Path, dirs) -> None:
    """GIVEN a sub-folder being filled (a file added late, an open-document owner file inside)
    WHEN scanned THEN it is taken once, as one input, only after its last file settled."""
    root, processed, _ = dirs
    dossier = make_dossier_dir(root / "武汉示例公司", video_s=None)
    (dossier / "~$申报书.docx").write_bytes(b"\x00" * 162)
    ledger = PathLedger(tmp_path)
    w = FolderWatcher(root, ledger, processed_dir=processed, settle_s=2.0)
    t = time.time()
    assert w.scan_once(now=t) == 0
    make_video(dossier / "项目视频.mp4", 2)  # arrives later: the settle delay starts again
    assert (w.scan_once(now=t + 3), w.scan_once(now=t + 4)) == (0, 0)
    assert w.scan_once(now=t + 5.5) == 1
    assert w.scan_once(now=t + 20) == 0
    assert [name for name, _ in ledger.taken] == ["武汉示例公司"]
    (moved,) = processed.iterdir()
    assert moved.name.endswith("-武汉示例公司")
    assert sorted(p.name for p in moved.iterdir()) == sorted(
        ["~$申报书.docx", "申报书.docx", "全套扫描件.pdf", "项目视频.mp4"]
    )


def test_empty_subfolder_waits(tmp_path: Path, dirs) -> None:
    root, processed, _ = dirs
    (root / "新建文件夹").mkdir()
    w = FolderWatcher(root, PathLedger(tmp_path), processed_dir=processed, settle_s=1.0)
    t = time.time()
    assert (w.scan_once(now=t), w.scan_once(now=t + 60)) == (0, 0)


def test_left_in_place_when_no_processed_dir(tmp_path: Path, dirs) -> None:
    root, _, _ = dirs
    doc = make_form_docx(root / "申报书.docx")
    ledger = PathLedger(tmp_path)
    w = FolderWatcher(root, ledger, processed_dir=None, settle_s=1.0)
    t = time.time()
    assert [w.scan_once(now=t + s) for s in (0, 2, 10)] == [0, 1, 0]
    assert doc.exists()
    assert [name for name, _ in ledger.taken] == ["申报书.docx"]


def test_a_failing_entry_does_not_stop_the_others(tmp_path: Path, dirs) -> None:
    root, processed, _ = dirs
    make_form_docx(root / "坏.docx")
    make_form_docx(root / "好.docx")
    ledger = PathLedger(tmp_path, fail_on="坏.docx")
    w = FolderWatcher(root, ledger, processed_dir=processed, settle_s=1.0)
    t = time.time()
    assert [w.scan_once(now=t + s) for s in (0, 2, 4)] == [0, 1, 0]
    assert [name for name, _ in ledger.taken] == ["好.docx"]
    assert (root / "坏.docx").exists()


def test_fifo_is_ignored_and_an_incomplete_file_is_taken_after_the_long_wait(tmp_path):
    """GIVEN a FIFO and a text file named .zip in a drop folder
    WHEN the watcher scans THEN the FIFO is never opened (no hang) and the fake zip, which never
    opens as a zip, is taken once it has stayed unchanged for incomplete_after_s, so the rules can
    tell its sender it is damaged."""
    import os

    from bot.store.database import Store

    root = tmp_path / "drop"
    root.mkdir()
    os.mkfifo(root / "pipe.mp4")
    (root / "申报材料.zip").write_bytes(b"not a zip at all")
    store = Store.open(tmp_path / "s.sqlite3", tmp_path / "archive")
    w = FolderWatcher(root, store, processed_dir=None, settle_s=1.0, incomplete_after_s=30.0)
    assert w.scan_once(now=1000.0) == 0
    assert w.scan_once(now=1010.0) == 0  # settled but incomplete: wait
    assert w.scan_once(now=1031.0) == 1
    assert [r.name for r in store.inputs()] == ["申报材料.zip"]
    store.close()
