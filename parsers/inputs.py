"""Any input (a dossier folder, a mail, an archive or one file) to the dossiers it holds.

This is the one entry point the daemon and ``intake check`` share. It writes extracted and
decoded files only below ``workdir`` and never raises for bad content: unreadable things come
back as facts on the dossier.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from parsers.archives import extract_archive, is_archive_path
from parsers.assemble import assemble_dossier
from parsers.classify import EXT_KINDS, FORM_KINDS, detect_kind, extension
from parsers.errors import ParseError
from parsers.facts import Attachment, DossierFacts, IntakeProblem, MailFacts, Material
from parsers.junk import is_junk_name
from parsers.materials import ParseOptions, announce, read_material, skipped_file
from parsers.mime import parse_message_file
from parsers.safe_names import safe_file_name

log = logging.getLogger("intake.parsers")


# Zip-based Office files (docx, xlsx…) are documents, not archives to open.
ARCHIVE_KINDS = frozenset({"zip", "7z", "rar"})


class InputError(ParseError):
    """The input cannot be opened at all (missing path, permission denied)."""


@dataclass
class _Collected:
    materials: list[Material] = field(default_factory=list)
    problems: list[IntakeProblem] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    archives: int = 0  # archives opened so far (names their extraction folders)
    mails: int = 0  # attached mails opened so far (names their spill folders)


def read_input(
    path: Path,
    workdir: Path,
    *,
    options: ParseOptions | None = None,
    received_at: datetime | None = None,
    display_name: str | None = None,
) -> list[DossierFacts]:
    """Read one input into dossiers (today: one dossier per input).

    - a folder: every file below it (junk names skipped, archives opened);
    - an ``.eml`` file: the mail's attachments (forwarded mails included);
    - an archive (zip, 7z, rar): its members;
    - any other file: that file alone.

    ``workdir`` receives decoded attachments and extracted members. Raises InputError only when
    ``path`` does not exist, cannot be read, or is neither a regular file nor a folder. Inside a
    folder, symbolic links and FIFOs/sockets/devices are skipped with a problem (never opened).
    """
    opts = options or ParseOptions()
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if not (path.is_file() or path.is_dir()):  # opening a FIFO blocks for ever; a device never ends
        raise InputError(f"{path}: not a regular file or folder (a FIFO, socket or device)")
    try:
        if path.is_file():
            with path.open("rb"):
                pass
    except OSError as exc:
        raise InputError(f"{path}: cannot be opened ({exc.strerror})") from exc
    workdir.mkdir(parents=True, exist_ok=True)
    name = display_name or path.name
    got = _Collected()
    mail: MailFacts | None = None
    if path.is_dir():
        files: list[tuple[str, Path]] = []
        for p in sorted(path.rglob("*")):
            rel = p.relative_to(path).as_posix()
            if p.is_symlink():
                got.problems.append(IntakeProblem("archive_link", rel, "symbolic link skipped"))
                continue
            if any(is_junk_name(part) for part in p.relative_to(path).parts) or p.is_dir():
                continue
            if not p.is_file():
                got.problems.append(IntakeProblem("archive_device", rel, "FIFO, socket or device file skipped"))
                continue
            files.append((rel, p))
        _add_files(files, workdir, opts, got)
    elif _is_mail(path):
        announce(opts, name, path, "mail")  # over budget here, the whole input fails (no sender known)
        written: list[Path] = []
        mail = parse_message_file(path, spill=_writer(workdir, "att-", written))
        got.problems.extend(mail.problems)
        got.links.extend(mail.links)
        _add_files([(att.name, dest) for att, dest in zip(mail.attachments, written[: len(mail.attachments)],
                                                           strict=True) if not att.inline], workdir, opts, got)
    else:
        _add_file(name, path, workdir, opts, got)
    source = f"mail:{mail.message_id}" if mail and mail.message_id else str(path)
    announce(opts, name, path, "assemble")  # the rest of the work, under its own budget
    dossier = assemble_dossier(
        source, got.materials, problems=got.problems, mail=mail, links=got.links, received_at=received_at
    )
    return [dossier]


def reading_order(names: list[str]) -> list[int]:
    """Indices of ``names`` in the order to read them: application forms (申报书: a form kind by
    its extension, ``parsers.classify.FORM_KINDS``) first, then the rest, each group in the
    given order. Once an input has spent its allowance ([budgets] input_s, input_files) the files
    not yet read stay unread, and without its 申报书 nobody knows whose dossier it is. The
    materials are kept in the given order."""
    return sorted(range(len(names)), key=lambda i: (EXT_KINDS.get(extension(names[i])) not in FORM_KINDS, i))


def _add_files(files: list[tuple[str, Path]], workdir: Path, opts: ParseOptions, got: _Collected) -> None:
    """Add ``files`` (name, path), read in :func:`reading_order`, their materials in list order."""
    added: dict[int, list[Material]] = {}
    kept = got.materials
    try:
        for i in reading_order([name for name, _ in files]):
            got.materials = []
            _add_file(files[i][0], files[i][1], workdir, opts, got)
            added[i] = got.materials
    finally:
        got.materials = kept
    for i in range(len(files)):
        kept.extend(added.get(i, []))


def _add_file(name: str, path: Path, workdir: Path, opts: ParseOptions, got: _Collected) -> None:
    """Add one file; an archive is opened and its members are added instead."""
    if is_junk_name(Path(name).name):
        return
    if is_archive_path(path) and (kind := detect_kind(path, name)) in ARCHIVE_KINDS:
        if (skip := announce(opts, name, path, kind)) is not None:
            got.materials.append(skipped_file(name, path, kind, skip))
            return
        got.archives += 1
        dest = workdir / f"x-{got.archives}"
        result = extract_archive(path, dest, display_name=name, limits=opts.archive_limits)
        got.problems.extend(result.problems)
        if not result.readable:
            material = read_material(name, path, opts)
            material.readable = False
            material.problem = result.problem or "corrupt"
            material.detail = result.detail
            got.materials.append(material)
            return
        read: dict[int, Material] = {}
        for i in reading_order([m.name for m in result.members]):
            read[i] = read_material(result.members[i].name, result.members[i].path, opts)
        got.materials.extend(read[i] for i in range(len(result.members)))
        return
    if _is_mail(path) and path.stat().st_size < 64 * 1024 * 1024:
        if (skip := announce(opts, name, path, "eml")) is not None:
            got.materials.append(skipped_file(name, path, "eml", skip))
            return
        written: list[Path] = []
        got.mails += 1
        inner = parse_message_file(path, spill=_writer(workdir, f"eml-{got.mails}-", written))
        if not inner.headers and not inner.attachments:
            # Not a mail at all (text sent as message/rfc822): the file itself is the material.
            got.materials.append(read_material(name, path, opts))
            return
        got.problems.extend(inner.problems)
        got.links.extend(inner.links)
        _add_files([(att.name, dest) for att, dest in zip(inner.attachments, written[: len(inner.attachments)],
                                                           strict=True) if not att.inline], workdir, opts, got)
        return
    got.materials.append(read_material(name, path, opts))


def _writer(workdir: Path, prefix: str, written: list[Path]):
    """A ``parse_message`` spill: the i-th attachment's bytes go to ``<prefix><i>/<safe name>``
    below ``workdir`` as soon as they are decoded (the mail's bytes are then let go); the paths
    are appended to ``written`` in attachment order."""

    def spill(att: Attachment) -> None:
        i = len(written)
        dest = workdir / f"{prefix}{i}" / _safe_name(att.name, f"attachment-{i}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(att.data)
        written.append(dest)

    return spill


def _is_mail(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".eml"


def _safe_name(name: str, fallback: str) -> str:
    """The last component of a decoded attachment name, safe on disk (``parsers/safe_names.py``)."""
    return safe_file_name(name.replace("\\", "/").split("/")[-1], fallback)
