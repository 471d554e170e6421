"""When is a file in a drop folder finished? Unchanged for a settle delay, and it opens as it claims.

paperless-ngx's stability tracker (size and mtime unchanged for a while) plus a format check: a
copy pre-sized to its final length (Explorer, rsync --preallocate, fallocate) keeps its size from
the first second, so only the content tells that a zip, Office file, PDF or MP4 is not complete yet.
"""

from __future__ import annotations

import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

# Suffixes whose container is a zip (Office Open XML, OpenDocument, WPS, plain zip).
ZIP_SUFFIXES = frozenset(
    {".zip", ".docx", ".xlsx", ".pptx", ".docm", ".xlsm", ".odt", ".ods", ".odp", ".wpsx", ".ofd"}
)
MP4_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".3gp"})
MAGIC = {
    ".7z": b"7z\xbc\xaf\x27\x1c",
    ".rar": b"Rar!\x1a\x07",
    ".pdf": b"%PDF-",
    ".doc": b"\xd0\xcf\x11\xe0",
    ".xls": b"\xd0\xcf\x11\xe0",
}

Signature = tuple[int, int, int]  # (size in bytes, mtime in ns, inode)


def signature(path: Path) -> Signature | None:
    """(size, mtime_ns, inode) without following symlinks; None when the path is gone."""
    try:
        st = path.lstat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass
class _Seen:
    signature: object
    since: float  # when this signature was first seen, or the last event touched the path


class StabilityTracker:
    """Remembers what each path looked like and since when (seconds on the caller's clock)."""

    def __init__(self, settle_s: float) -> None:
        self.settle_s = settle_s
        self._seen: dict[str, _Seen] = {}

    def touch(self, key: str, now: float) -> None:
        """An event hit ``key``: restart its settle delay (mtime may not have moved yet)."""
        if key in self._seen:
            self._seen[key].since = now

    def is_settled(self, key: str, sig: object, now: float) -> bool:
        """True when ``key`` has shown ``sig`` for at least ``settle_s`` seconds up to ``now``."""
        seen = self._seen.get(key)
        if seen is None or seen.signature != sig:
            self._seen[key] = _Seen(sig, now)
            return False
        return now - seen.since >= self.settle_s

    def unchanged_for(self, key: str, now: float) -> float:
        """Seconds ``key`` has kept its current signature (0 when not seen yet)."""
        seen = self._seen.get(key)
        return 0.0 if seen is None else now - seen.since

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)

    def keep_only(self, keys: set[str]) -> None:
        """Drop what is no longer in the folder."""
        for k in list(self._seen):
            if k not in keys:
                del self._seen[k]

    @property
    def pending(self) -> bool:
        """True while anything is being watched until it settles."""
        return bool(self._seen)


def looks_complete(path: Path) -> bool:
    """True unless ``path`` is a known format whose structure is visibly unfinished.

    zip family: the central directory parses and every member's local header is in place. PDF:
    starts with ``%PDF-`` and has ``%%EOF`` in its last 2 KiB. MP4/MOV: top-level boxes chain to
    exactly the file size and the last 1 KiB is not all zero bytes. 7z/RAR/OLE: the signature is there. Other files: True. Never raises.
    """
    suffix = path.suffix.lower()
    try:
        if suffix in ZIP_SUFFIXES:
            return _zip_complete(path)
        if suffix == ".pdf":
            return _pdf_complete(path)
        if suffix in MP4_SUFFIXES:
            return _mp4_complete(path)
        if suffix in MAGIC:
            with path.open("rb") as f:
                return f.read(len(MAGIC[suffix])) == MAGIC[suffix]
    except OSError:
        return False
    return True


def _zip_complete(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf, path.open("rb") as f:
            for info in zf.infolist():
                f.seek(info.header_offset)
                if f.read(4) != b"PK\x03\x04":
                    return False
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError):
        return False
    return True


def _pdf_complete(path: Path) -> bool:
    size = path.stat().st_size
    with path.open("rb") as f:
        if f.read(5) != b"%PDF-":
            return False
        f.seek(max(0, size - 2048))
        return b"%%EOF" in f.read()


def _mp4_complete(path: Path) -> bool:
    size = path.stat().st_size
    offset = 0
    with path.open("rb") as f:
        while offset < size:
            f.seek(offset)
            head = f.read(16)
            if len(head) < 8:
                return False
            box_size, box_type = struct.unpack(">I4s", head[:8])
            if box_size == 1 and len(head) == 16:
                box_size = struct.unpack(">Q", head[8:16])[0]
            elif box_size == 0:
                return box_type.isalnum() and offset > 0  # "to the end of the file": last box only
            if box_size < 8 or not box_type.strip(b" ").isalnum():
                return False  # zeros where a box should start: not written yet
            offset += box_size
        if offset != size:
            return False
        # A faststart file ends inside mdat, whose header is written first: a pre-sized copy
        # still has zeros at its end. Compressed media never ends in 1 KiB of zero bytes.
        f.seek(max(0, size - 1024))
        return any(f.read())


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (POSIX: fsync the directory)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
