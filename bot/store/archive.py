"""The content-addressed archive of raw inputs: every byte we receive, named by its sha256, fsync'd.

Layout: ``<root>/<aa>/<bb>/<sha256>`` (read-only files, owner-only folders). Writing the same
bytes twice is a no-op. A file is written to a temporary name, fsync'd, renamed, and the folder
fsync'd, so after ``put_*`` returns the bytes survive a crash or power loss (Mailman's switchboard).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from bot.errors import IntakeError

CHUNK = 1024 * 1024  # bytes read per step when streaming a file


class ArchiveError(IntakeError):
    """The archive could not store an input (disk full, permissions); nothing was acknowledged."""


class Archive:
    """A folder of immutable blobs addressed by sha256 (hex, lower case)."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path_for(self, sha256: str) -> Path:
        """Where the blob with this sha256 lives (whether or not it exists)."""
        return self.root.joinpath(sha256[:2], sha256[2:4], sha256)  # one parse, not three

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store ``data``; return (sha256, size in bytes). Raises ArchiveError."""
        sha = hashlib.sha256(data).hexdigest()
        if not self.has(sha):
            self._write(sha, [data])
        return sha, len(data)

    def put_file(self, src: Path) -> tuple[str, int]:
        """Store a file's bytes by streaming (hash while copying, constant memory).

        Returns (sha256, size in bytes). Raises ArchiveError (and OSError for an unreadable source).
        For our own work files only: drop-folder files go through :meth:`put_fd`.
        """
        with src.open("rb") as inp:
            return self._put_stream(inp, src.name)

    def put_fd(self, fd: int, name: str) -> tuple[str, int]:
        """Store the bytes of an already opened (and checked) file descriptor, from offset 0.

        The descriptor is neither closed nor re-opened by path, so the bytes hashed are those of
        the file that was checked (``bot/store/nofollow.py``). Returns (sha256, size in bytes).
        """
        os.lseek(fd, 0, os.SEEK_SET)
        with os.fdopen(os.dup(fd), "rb") as inp:
            return self._put_stream(inp, name)

    def _put_stream(self, inp, name: str) -> tuple[str, int]:  # noqa: ANN001 - a binary file object
        digest = hashlib.sha256()
        size = 0
        dest_dir = self.root / "incoming"
        dest_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=".put-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := inp.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            if self.has(sha):
                tmp.unlink()
            else:
                self._install(tmp, sha)
            return sha, size
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ArchiveError(f"cannot archive {name}: {exc}") from exc

    def adopt(self, src: Path) -> tuple[str, int]:
        """Store a file this process wrote itself (a spilled attachment in a work folder) by
        linking it into the archive instead of copying it: hashed once, fsync'd, made 0400.

        ``src`` must not change afterwards (it shares the blob's inode until the work folder is
        removed). Falls back to ``put_file`` across file systems. Returns (sha256, size in bytes).
        Raises ArchiveError.
        """
        digest = hashlib.sha256()
        size = 0
        try:
            with src.open("rb") as f:
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                os.fsync(f.fileno())
        except OSError as exc:
            raise ArchiveError(f"cannot archive {src.name}: {exc}") from exc
        sha = digest.hexdigest()
        if self.has(sha):
            return sha, size
        dest_dir = self.root / "incoming"
        dest_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = dest_dir / f".adopt-{sha[:16]}-{os.getpid()}"
        try:
            tmp.unlink(missing_ok=True)
            os.link(src, tmp)
        except OSError:
            return self.put_file(src)  # another file system (EXDEV) or no hard links
        try:
            self._install(tmp, sha)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ArchiveError(f"cannot archive {src.name}: {exc}") from exc
        return sha, size

    def link_out(self, sha256: str, dest: Path) -> None:
        """Make the blob ``sha256`` readable at ``dest`` (a work folder) without copying it: a hard
        link, or a copy where linking is not possible (another file system). The blob is 0400;
        readers must not write to ``dest``.

        ``dest`` must not exist: raises FileExistsError rather than write through an existing
        path (which may be a hard link to another blob), and OSError when neither works.
        """
        src = self.path_for(sha256)
        try:
            os.link(src, dest)
            return
        except FileExistsError:
            raise
        except OSError:
            pass
        import shutil

        with src.open("rb") as inp, dest.open("xb") as out:  # "x": never onto an existing path
            shutil.copyfileobj(inp, out, CHUNK)

    def _write(self, sha: str, chunks: list[bytes]) -> None:
        dest_dir = self.root / "incoming"
        dest_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=".put-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for c in chunks:
                    out.write(c)
                out.flush()
                os.fsync(out.fileno())
            self._install(tmp, sha)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ArchiveError(f"cannot archive {sha[:12]}: {exc}") from exc

    def _install(self, tmp: Path, sha: str) -> None:
        final = self.path_for(sha)
        final.parent.parent.mkdir(exist_ok=True, mode=0o700)  # <aa>/: mkdir(parents=True) would
        final.parent.mkdir(exist_ok=True, mode=0o700)  # create it 0755 (the mode is for the last one)
        os.chmod(tmp, 0o400)
        os.replace(tmp, final)
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def verify(self, sha256: str) -> bool:
        """True when the stored blob still hashes to its name."""
        digest = hashlib.sha256()
        with self.path_for(sha256).open("rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest() == sha256
