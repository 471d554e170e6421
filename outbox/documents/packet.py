"""The consolidated packet for the next level: folder layout, manifest, split into mail parts, discs.

Layout of ``<out>/<packet id>/``:

- ``汇总表.xlsx`` (附件3 layout, ``outbox/documents/summary_table.py``) and ``汇总表.pdf`` when LibreOffice
  is installed; ``推荐报告.docx``, a draft recommendation report the officers complete;
- one folder per recommended dossier, ``<序号 two digits>-<申报单位简称>/``, holding the editable
  申报书, the full scan and the video, fetched from the archive by sha256;
- ``manifest.json``: packet id, unit, level, each dossier's tracking number, facts and findings,
  and the sha256 and size (bytes) of every file (the manifest itself excepted).

Sending (notice 三（一）: the next level receives tables and materials electronically): a packet
larger than one mail is split into parts, each carrying ``manifest.json`` and one zip
``<packet id>-<k>of<n>.zip``; already compressed kinds (video, PDF, docx/xlsx, images, archives)
are stored uncompressed (ZIP_STORED), other files deflated. A file too big for one part is cut
into pieces named ``<path>.001``, ``.002``… that the receiver joins in order
(:func:`assemble_parts`).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from outbox.documents.packet_plan import PacketEntry, PacketPlan
from outbox.documents.recommendation_report import write_report
from outbox.documents.summary_table import write_summary_table
from outbox.errors import OutboxError
from parsers.safe_names import safe_file_name

log = logging.getLogger("intake.packet")

MANIFEST = "manifest.json"
TABLE = "汇总表.xlsx"
TABLE_PDF = "汇总表.pdf"
REPORT = "推荐报告.docx"
ROLE_FILE_NAMES = {"application_form": "申报书", "scanned_copy": "全套扫描件", "video": "项目视频"}
PACKET_ROLES = tuple(ROLE_FILE_NAMES)
BASE64_FACTOR = 78 / 57  # base64 in 76-character lines with CRLF: 4/3 · 78/76
MAIL_OVERHEAD = 24 * 1024  # bytes kept for headers, the text body and MIME boundaries
ZIP_MEMBER_OVERHEAD = 200  # bytes of local + central headers per member, names excluded
_PIECE = re.compile(r"^(.*)\.([0-9]{3})$")
_SUFFIXES = ("股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "集团", "公司")
_PLACE = re.compile(r"^(.{2,3}?(省|自治区|市))")


class PacketError(OutboxError):
    """A packet cannot be built or put back together (message names the file)."""


def short_name(name: str) -> str:
    """An applicant's 简称 for folder names and disc labels: legal-form suffix and leading
    province/city dropped (``武汉示例智能制造有限公司`` → ``示例智能制造``), at most 16 characters."""
    s = (name or "").strip()
    for suffix in _SUFFIXES:
        if s.endswith(suffix) and len(s) > len(suffix) + 1:
            s = s[: -len(suffix)]
            break
    m = _PLACE.match(s)
    if m and len(s) - len(m.group(1)) >= 2:
        s = s[len(m.group(1)):]
    elif len(s) > 4 and s[:2] in ("武汉", "北京", "上海", "天津", "重庆", "广州", "深圳", "杭州", "南京"):
        s = s[2:]
    s = re.sub(r'[\\/:*?"<>|\s]', "", s)
    return s[:16] or "申报单位"


# How bureaus shorten their own names (the place stays: "经信局" alone could be any city's).
_UNIT_ABBREVIATIONS = (
    ("经济和信息化委员会", "经信委"), ("经济和信息化局", "经信局"), ("经济和信息化厅", "经信厅"),
    ("工业和信息化局", "工信局"), ("工业和信息化厅", "工信厅"), ("工业和信息化委员会", "工信委"),
)


def unit_short_name(unit: str) -> str:
    """An office's 简称 for the manifest and disc labels, place kept:
    ``武汉市经济和信息化局`` → ``武汉市经信局``."""
    s = re.sub(r'[\\/:*?"<>|\s]', "", (unit or "").strip())
    for long, short in _UNIT_ABBREVIATIONS:
        if s.endswith(long):
            return s[: -len(long)] + short
    return s[:16] or "推荐单位"


def folder_names(entries: Sequence[PacketEntry]) -> list[str]:
    """``01-<简称>`` per entry; when one applicant has several projects, each also gets its
    project name (the part the projects do not share, at most 10 characters)."""
    by_short: dict[str, list[int]] = {}
    for i, e in enumerate(entries):
        by_short.setdefault(e.short_name, []).append(i)
    names = [f"{i:02d}-{e.short_name}" for i, e in enumerate(entries, 1)]
    for indices in by_short.values():
        if len(indices) < 2:
            continue
        projects = [re.sub(r'[\\/:*?"<>|\s]', "", entries[i].row.project_name or "") for i in indices]
        common = len(os.path.commonprefix(projects))
        for i, project in zip(indices, projects, strict=True):
            tail = project[common:] or project or entries[i].tracking
            names[i] = f"{names[i]}-{tail[:10]}"
    return [safe_file_name(n) for n in names]  # names from the forms: no control character survives


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def build_packet(
    out_dir: Path,
    plan: PacketPlan,
    fetch: Callable[[str], Path],
    *,
    extra_findings: Sequence[dict] = (),
) -> Path:
    """Write the packet folder ``out_dir/<packet id>/`` and return it (rewritten when present).

    ``fetch(sha256)`` returns the archived file with those bytes. Raises PacketError when an
    archived file is missing or does not hash to its name.
    """
    root = out_dir / plan.packet_id
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    # The table that goes upstream lists the recommended projects only (附件3); the projects over
    # the quota and those still defective stay on this level (`intake summary` lists them).
    write_summary_table(root / TABLE, [e.row for e in plan.recommended], title=plan.title, unit=plan.unit)
    _pdf_of(root / TABLE)
    write_report(root / REPORT, plan)
    dossiers = []
    for seq, (entry, folder) in enumerate(zip(plan.recommended, folder_names(plan.recommended), strict=True), 1):
        (root / folder).mkdir()
        files = []
        used: set[str] = set()
        for m in entry.materials:
            src = fetch(m.sha256)
            if not src.is_file():
                raise PacketError(f"{entry.tracking}: {m.name} is not in the archive ({m.sha256[:12]})")
            # The applicant's name gives the extension ("全套扫描件.pdf " from a zip), so the
            # result is cleaned like any name from outside: the level above refuses the packet
            # whole over one name its rule would change (bot/upstream/packet_intake.py).
            plain = safe_file_name(
                ROLE_FILE_NAMES.get(m.role, Path(m.name).stem) + Path(m.name.rsplit("!/", 1)[-1]).suffix.lower()
            )
            stem, dot, ext = plain.rpartition(".")
            base, ext = (stem, dot + ext) if dot and stem else (plain, "")
            name, n = plain, 2
            while name in used:
                name, n = f"{base}-{n}{ext}", n + 1
            used.add(name)
            dest = root / folder / name
            shutil.copyfile(src, dest)
            if sha256_file(dest) != m.sha256:
                raise PacketError(f"{entry.tracking}: archived {m.name} does not match its sha256")
            files.append({"path": f"{folder}/{name}", "role": m.role, "name": m.name,
                          "sha256": m.sha256, "size": m.size})
        dossiers.append({
            "seq": seq, "tracking": entry.tracking, "folder": folder, "short_name": entry.short_name,
            "facts": entry.facts, "verdict": entry.verdict, "findings": entry.findings,
            "files": files,
        })
    manifest = {
        "format": "dossier-intake packet 1",
        "packet_id": plan.packet_id,
        "campaign": plan.campaign_name,
        "unit": plan.unit,
        "unit_short": plan.unit_short,
        "division_code": plan.division_code,
        "level": plan.level,
        "created_at": plan.created_at,
        "table": TABLE,
        "report": REPORT,
        "dossiers": dossiers,
        "not_recommended": [
            {"tracking": e.tracking, "project_name": e.row.project_name, "findings": e.findings}
            for e in plan.not_recommended
        ],
        "defective": [{"tracking": e.tracking, "project_name": e.row.project_name,
                       "defects": problems} for e, problems in plan.defective],
        "findings": list(extra_findings),
        "files": [
            {"path": p.relative_to(root).as_posix(), "sha256": sha256_file(p), "size": p.stat().st_size}
            for p in sorted(root.rglob("*")) if p.is_file()
        ],
    }
    (root / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    log.info("packet %s built: %d dossier(s), %d file(s)", plan.packet_id, len(dossiers),
             len(manifest["files"]))
    return root


def _pdf_of(xlsx: Path) -> Path | None:
    """``汇总表.pdf`` next to the table when LibreOffice is installed (else None, logged)."""
    from parsers.office_convert import find_soffice

    soffice = find_soffice()
    if soffice is None:
        log.info("LibreOffice not found: no PDF rendering of %s", xlsx.name)
        return None
    try:
        subprocess.run(
            [soffice, "--headless", "--norestore", "--convert-to", "pdf", "--outdir",
             str(xlsx.parent), str(xlsx)],
            check=True, capture_output=True, timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("PDF rendering of %s failed: %s", xlsx.name, exc)
        return None
    pdf = xlsx.with_suffix(".pdf")
    return pdf if pdf.is_file() else None


def read_manifest(packet_dir: Path) -> dict:
    """The manifest of a built packet. Raises PacketError when absent or not JSON."""
    try:
        return json.loads((packet_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PacketError(f"{packet_dir}: no readable {MANIFEST} ({exc})") from exc


# -- splitting into mail parts ------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A byte range of one packet file going into one part: ``member`` is its name in the zip."""

    path: str
    offset: int
    length: int
    member: str


