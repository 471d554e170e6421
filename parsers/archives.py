"""Safe extraction of zip, 7z and rar archives: decoded names, no writes outside ``dest``, bounded size."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from parsers.charsets import decode_raw
from parsers.facts import IntakeProblem
from parsers.junk import is_junk_name
from parsers.safe_names import safe_file_name, unused_path

log = logging.getLogger("intake.archives")

GIB = 1024**3
CHUNK = 1024 * 1024  # bytes copied per read while streaming a member out
RATIO_FLOOR = 1024 * 1024  # bytes: below this much output the compression ratio is not judged

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # empty archive
    (b"PK\x07\x08", "zip"),  # spanned-archive marker before the first local header
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07\x00", "rar"),  # RAR 1.5-4.x
    (b"Rar!\x1a\x07\x01\x00", "rar"),  # RAR 5
)


# Zip-based document formats: zip magic bytes, but a document, never a nested archive to open.
ZIP_DOCUMENT_SUFFIXES: frozenset[str] = frozenset({
    ".docx", ".docm", ".dotx", ".dotm", ".xlsx", ".xlsm", ".xltx", ".xltm", ".xlam", ".pptx", ".pptm",
    ".potx", ".ppsx", ".odt", ".ods", ".odp", ".odg", ".ott", ".ofd", ".epub", ".xps", ".oxps", ".vsdx",
    ".3mf", ".jar", ".apk", ".ipa", ".whl", ".kmz", ".numbers", ".pages", ".key", ".et", ".dps", ".wpt",
})


def is_nested_archive(path: Path, name: str) -> str | None:
    """Like ``is_archive_path``, but None for zip-based documents (by ``name``'s suffix: .docx,
    .xlsx, .odt, .ofd…), which must be read as documents, not opened as archives."""
    kind = _magic_kind(path)
    if kind == "zip" and Path(name.replace("\\", "/")).suffix.lower() in ZIP_DOCUMENT_SUFFIXES:
        return None
    return kind


@dataclass
class ArchiveLimits:
    """Bounds on one extraction, nested archives included.

    ``max_total_bytes`` counts bytes written; ``max_ratio`` is output bytes per compressed byte
    (judged once a member or the archive has produced ``RATIO_FLOOR`` bytes); ``max_depth``
    counts the outer archive as level 1. ``max_growth``: bytes written in all (nested archives
    included) per byte of the outer archive, but at least ``growth_floor_bytes``; over it the
    archive is refused whole (``archive_growth``, no member kept): 250 members each just under
    ``max_ratio`` must not add a gigabyte to the permanent archive for 6 MB of input.
    """

    max_members: int = 2000
    max_total_bytes: int = 5 * GIB
    max_ratio: int = 200
    max_depth: int = 3
    max_growth: int | None = 20
    growth_floor_bytes: int = 64 * 1024 * 1024


@dataclass
class ExtractedFile:
    """One extracted member: decoded name (``inner.zip!/a.docx`` for nested ones), where its
    bytes are, size in bytes and sha256 hex."""

    name: str
    path: Path
    size: int
    sha256: str


@dataclass
class ArchiveResult:
    """What came out of an archive.

    ``readable=False`` with ``problem`` (``corrupt``, ``encrypted``, ``unsupported``) and
    ``detail`` when the archive as a whole could not be opened. ``problems`` lists what was
    skipped or stopped (``IntakeProblem.kind`` from ``parsers/facts.py``: ``archive_traversal``,
    ``archive_link``, ``archive_device``, ``archive_bomb``, ``archive_too_deep``,
    ``archive_too_many``, ``archive_encrypted``, ``archive_corrupt``, ``archive_unsupported``).
    """

    readable: bool
    members: list[ExtractedFile] = field(default_factory=list)
    problems: list[IntakeProblem] = field(default_factory=list)
    problem: str | None = None
    detail: str | None = None


class _Stop(Exception):
    """Ends the whole extraction (bomb, too many members): the archive is hostile."""

    def __init__(self, kind: str, where: str, detail: str) -> None:
        super().__init__(detail)
        self.problem = IntakeProblem(kind, where, detail)


@dataclass
class _Budget:
    limits: ArchiveLimits
    members: int = 0
    written: int = 0
    growth_cap: int | None = None  # bytes, from max_growth and the outer archive's size


def is_archive_path(path: Path) -> str | None:
    """``"zip"``, ``"7z"`` or ``"rar"`` from the file's magic bytes, else None (also when unreadable).

    Zip-based documents are not archives: a file with zip magic whose own suffix is in
    ``ZIP_DOCUMENT_SUFFIXES`` (.docx, .xlsx, .odt, .ofd…) gives None. Use ``is_nested_archive``
    when the decoded name differs from the path on disk.
    """
    kind = _magic_kind(path)
    if kind == "zip" and Path(path).suffix.lower() in ZIP_DOCUMENT_SUFFIXES:
        return None
    return kind


def _magic_kind(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return None


# --- names -------------------------------------------------------------------------------------


def _unicode_path_extra(info: zipfile.ZipInfo) -> str | None:
    """The Info-ZIP Unicode Path extra field (0x7075, APPNOTE 4.6.9) when present and current."""
    extra = info.extra or b""
    i = 0
    while i + 4 <= len(extra):
        hid, size = struct.unpack("<HH", extra[i : i + 4])
        body = extra[i + 4 : i + 4 + size]
        if hid == 0x7075 and len(body) >= 5 and body[0] == 1:
            crc = struct.unpack("<I", body[1:5])[0]
            raw = info.orig_filename.encode("cp437", "replace")
            if crc == zlib.crc32(raw) & 0xFFFFFFFF:
                try:
                    return body[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
        i += 4 + size
    return None


def _zip_member_name(info: zipfile.ZipInfo) -> str:
    """Decoded zip member name: UTF-8 flag (bit 11), else the Unicode Path extra field, else the raw
    bytes as strict UTF-8, else GB18030 (Windows' built-in zipper writes the ANSI code page)."""
    if info.flag_bits & 0x800:
        return info.filename
    unicode_path = _unicode_path_extra(info)
    if unicode_path:
        return unicode_path
    try:
        raw = info.orig_filename.encode("cp437")
    except UnicodeEncodeError:
        return info.orig_filename
    return decode_raw(raw)


def _unsafe_reason(name: str) -> str | None:
    """Why a member path would land outside the destination, or None when it is safe.

    Backslashes count as separators (Windows-made archives, ZIP Slip with ``..\\``).
    """
    if "\x00" in name:
        return "member name holds a NUL byte"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or name.startswith("//"):
        return "absolute path"
    parts = re.split(r"[\\/]+", name)
    if any(p == ".." for p in parts):
        return "parent-directory (..) component"
    return None


def _target_for(dest: Path, name: str) -> Path:
    """A new path under ``dest`` for member ``name``: sanitised components, never an existing file."""
    parts = [safe_file_name(p) for p in re.split(r"[\\/]+", name) if p not in ("", ".")] or ["_"]
    folder = dest.joinpath(*parts[:-1])
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a file already holds a folder's name: put it at the top level instead
        folder = dest
    target = unused_path(folder, parts[-1])
    root = dest.resolve()
    if not target.resolve().is_relative_to(root):  # belt and braces: no symlinked folder in between
        raise _Stop("archive_traversal", name, "resolved path leaves the destination")
    return target


# --- streaming a member out --------------------------------------------------------------------


class _Sink:
    """Writes one member to disk in chunks while hashing and enforcing the size/ratio limits."""

    def __init__(self, target: Path, name: str, budget: _Budget, compressed: int | None, archive_out: list[int],
                 archive_size: int) -> None:
        self.target = target
        self.name = name
        self.budget = budget
        self.compressed = compressed
        self.archive_out = archive_out  # one-element counter of bytes out of this archive
        self.archive_size = archive_size
        self.hash = hashlib.sha256()
        self.size = 0
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        self.fd = os.open(target, flags, 0o600)

    def write(self, chunk: bytes) -> None:
        limits = self.budget.limits
        self.size += len(chunk)
        self.budget.written += len(chunk)
        self.archive_out[0] += len(chunk)
        if self.budget.written > limits.max_total_bytes:
            raise _Stop("archive_bomb", self.name, f"more than {limits.max_total_bytes} bytes would be extracted")
        if self.budget.growth_cap is not None and self.budget.written > self.budget.growth_cap:
            raise _Stop("archive_growth", self.name,
                        f"more than {limits.max_growth}x the archive's size would be extracted")
        if self.size > RATIO_FLOOR and self.compressed is not None and self.size > limits.max_ratio * max(self.compressed, 1):
            raise _Stop("archive_bomb", self.name, f"compression ratio above {limits.max_ratio}:1")
        if self.archive_out[0] > RATIO_FLOOR and self.archive_out[0] > limits.max_ratio * max(self.archive_size, 1):
            raise _Stop("archive_bomb", self.name, f"archive expands more than {limits.max_ratio}:1")
        self.hash.update(chunk)
        view = memoryview(chunk)
        while view:
            view = view[os.write(self.fd, view) :]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def discard(self) -> None:
        self.close()
        try:
            os.unlink(self.target)
        except OSError:
            pass


@dataclass
class _Entry:
    """One archive member as the format reader sees it."""

    name: str  # decoded, as stored (may be unsafe)
    kind: str  # file | dir | link | device
    encrypted: bool
    size: int | None  # declared uncompressed bytes
    compressed: int | None
    open: Callable[[], IO[bytes]] | None = None


class _Job:
    """One archive being extracted into ``dest`` (possibly nested in another)."""

    def __init__(self, path: Path, dest: Path, budget: _Budget, depth: int, result: ArchiveResult) -> None:
        self.path = path
        self.dest = dest
        self.budget = budget
        self.depth = depth
        self.result = result
        self.archive_out = [0]
        try:
            self.archive_size = path.stat().st_size
        except OSError:
            self.archive_size = 0
        self.encrypted_seen = 0
        self.files_seen = 0

    def admit(self, entry: _Entry) -> Path | None:
        """Where to write ``entry``, or None (skipped, with a problem when it matters)."""
        problems = self.result.problems
        if entry.kind == "dir":
            return None
        self.budget.members += 1
        if self.budget.members > self.budget.limits.max_members:
            raise _Stop("archive_too_many", entry.name, f"more than {self.budget.limits.max_members} members")
        if is_junk_name(entry.name):
            return None
        reason = _unsafe_reason(entry.name)
        if reason:
            problems.append(IntakeProblem("archive_traversal", entry.name, reason))
            return None
        if entry.kind == "link":
            problems.append(IntakeProblem("archive_link", entry.name, "symbolic or hard link member not extracted"))
            return None
        if entry.kind == "device":
            problems.append(IntakeProblem("archive_device", entry.name, "device, FIFO or socket member not extracted"))
            return None
        self.files_seen += 1
        if entry.encrypted:
            self.encrypted_seen += 1
            problems.append(IntakeProblem("archive_encrypted", entry.name, "member is password-protected"))
            return None
        limits = self.budget.limits
        if entry.size is not None and entry.size > limits.max_total_bytes - self.budget.written:
            raise _Stop("archive_bomb", entry.name, f"declared size {entry.size} bytes exceeds the extraction budget")
        return _target_for(self.dest, entry.name)

    def sink(self, target: Path, entry: _Entry) -> _Sink:
        return _Sink(target, entry.name, self.budget, entry.compressed, self.archive_out, self.archive_size)

    def finish(self, entry: _Entry, sink: _Sink) -> None:
        """Record a written member; open it when it is itself an archive (up to ``max_depth``)."""
        sink.close()
        member = ExtractedFile(entry.name, sink.target, sink.size, sink.hash.hexdigest())
        kind = is_nested_archive(sink.target, entry.name)
        if kind is None:
            self.result.members.append(member)
            return
        if self.depth >= self.budget.limits.max_depth:
            self.result.problems.append(IntakeProblem(
                "archive_too_deep", entry.name, f"archive nested deeper than {self.budget.limits.max_depth} levels not opened"))
            self.result.members.append(member)
            return
        inner_dest = sink.target.parent / f"{sink.target.name}.contents"
        n = 1
        while os.path.lexists(inner_dest):
            n += 1
            inner_dest = sink.target.parent / f"{sink.target.name}.contents{n}"
        inner = _extract(sink.target, inner_dest, self.budget, self.depth + 1)
        for p in inner.problems:
            self.result.problems.append(IntakeProblem(p.kind, f"{entry.name}!/{p.where}", p.detail))
        if not inner.readable:
            self.result.members.append(member)
            return
        for m in inner.members:
            self.result.members.append(ExtractedFile(f"{entry.name}!/{m.name}", m.path, m.size, m.sha256))
        try:  # the container's bytes are no material once its members are out
            sink.target.unlink()
        except OSError:
            pass

    def stream(self, entry: _Entry) -> None:
        """Admit, copy and finish one member read through ``entry.open``."""
        target = self.admit(entry)
        if target is None or entry.open is None:
            return
        sink = self.sink(target, entry)
        try:
            with entry.open() as src:
                while True:
                    chunk = src.read(CHUNK)
                    if not chunk:
                        break
                    sink.write(chunk)
        except _Stop:
            sink.discard()
            raise
        except NotImplementedError as exc:
            sink.discard()
            self.result.problems.append(IntakeProblem("archive_unsupported", entry.name, str(exc)[:300]))
            return
        except Exception as exc:  # noqa: BLE001 - zlib/CRC/EOF/library errors: translated here
            sink.discard()
            if _looks_encrypted(exc):
                self.encrypted_seen += 1
                self.result.problems.append(IntakeProblem("archive_encrypted", entry.name, "member is password-protected"))
            else:
                self.result.problems.append(IntakeProblem("archive_corrupt", entry.name, f"{type(exc).__name__}: {exc}"[:300]))
            return
        self.finish(entry, sink)


def _looks_encrypted(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return "password" in text or "encrypt" in text


# --- formats -----------------------------------------------------------------------------------


def _zip_kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    if info.is_dir():
        return "dir"
    if mode:
        if stat.S_ISLNK(mode):
            return "link"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            return "device"
    return "file"


def _extract_zip(job: _Job) -> None:
    with zipfile.ZipFile(job.path) as zf:
        for info in zf.infolist():
            entry = _Entry(
                name=_zip_member_name(info), kind=_zip_kind(info), encrypted=bool(info.flag_bits & 0x1),
                size=info.file_size, compressed=info.compress_size,
                open=lambda info=info: zf.open(info),
            )
            job.stream(entry)


class _SevenZipWriter:
    """py7zr writer (``Py7zIO`` protocol) that feeds a ``_Sink``; unknown names are discarded."""

    def __init__(self, sink: _Sink | None) -> None:
        self._sink = sink
        self._size = 0

    def write(self, s: bytes | bytearray) -> int:
        if self._sink is not None:
            self._sink.write(bytes(s))
        self._size += len(s)
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return self._size

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()


def _extract_7z(job: _Job) -> None:
    import py7zr
    from py7zr.io import Py7zIO, WriterFactory

    class Writer(_SevenZipWriter, Py7zIO):  # type: ignore[misc]
        pass

    with py7zr.SevenZipFile(job.path, mode="r") as sz:
        encrypted = sz.needs_password()
        planned: dict[str, tuple[_Entry, Path]] = {}
        opened: dict[str, _Sink] = {}

        class Factory(WriterFactory):
            # Sinks open lazily, one file descriptor at a time, as py7zr reaches each member.
            def create(self, filename: str) -> Py7zIO:
                hit = planned.get(filename)
                if hit is None or filename in opened:
                    return Writer(None)
                opened[filename] = job.sink(hit[1], hit[0])
                return Writer(opened[filename])

        for f in sz.files:
            mode = f.st_fmt or 0
            if f.is_directory:
                kind = "dir"
            elif f.is_symlink or f.is_junction:
                kind = "link"
            elif f.is_socket or (mode and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode))):
                kind = "device"
            else:
                kind = "file"
            if kind == "file" and f.filename in planned:  # duplicate name: py7zr renames the later one
                continue
            entry = _Entry(f.filename, kind, encrypted, f.uncompressed, None)
            target = job.admit(entry)
            if target is not None:
                planned[f.filename] = (entry, target)
        if not planned:
            return
        try:
            sz.extract(targets=list(planned), factory=Factory())
        except _Stop:
            for sink in opened.values():
                sink.discard()
            raise
        except Exception as exc:  # noqa: BLE001 - py7zr errors (corrupt data, unsupported filter)
            for sink in opened.values():
                sink.discard()
            kind = "archive_encrypted" if _looks_encrypted(exc) else "archive_corrupt"
            job.result.problems.append(IntakeProblem(kind, job.path.name, f"{type(exc).__name__}: {exc}"[:300]))
            if kind == "archive_encrypted":
                job.encrypted_seen = job.files_seen
            return
        for name, (entry, target) in planned.items():
            sink = opened.get(name) or job.sink(target, entry)  # empty members are never written
            job.finish(entry, sink)


