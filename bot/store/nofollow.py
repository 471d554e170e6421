"""Opening what sits in a drop folder without following anybody's symlinks (issue 14, attack 8).

Anyone who can write to a shared drop folder can swap a sub-folder for a symlink between the
watcher's check and the copy (a TOCTOU race), or leave a hard link to a file they cannot read but
the desk can. So every path component is opened relative to the descriptor of its parent with
``O_NOFOLLOW`` (``os.open(name, dir_fd=...)``, POSIX ``openat``), the opened descriptor is checked
with ``fstat`` (a regular file with exactly one link, or a directory), and the bytes are hashed and
archived from that same descriptor: what is checked is what is read.

Refused (never read): symlinks at any depth, FIFOs, sockets, devices, and regular files with
``st_nlink > 1``. A refused top-level entry raises :class:`UnsafeEntry`; a refused file inside a
dossier folder is left out and named in :attr:`FolderListing.refused`.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import IntakeError
from parsers.charsets import decode_os_name

_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
MAX_DEPTH = 16  # folder levels inside one dossier folder


class UnsafeEntry(OSError, IntakeError):
    """A drop-folder entry that must not be read (a symlink, a hard link, not a regular file)."""


@dataclass
class FolderListing:
    """What :func:`walk_folder` yielded and what it refused (relative POSIX names, with reasons)."""

    refused: list[tuple[str, str]] = field(default_factory=list)


def _open_at(dir_fd: int | None, name: str) -> int:
    """Open ``name`` (one component) under ``dir_fd`` without following a symlink.

    Raises :class:`UnsafeEntry` for a symlink (``ELOOP``), else ``OSError``.
    """
    if "/" in name or name in ("", ".", ".."):
        raise UnsafeEntry(errno.EINVAL, f"not a single path component: {name!r}")
    try:
        return os.open(name, _FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):
            raise UnsafeEntry(exc.errno, f"{name}: a symbolic link, not followed") from exc
        raise


def _check(fd: int, name: str) -> os.stat_result:
    """``fstat`` of an opened entry: a directory, or a regular file with one link."""
    st = os.fstat(fd)
    if stat.S_ISDIR(st.st_mode):
        return st
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeEntry(errno.EPERM, f"{name}: not a regular file")
    if st.st_nlink > 1:
        raise UnsafeEntry(errno.EPERM, f"{name}: has {st.st_nlink} hard links")
    return st


@contextmanager
def open_entry(path: Path) -> Iterator[tuple[int, os.stat_result]]:
    """Open the drop-folder entry ``path`` (its parent is trusted: the configured folder).

    Yields ``(fd, stat)`` of a directory or of a single-link regular file; closes the descriptor.
    Raises :class:`UnsafeEntry` or ``OSError``.
    """
    parent = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        fd = _open_at(parent, path.name)
    finally:
        os.close(parent)
    try:
        st = _check(fd, path.name)
        yield fd, st
    finally:
        os.close(fd)


def walk_folder(
    dir_fd: int,
    listing: FolderListing,
    *,
    skip: Callable[[str], bool] = lambda name: False,
    _prefix: str = "",
    _depth: int = 0,
) -> Iterator[tuple[str, int, os.stat_result]]:
    """Every regular single-link file under the open directory ``dir_fd``, sorted by name.

    Yields ``(relative POSIX name, fd, stat)``; the fd is valid until the next item. The name is
    text even when the file system holds other bytes than UTF-8 (GBK from a Windows zip:
    ``decode_os_name``). Names for which ``skip(name)`` is true (junk files) are passed over;
    symlinks, hard links and special files are recorded in ``listing.refused``. Deeper than
    ``MAX_DEPTH`` levels is refused too.
    """
    for name in sorted(os.listdir(dir_fd)):
        if skip(name):
            continue
        rel = f"{_prefix}{decode_os_name(name)}"
        try:
            fd = _open_at(dir_fd, name)
        except UnsafeEntry as exc:
            listing.refused.append((rel, exc.strerror or str(exc)))
            continue
        except OSError:
            continue  # vanished or unreadable: the stability check sees it next time
        try:
            try:
                st = _check(fd, name)
            except UnsafeEntry as exc:
                listing.refused.append((rel, exc.strerror or str(exc)))
                continue
            if stat.S_ISDIR(st.st_mode):
                if _depth >= MAX_DEPTH:
                    listing.refused.append((rel, "folders nested too deep"))
                    continue
                yield from walk_folder(fd, listing, skip=skip, _prefix=f"{rel}/", _depth=_depth + 1)
            else:
                yield rel, fd, st
        finally:
            os.close(fd)
