"""Top-level ISO BMFF (MP4/MOV) box walk: finds a missing moov and boxes cut short by truncation."""

from __future__ import annotations

import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path

# Box types that may start a QuickTime/MP4 file (ISO/IEC 14496-12 §4.2, QuickTime File Format).
KNOWN_TOP_LEVEL = frozenset(
    {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"moof", b"mfra",
     b"meta", b"styp", b"sidx", b"pdin", b"prft", b"emsg", b"ssix", b"junk", b"PICT"}
)  # fmt: skip


@dataclass
class Box:
    """One top-level box: its 4-character type, start offset and declared size (bytes)."""

    type: str
    offset: int
    size: int  # declared size including the header; for size 0 ("to end of file") the real rest

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass
class BoxWalk:
    """The result of walking the top-level boxes of a file.

    ``is_bmff``: the file starts with a plausible box (so ffprobe's "moov atom not found" means
    a damaged video, not a text file with a .mp4 name). ``cut``: the first box whose declared
    end lies past the end of the file (``file_size`` bytes), i.e. the file was truncated.
    """

    file_size: int
    boxes: list[Box] = field(default_factory=list)
    is_bmff: bool = False
    cut: Box | None = None
    garbage_at: int | None = None  # offset where the walk found no valid box header

    @property
    def has_moov(self) -> bool:
        return any(b.type == "moov" for b in self.boxes)

    def describe_cut(self) -> str | None:
        """English detail for a truncated file, or ``None`` when no box runs past the end."""
        if self.cut is None:
            return None
        return (
            f"the {self.cut.type} box at byte {self.cut.offset} declares {self.cut.size} bytes "
            f"but the file ends after {self.file_size - self.cut.offset} of them"
        )


def walk_boxes(path: Path, max_boxes: int = 10_000) -> BoxWalk:
    """Walk the top-level boxes of ``path`` by seeking from header to header (never reads payloads).

    Header layout per ISO/IEC 14496-12 §4.2: 32-bit big-endian size, 4-byte type; size 1 means a
    64-bit ``largesize`` follows, size 0 means "to the end of the file". Never raises on bad
    input; an unreadable file, or one that is not a regular file (a FIFO), gives an empty walk
    with ``is_bmff=False``.
    """
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):  # opening a FIFO would block with no timeout
            return BoxWalk(file_size=0)
        file_size = st.st_size
        fh = open(path, "rb")
    except OSError:
        return BoxWalk(file_size=0)
    walk = BoxWalk(file_size=file_size)
    with fh:
        offset = 0
        while offset < file_size and len(walk.boxes) < max_boxes:
            fh.seek(offset)
            header = fh.read(16)
            if len(header) < 8:
                walk.garbage_at = offset
                break
            size, btype = struct.unpack(">I4s", header[:8])
            if offset == 0:
                walk.is_bmff = btype in KNOWN_TOP_LEVEL
                if not walk.is_bmff:
                    break
            if size == 1:
                if len(header) < 16:
                    walk.cut = Box(btype.decode("latin-1"), offset, 16)
                    break
                (size,) = struct.unpack(">Q", header[8:16])
            elif size == 0:
                size = file_size - offset
            if size < 8 or not all(32 <= c < 127 for c in btype):
                walk.garbage_at = offset
                break
            box = Box(btype.decode("latin-1"), offset, size)
            walk.boxes.append(box)
            if box.end > file_size:
                walk.cut = box
                break
            offset = box.end
    return walk