def _extract_rar(job: _Job) -> None:
    import rarfile

    with rarfile.RarFile(str(job.path)) as rf:
        for info in rf.infolist():
            mode = getattr(info, "mode", 0) or 0
            if info.is_dir():
                kind = "dir"
            elif info.is_symlink():
                kind = "link"
            elif mode and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
                kind = "device"
            else:
                kind = "file"
            entry = _Entry(
                name=info.filename, kind=kind, encrypted=bool(info.needs_password()),
                size=info.file_size, compressed=info.compress_size,
                open=lambda info=info: rf.open(info),
            )
            job.stream(entry)


def _rar_backend() -> str | None:
    """None when rarfile can run an unrar-compatible tool, else why not."""
    try:
        import rarfile

        rarfile.tool_setup()
    except Exception as exc:  # noqa: BLE001 - RarCannotExec and import errors
        return f"no RAR extractor installed (unrar, unar, bsdtar or 7z): {exc}"[:300]
    return None


_READERS: dict[str, Callable[[_Job], None]] = {"zip": _extract_zip, "7z": _extract_7z, "rar": _extract_rar}


def _extract(path: Path, dest: Path, budget: _Budget, depth: int) -> ArchiveResult:
    result = ArchiveResult(readable=True)
    kind = _magic_kind(path)
    if kind is None:
        return ArchiveResult(False, problem="unsupported", detail="not a zip, 7z or rar archive (magic bytes)")
    if kind == "rar":
        why = _rar_backend()
        if why:
            return ArchiveResult(False, problems=[IntakeProblem("archive_unsupported", path.name, why)],
                                 problem="unsupported", detail=why)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return ArchiveResult(False, problem="corrupt", detail=f"cannot create destination: {exc}")
    job = _Job(path, dest, budget, depth, result)
    try:
        _READERS[kind](job)
    except _Stop as stop:
        result.problems.append(stop.problem)
        log.warning("archive %s stopped: %s %s", path.name, stop.problem.kind, stop.problem.detail)
    except Exception as exc:  # noqa: BLE001 - the format library could not open it at all
        detail = f"{type(exc).__name__}: {exc}"[:300]
        if _looks_encrypted(exc):
            return ArchiveResult(False, problems=result.problems + [IntakeProblem("archive_encrypted", path.name, detail)],
                                 members=result.members, problem="encrypted", detail=detail)
        return ArchiveResult(False, problems=result.problems + [IntakeProblem("archive_corrupt", path.name, detail)],
                             members=result.members, problem="corrupt", detail=detail)
    if job.files_seen and job.encrypted_seen == job.files_seen and not result.members:
        result.readable = False
        result.problem = "encrypted"
        result.detail = "every member is password-protected"
    return result