def payload_budget(max_message_bytes: int, manifest_bytes: int) -> int:
    """Bytes of zip payload one mail of at most ``max_message_bytes`` can carry (base64 expands
    by 78/57, and the manifest travels in every part). Raises PacketError when nothing fits."""
    budget = int((max_message_bytes - MAIL_OVERHEAD) / BASE64_FACTOR - manifest_bytes * BASE64_FACTOR)
    budget -= 22 + 1024  # end of central directory, slack
    if budget < 4096:
        raise PacketError(f"max_message_bytes {max_message_bytes} is too small for a packet part")
    return budget


def split_parts(manifest: dict, budget: int) -> list[list[Piece]]:
    """The packet's files in parts whose zips stay within ``budget`` bytes.

    Files go in manifest order; a file that does not fit in what is left of a part starts the
    next one; a file bigger than a whole part is cut into pieces ``<path>.001``…
    """
    parts: list[list[Piece]] = [[]]
    used = 0
    for f in manifest["files"]:
        path, size = f["path"], int(f["size"])
        cost = size + ZIP_MEMBER_OVERHEAD + 2 * len(path.encode())
        if used + cost <= budget:
            parts[-1].append(Piece(path, 0, size, path))
            used += cost
            continue
        if cost <= budget:
            parts.append([Piece(path, 0, size, path)])
            used = cost
            continue
        offset, n = 0, 1
        while offset < size or (size == 0 and n == 1):
            room = budget - used - ZIP_MEMBER_OVERHEAD - 2 * len(path.encode()) - 8
            if room < budget // 8:  # too little left: start a fresh part
                parts.append([])
                used = 0
                continue
            length = min(room, size - offset)
            member = f"{path}.{n:03d}"
            parts[-1].append(Piece(path, offset, length, member))
            used += length + ZIP_MEMBER_OVERHEAD + 2 * len(member.encode())
            offset += length
            n += 1
    return [p for p in parts if p]


