"""The file transport: outgoing mail written as ``.eml`` files into a folder (the embedded default)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

log = logging.getLogger("intake.outbox")


class FileTransport:
    """Writes each message once to ``<folder>/<safe Message-ID>.eml``.

    Atomic (temporary file in the same folder, fsync, rename, fsync of the folder: Mailman's
    switchboard discipline) and idempotent by Message-ID: a second ``send`` of the same id returns
    the existing path and writes nothing.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path_for(self, msg_id: str) -> Path:
        """``<folder>/<id without <>, unsafe characters as _>-<8 hex of sha256(id)>.eml``."""
        bare = msg_id.strip().strip("<>")
        safe = re.sub(r"[^A-Za-z0-9._@-]", "_", bare)[:100] or "message"
        digest = hashlib.sha256(msg_id.strip().encode("utf-8")).hexdigest()[:8]
        return self.folder / f"{safe}-{digest}.eml"

    def send(self, raw: bytes, *, msg_id: str) -> Path:
        """Write ``raw`` (the exact bytes) and return the file's path. Raises ``OSError`` on I/O errors."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # replies hold contact details
        final = self.path_for(msg_id)
        if final.exists():
            return final
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        dir_fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        log.debug("wrote %s (%d bytes) for %s", final.name, len(raw), msg_id)
        return final

    async def deliver(self, raw: bytes, *, mail_from: str, rcpts: list[str], msg_id: str) -> str:
        """The sender's common interface: write the file; returns ``"stored <path>"``."""
        return f"stored {self.send(raw, msg_id=msg_id)}"