def extract_archive(
    path: Path, dest: Path, *, display_name: str = "", limits: ArchiveLimits | None = None
) -> ArchiveResult:
    """Extract a zip/7z/rar archive at ``path`` into the folder ``dest`` (created if needed).

    Members are streamed in ``CHUNK``-byte pieces while hashed; ``limits`` bound the member
    count, the total bytes written and the compression ratio across nested archives. Names are
    decoded per member (zip: UTF-8 flag, else strict UTF-8, else GB18030) and kept in
    ``ExtractedFile.name``; files land under ``dest`` with sanitised names. Nested archives are
    opened up to ``limits.max_depth`` levels and replaced by their members, named
    ``<member path of the inner archive>!/<inner member path>`` (the outer archive's own name is
    not a prefix). Junk names (``parsers/junk.py``) are skipped silently. ZIP Slip members
    (``..``, absolute, drive or backslash paths), links and devices are skipped with a problem
    (CWE-22; Snyk's ZIP Slip advisory). RAR needs an unrar-compatible tool; without one the
    result is ``unsupported``. ``display_name`` names the archive in log lines.
    Never raises on bad input; an unreadable archive is ``readable=False``.
    """
    limits = limits or ArchiveLimits()
    budget = _Budget(limits)
    if limits.max_growth is not None:
        try:
            size = Path(path).stat().st_size
        except OSError:
            size = 0
        budget.growth_cap = max(limits.growth_floor_bytes, limits.max_growth * size)
    try:
        result = _extract(Path(path), Path(dest), budget, 1)
    except Exception as exc:  # noqa: BLE001 - the contract is facts, never exceptions
        log.exception("archive %s: unexpected error", display_name or Path(path).name)
        return ArchiveResult(False, problem="corrupt", detail=f"{type(exc).__name__}: {exc}"[:300])
    if any(p.kind == "archive_growth" for p in result.problems):
        result.members = []  # refused whole: nothing of it is read or kept
        shutil.rmtree(dest, ignore_errors=True)
    if result.problems:
        log.info("archive %s: %s", display_name or Path(path).name, [(p.kind, p.where) for p in result.problems])
    return result