# Kinds whose bytes are already compressed (video, PDF streams, OOXML and other zips, images,
# archives): deflating them again costs CPU for a gain of a few percent at most, so they are
# stored, as are the pieces of a cut file.
STORED_SUFFIXES = frozenset({
    ".mp4", ".mov", ".avi", ".mkv", ".webm", ".wmv", ".flv", ".m4v", ".mpg", ".mpeg", ".ts",
    ".pdf", ".ofd", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".wps",
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic",
    ".zip", ".7z", ".rar", ".gz", ".tgz", ".bz2", ".xz", ".zst",
})
COPY_CHUNK = 4 * 1024 * 1024  # bytes per read/write while copying a member


def is_stored(piece: Piece) -> bool:
    """True when ``piece`` goes into the zip uncompressed (ZIP_STORED): a cut piece, or a kind
    in ``STORED_SUFFIXES``; other files (xml, txt, csv, json, doc, xls…) are deflated."""
    return piece.member != piece.path or Path(piece.path).suffix.lower() in STORED_SUFFIXES


def write_part_zip(packet_dir: Path, pieces: Sequence[Piece], dest: Path | BinaryIO) -> None:
    """Write the zip of one part to ``dest`` (a path, or a binary file object), streaming.

    Each member is copied from its packet file in ``COPY_CHUNK`` blocks into the zip being
    written, so memory stays flat whatever the part's size (no whole zip or whole file in
    memory). Members: ``is_stored`` ones ZIP_STORED, the rest ZIP_DEFLATED; UTF-8 names; a fixed
    date (2023-01-01), so the same packet gives the same bytes. Zip64 is used for members over
    4 GiB. Raises OSError when a packet file cannot be read or ``dest`` written.
    """
    buf = bytearray(COPY_CHUNK)
    view = memoryview(buf)
    with zipfile.ZipFile(dest, "w", allowZip64=True) as zf:
        for p in pieces:
            info = zipfile.ZipInfo(p.member, date_time=(2023, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if is_stored(p) else zipfile.ZIP_DEFLATED
            info.flag_bits |= 0x800  # UTF-8 names
            info.file_size = p.length  # decides zip64 up front
            with (packet_dir / p.path).open("rb") as src, zf.open(info, "w") as out:
                src.seek(p.offset)
                left = p.length
                while left > 0:
                    n = src.readinto(view[: min(COPY_CHUNK, left)])
                    if not n:
                        raise PacketError(f"{p.path}: shorter than the manifest says ({p.length} bytes)")
                    out.write(view[:n])
                    left -= n


def part_zip(packet_dir: Path, pieces: Sequence[Piece]) -> bytes:
    """The zip of one part as bytes, for a mail (``write_part_zip`` into memory; a part is at
    most one mail's payload). Large zips: use ``write_part_zip`` to a file."""
    buf = io.BytesIO()
    write_part_zip(packet_dir, pieces, buf)
    return buf.getvalue()


def assemble_parts(zips: Iterable[bytes], manifest: dict, dest: Path) -> list[str]:
    """Extract the parts' zips into ``dest`` and join the pieces; return the manifest paths whose
    bytes are missing or do not match their sha256 (empty: the packet is whole).

    ``zips`` is taken one at a time (a generator may read each part's mail only when its turn
    comes), and every member is streamed to disk in ``COPY_CHUNK`` blocks: memory holds one
    part, never the packet. Member names are checked against the manifest, so nothing lands
    outside ``dest``; a file (or the sum of its pieces) is written only up to the size the signed
    manifest gives it, once for the whole packet, so a zip swapped in transit cannot fill the disk
    (what is cut short is bad). A name given twice (zip entries may all point at one stream), or a
    file sent both whole and in pieces, is bad and not written again. Pieces wait in
    ``<dest>.pieces/`` until joined; that folder is removed. Raises ``zipfile.BadZipFile`` and,
    for a damaged or unsupported member, what ``zipfile`` raises (``RuntimeError``,
    ``NotImplementedError``, ``zlib.error``, ``EOFError``): ``DAMAGED_ZIP_ERRORS``.
    """
    wanted = {f["path"]: f for f in manifest.get("files", []) if isinstance(f, dict)}
    room = {path: _declared_size(f) for path, f in wanted.items()}  # one budget a path, never reset
    order = {path: i for i, path in enumerate(wanted)}  # names the pieces' folders
    pieces: dict[str, dict[int, Path]] = {}
    whole: set[str] = set()
    seen: set[str] = set()
    spoiled: set[str] = set()  # named twice, whole and in pieces, or past its size: bad
    spare = dest.parent / f"{dest.name}.pieces"
    dest.mkdir(parents=True, exist_ok=True)
    try:
        for blob in zips:
            with zipfile.ZipFile(io.BytesIO(blob)) as zf:
                for info in zf.infolist():
                    name = info.filename
                    if name in wanted:
                        path, target = name, dest / name
                        whole.add(path)
                    elif (m := _PIECE.match(name)) and m.group(1) in wanted:
                        path, target = m.group(1), spare / str(order[m.group(1)]) / m.group(2)
                        pieces.setdefault(path, {})[int(m.group(2))] = target
                    else:
                        log.warning("packet member %r is not in the manifest: skipped", name)
                        continue
                    if name in seen or (path in whole and path in pieces):
                        # A second entry of one name (a zip may point many at one stream) or a
                        # file sent both whole and cut: never written again, the path is bad.
                        spoiled.add(path)
                    seen.add(name)
                    if path in spoiled or room[path] < 0:
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    room[path] -= _copy_member(zf, info, target, room[path])
                    if room[path] < 0:
                        spoiled.add(path)
        for path, parts in pieces.items():
            if path in spoiled:
                continue
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                for n in sorted(parts):
                    with parts[n].open("rb") as src:
                        shutil.copyfileobj(src, out, COPY_CHUNK)
    finally:
        shutil.rmtree(spare, ignore_errors=True)
    bad = []
    for path, f in wanted.items():
        target = dest / path
        if path in spoiled or not target.is_file() or sha256_file(target) != f.get("sha256"):
            bad.append(path)
    return bad


DAMAGED_ZIP_ERRORS = (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, EOFError)


def _declared_size(f: dict) -> int:
    """The size in bytes a (signed) manifest gives a file; 0 when it gives none or nonsense."""
    try:
        return max(0, int(f.get("size", 0)))
    except (TypeError, ValueError):
        return 0


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limit: int) -> int:
    """Stream one member to ``target``, at most ``limit`` bytes (one byte more marks it too long,
    so its sha256 fails); returns the bytes written."""
    written = 0
    with zf.open(info) as src, target.open("wb") as out:
        while written <= limit:
            block = src.read(min(COPY_CHUNK, limit + 1 - written))
            if not block:
                break
            out.write(block)
            written += len(block)
    if written > limit:
        log.warning("packet member %r is longer than its manifest size: cut short", info.filename)
    return written


# -- discs ------------------------------------------------------------------------------------


def write_iso(folder: Path, out: Path, label: str) -> Path:
    """One burn-ready disc image of ``folder`` (ISO 9660 level 3 + Joliet level 3, so Chinese
    names survive on Windows), volume label ``label`` (the applicant's 简称, ≤ 16 characters in
    Joliet; the ISO 9660 label is the ASCII ``DOSSIER``). Returns ``out``."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, vol_ident="DOSSIER")
    _pad_joliet_label(iso, label)
    handles = []
    try:
        for p in sorted(folder.rglob("*")):
            rel = p.relative_to(folder)
            joliet = "/" + rel.as_posix()
            if p.is_dir():
                iso.add_directory(_iso_dir(rel, folder), joliet_path=joliet)
            else:
                fh = p.open("rb")
                handles.append(fh)
                iso.add_fp(fh, p.stat().st_size, _iso_file(rel, folder), joliet_path=joliet)
        out.parent.mkdir(parents=True, exist_ok=True)
        iso.write(str(out))
    finally:
        iso.close()
        for fh in handles:
            fh.close()
    return out


def _pad_joliet_label(iso, label: str) -> None:
    encoded = label[:16].encode("utf-16_be")
    iso.joliet_vd.volume_identifier = encoded + " ".encode("utf-16_be") * ((32 - len(encoded)) // 2)


def _iso_name(rel: Path, folder: Path) -> list[str]:
    """ISO 9660 names for each component of ``rel``: an index per entry among its siblings."""
    names = []
    cur = folder
    for part in rel.parts:
        siblings = sorted(q.name for q in cur.iterdir())
        names.append(f"{siblings.index(part):03d}")
        cur = cur / part
    return names


def _iso_dir(rel: Path, folder: Path) -> str:
    return "/" + "/".join(f"D{n}" for n in _iso_name(rel, folder))


def _iso_file(rel: Path, folder: Path) -> str:
    names = _iso_name(rel, folder)
    ext = re.sub(r"[^A-Z0-9]", "", rel.suffix.upper().lstrip("."))[:3]
    head = "/".join(f"D{n}" for n in names[:-1])
    leaf = f"F{names[-1]}" + (f".{ext}" if ext else ".") + ";1"
    return "/" + (head + "/" if head else "") + leaf


def plan_to_json(plan: PacketPlan) -> dict:
    """A plan as JSON-ready data (for logs and tests)."""
    return asdict(plan)
