"""What the watchers need from the store: remember what was taken, durably, before acknowledging it.

``bot.store.database.Store`` implements this protocol; the watchers depend only on it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol


class Ledger(Protocol):
    """Durable record of inputs taken (paperless-ngx's ProcessedMail, Mailman's switchboard)."""

    def is_known_uid(self, account: str, folder: str, uidvalidity: int, uid: int) -> bool:
        """True when this (account, folder, UIDVALIDITY, UID) was already archived, or is a
        remembered copy of archived mail (``remember_copy``)."""

    def remember_copy(self, account: str, folder: str, uidvalidity: int, uid: int, sha256: str) -> None:
        """Record that (account, folder, UIDVALIDITY, UID) holds mail already archived (a folder
        renumbered under a new UIDVALIDITY): ``is_known_uid`` is then true for it, across restarts."""

    def is_known_message(self, sha256: str, message_id: str | None) -> bool:
        """True when a message with these exact raw bytes (sha256) was already archived.

        Never by Message-ID alone: the sender writes it, and a different mail may reuse it.
        """

    def accept_mail(
        self,
        raw: bytes,
        *,
        account: str,
        folder: str,
        uidvalidity: int,
        uid: int,
        received_at: datetime | None,
        declared_size: int | None = None,
    ) -> str:
        """Archive the exact raw bytes (fsync) and record the input; return its input id.

        ``declared_size`` (bytes): set when ``raw`` is the header block only of a message the
        server says is that large (RFC822.SIZE above the limit); the input records that size.

        Idempotent: the same (account, folder, uidvalidity, uid) returns the existing id.
        Only after this returns may the watcher flag or move the message on the server.
        """

    def accept_path(self, path: Path, *, taken_at: datetime) -> str:
        """Archive a stable file or dossier folder from a drop folder; return its input id.

        Only after this returns may the watcher move the path to the processed area.
        """

    def input_state(self, input_id: int) -> str | None:
        """The input's state (``received`` until processed), or None when unknown."""
