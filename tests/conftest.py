"""Shared fixtures: generated sample files (made once per session) and an embedded instance."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from bot.config.model import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "sample-input"
CASES = Path(__file__).resolve().parent / "cases"


@pytest.fixture(scope="session")
def samples() -> Path:
    """The committed sample input (examples/sample-input), read-only."""
    return SAMPLES


@pytest.fixture(scope="session")
def video_6min(tmp_path_factory) -> Path:
    """A real 372-second mp4 (64x36, 1 fps), made once."""
    from tests.factories import make_video

    return make_video(tmp_path_factory.mktemp("video") / "项目视频.mp4", 372)


def make_settings(root: Path, **overrides) -> Settings:
    """Embedded settings under ``root``: SQLite store, one drop folder, a file outbox, pinned clock."""
    base = {
        "store": {"data_dir": root / "store"},
        "drop": {"folders": [root / "dropbox"], "processed_dir": root / "processed", "settle_s": 0.0},
        "outbox": {"transport": "file", "folder": root / "outbox"},
        "campaign": {"now": datetime.fromisoformat("2023-11-29T10:00:00+08:00")},
    }
    for key, value in overrides.items():
        base.setdefault(key, {}).update(value)
    settings = load_settings(None, **base)
    for folder in settings.drop.folders:  # as the IT person would: drop folders are never made for us
        folder.mkdir(parents=True, exist_ok=True)
    return settings


@pytest.fixture
def embedded(tmp_path) -> Settings:
    """Settings for an embedded instance living in tmp_path."""
    return make_settings(tmp_path)


def copy_into(src: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / src.name
    if src.is_dir():
        shutil.copytree(src, dest)
    else:
        shutil.copy2(src, dest)
    return dest
