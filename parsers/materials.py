"""One file in, one Material out: hash it, tell what it is from its bytes, and read its facts."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from parsers.archives import ArchiveLimits
from parsers.classify import EXT_KINDS, detect_kind, extension, is_forbidden_kind, role_for
from parsers.facts import Material
from parsers.ffprobe_locate import FfprobeTool
from parsers.forms import read_form
from parsers.ofd import read_ofd
from parsers.scans import read_scan
from parsers.tables import read_table
from parsers.video import probe_video

log = logging.getLogger("intake.parsers")

CHUNK = 1024 * 1024  # bytes hashed per step


@dataclass
class ParseOptions:
    """Limits and tools for the parsers (from ``[parsing]`` in the config)."""

    ffprobe: str | None = None  # path to ffprobe; None: found on PATH or from the ffmpeg extra
    ffprobe_bundled: bool = True  # False: PATH only, never the ffmpeg extra's binary
    probe_timeout_s: float = 60.0
    convert_timeout_s: float = 90.0
    archive_limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    # Called before a file is read, with (name, path, content kind); a problem slug it returns
    # (``too_costly``) is recorded on the file instead of reading it. The parse worker uses it to
    # time each file against its budget (bot/processing/parse_worker.py).
    before_file: Callable[[str, Path, str], str | None] | None = None
    ffprobe_max_bytes: int | None = None  # address-space limit of ffprobe (RLIMIT_AS), bytes
    # The ffprobe found by the caller (``parsers.ffprobe_locate``), so a fresh worker process
    # does not run ``ffprobe -version`` again for each input (~70 ms); None: located per probe.
    ffprobe_tool: FfprobeTool | None = None


def announce(opts: ParseOptions, name: str, path: Path, kind: str) -> str | None:
    """``opts.before_file(name, path, kind)`` when set: the problem slug to record instead, or None."""
    return opts.before_file(name, path, kind) if opts.before_file is not None else None


def sha256_file(path: Path) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of a file, streamed in 1 MiB chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def read_material(name: str, path: Path, options: ParseOptions | None = None) -> Material:
    """Facts about one file: sha256, size, kind (from the bytes), role and the role's facts.

    ``name`` is the decoded original name to report. Never raises for a bad file: an unreadable
    file comes back with ``readable=False`` and a ``problem`` slug (``parsers/facts.py``); a
    file whose name claims a dossier role its bytes cannot play gets that role and ``mismatch``.
    """
    opts = options or ParseOptions()
    kind = detect_kind(path, name)
    skip = announce(opts, name, path, kind)
    sha, size = sha256_file(path)
    material = Material(name=name, path=path, sha256=sha, size=size)
    try:
        material.kind = kind
        material.role = role_for(material.kind, name)
        if skip is not None:  # its parse ran over budget before: the file is named, not read again
            return skipped(material, skip)
        if size == 0:
            material.readable, material.problem, material.detail = False, "empty", "the file is empty"
            return material
        claimed = claimed_role(material.kind, name)
        if claimed is not None:  # 项目视频.mp4 holding text: the file the applicant meant is not there
            material.role = claimed
            material.readable, material.problem = False, "mismatch"
            material.detail = f"named .{extension(name)} but the bytes are {material.kind}"
            return material
        if is_forbidden_kind(material.kind):
            material.problem = "forbidden"
            material.detail = f"{material.kind} files are not accepted"
            if material.role == "other":
                return material
        _read_role_facts(material, path, opts)
    except Exception as exc:  # a parser bug must not stop the intake: record it on the file
        log.exception("reading %s failed", name)
        material.readable, material.problem = False, "corrupt"
        material.detail = f"{type(exc).__name__}: {exc}"
    return material


def skipped(material: Material, problem: str) -> Material:
    """``material`` marked unread with ``problem`` (``too_costly``: over the parse budget)."""
    material.readable, material.problem = False, problem
    material.detail = "reading this file ran over the desk's time or memory budget"
    return material


def skipped_file(name: str, path: Path, kind: str, problem: str) -> Material:
    """A Material for a file not read at all (hashed only), marked with ``problem``."""
    sha, size = sha256_file(path)
    material = Material(name=name, path=path, sha256=sha, size=size, kind=kind)
    material.role = role_for(kind, name)
    return skipped(material, problem)


# Content kinds that are never a dossier material whatever their name says.
_NOT_MATERIAL_KINDS = frozenset({"text", "image", "eml", "unknown"})


def claimed_role(kind: str, name: str) -> str | None:
    """The role a file's name claims when its bytes are no such thing, else None.

    ``项目视频.mp4`` whose bytes are text, ``申报书.docx`` that is a picture: the name claims a
    dossier role (form, scan, video, table) that the content kind (``detect_kind``) cannot play.
    """
    if kind not in _NOT_MATERIAL_KINDS:
        return None
    claimed = role_for(EXT_KINDS.get(extension(name), "unknown"), name)
    return claimed if claimed != "other" else None


def _read_role_facts(material: Material, path: Path, opts: ParseOptions) -> None:
    facts = None
    if material.role == "application_form":
        facts = material.form = read_form(
            path, kind=material.kind, convert_timeout_s=opts.convert_timeout_s
        )
    elif material.role == "scanned_copy":
        facts = material.scan = read_ofd(path) if material.kind == "ofd" else read_scan(path)
    elif material.role == "video":
        facts = material.video = probe_video(
            path, timeout_s=opts.probe_timeout_s, ffprobe=opts.ffprobe, bundled=opts.ffprobe_bundled,
            max_bytes=opts.ffprobe_max_bytes, tool=opts.ffprobe_tool,
        )
    elif material.role == "summary_table":
        facts = material.table = read_table(path, kind=material.kind)
    if facts is not None and not facts.readable:
        material.readable = False
        material.problem = material.problem or facts.problem
        material.detail = material.detail or facts.detail
