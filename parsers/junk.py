"""Names of temp, lock and OS side files that are never materials (skipped in archives and folders)."""

from __future__ import annotations

import fnmatch
import re

# Whole path components that mark the component and everything under it as junk.
_JUNK_DIRS: frozenset[str] = frozenset({"__macosx", ".trashes", ".spotlight-v100", ".fseventsd", "$recycle.bin"})

# Exact file names (compared case-insensitively): Finder, Explorer and thumbnail caches.
_JUNK_FILES: frozenset[str] = frozenset({".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", ".directory"})

# Patterns on the last component (case-insensitive): Office owner files (``~$申报书.docx``), Word temp
# files (``~WRD0001.tmp``), LibreOffice locks (``.~lock.汇总表.xlsx#``), unfinished browser downloads,
# and AppleDouble resource forks (``._申报书.docx``). Source: case C19 and the issues it cites.
_JUNK_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(fnmatch.translate(p), re.IGNORECASE)
    for p in ("~$*", "~wrd*.tmp", "~wrl*.tmp", ".~lock.*#", "*.part", "*.crdownload", "._*")
)


def is_junk_name(name: str) -> bool:
    """True when ``name`` (a file name or a ``/``- or ``\\``-separated relative path) is a temp,
    lock or OS side file, or lies inside a junk folder such as ``__MACOSX/``.

    Never raises; an empty name is not junk.
    """
    parts = [p for p in re.split(r"[\\/]+", name) if p]
    if not parts:
        return False
    if any(p.lower() in _JUNK_DIRS for p in parts):
        return True
    last = parts[-1]
    if last.lower() in _JUNK_FILES:
        return True
    return any(p.match(last) for p in _JUNK_PATTERNS)
