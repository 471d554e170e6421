"""One rule for turning a decoded name into a file name on disk (the original stays in the facts)."""

from __future__ import annotations

import os
import re
from pathlib import Path

MAX_NAME_BYTES = 200  # bytes of UTF-8 per file name (most filesystems allow 255)
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*/\\]')


def safe_file_name(name: str, fallback: str = "_") -> str:
    """``name`` as one safe path component.

    Control characters, path separators and characters Windows refuses become ``_``; leading dots
    and trailing dots/blanks go (no hidden files, no ``..``); the result is cut to
    ``MAX_NAME_BYTES`` bytes of UTF-8 (1,000 CJK characters are 3,000 bytes), keeping an extension
    of up to 16 bytes. An empty result is ``fallback``.
    """
    part = _UNSAFE_CHARS.sub("_", name).strip().rstrip(". ").lstrip(".").strip()
    if not part:
        return fallback
    if len(part.encode("utf-8")) <= MAX_NAME_BYTES:
        return part
    stem, dot, ext = part.rpartition(".")
    ext = dot + ext if dot and stem and len(ext.encode("utf-8")) <= 16 else ""
    base = part[: len(part) - len(ext)]
    while len((base + ext).encode("utf-8")) > MAX_NAME_BYTES:
        base = base[:-1]
    return base + ext


def is_safe_relative_path(path: object) -> bool:
    """True when ``path`` (a ``/``-separated name from outside, e.g. a packet manifest) may be used
    as given under a folder of ours: a non-empty string, not absolute, no ``\\``, and every
    component non-empty and unchanged by :func:`safe_file_name` (so no ``..``, ``.``, leading
    dot, control or Windows-forbidden character, drive letter, or over-long name)."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path:
        return False
    parts = path.split("/")
    return all(part and safe_file_name(part, fallback="") == part for part in parts)


def unused_path(folder: Path, name: str) -> Path:
    """``folder / name``, else ``name (2).ext``, ``name (3).ext``… the first that does not exist.

    Two names that :func:`safe_file_name` makes alike (``note:1.txt`` and ``note_1.txt``) then
    both keep their own file: nothing is ever written onto a path that is already there.
    """
    target = folder / name
    n = 1
    while os.path.lexists(target):
        n += 1
        stem, dot, ext = name.rpartition(".")
        target = folder / (f"{stem} ({n}).{ext}" if dot and stem else f"{name} ({n})")
    return target
