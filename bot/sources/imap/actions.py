"""What the IMAP watcher does to a message once it is safely archived: classes chosen by config.

paperless-ngx's mail actions: each action knows how to apply itself and the ASCII search
criterion that finds messages still waiting for it (so an action lost to a crash between the
archive and the flag is redone on the next full scan, and never a second archive).
"""

from __future__ import annotations

import imaplib
import logging
import re
from dataclasses import dataclass, field
from typing import Protocol

from imap_tools import BaseMailBox
from imap_tools.utils import encode_folder

from bot.errors import IntakeError
from bot.sources.imap.connect import has_capability

log = logging.getLogger("intake.imap")

# RFC 3501 §9: flag-keyword = atom; atom-specials are ( ) { SP CTL % * " \ ]
_ATOM = re.compile(r"^[!#$&'+,\-./0-9:;<=>?@A-Z\[^_`a-z|}~]+$")


class PostActionError(IntakeError):
    """The server refused the post-action (the message stays archived; the action is retried)."""


class PostAction(Protocol):
    """A post-action: ``pending_criteria`` is an ASCII IMAP SEARCH key (never ``CHARSET``:
    Aliyun rejects it) matching messages that still need ``apply``."""

    pending_criteria: str

    def prepare(self, mailbox: BaseMailBox) -> None:
        """Called once per connection before any ``apply`` (e.g. create the target folder)."""

    def apply(self, mailbox: BaseMailBox, uid: int) -> None:
        """Apply to one message by UID in the selected folder; raises ``PostActionError``."""


def _check(result: tuple, what: str) -> None:
    if result[0] != "OK":
        raise PostActionError(f"{what}: {result[0]} {result[1]!r}")


@dataclass
class SeenAction:
    """Flag ``\\Seen`` (the default; officers see taken mail as read)."""

    pending_criteria: str = "UNSEEN"

    def prepare(self, mailbox: BaseMailBox) -> None:
        return None

    def apply(self, mailbox: BaseMailBox, uid: int) -> None:
        # A plain UID STORE: imap-tools' flag() also EXPUNGEs the folder, which is not ours to do.
        _check(
            mailbox.client.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Seen)"),
            f"flag UID {uid} \\Seen",
        )


@dataclass
class KeywordAction:
    """Set an IMAP keyword (e.g. ``intake-taken``) and leave \\Seen for the officers."""

    keyword: str
    pending_criteria: str = field(init=False)

    def __post_init__(self) -> None:
        if not _ATOM.match(self.keyword) or self.keyword.startswith("\\"):
            raise ValueError(
                f"an IMAP keyword must be an ASCII atom without '\\\\': {self.keyword!r}"
            )
        self.pending_criteria = f"UNKEYWORD {self.keyword}"

    def prepare(self, mailbox: BaseMailBox) -> None:
        return None

    def apply(self, mailbox: BaseMailBox, uid: int) -> None:
        _check(
            mailbox.client.uid("STORE", str(uid), "+FLAGS.SILENT", f"({self.keyword})"),
            f"keyword {self.keyword} on UID {uid}",
        )


@dataclass
class MoveAction:
    """Move the message to ``folder`` (e.g. ``已处理``), created when missing.

    Uses MOVE (RFC 6851) when offered, else COPY + \\Deleted + UID EXPUNGE (RFC 4315) of that one
    message (a plain EXPUNGE would also remove what others marked deleted).
    """

    folder: str
    pending_criteria: str = "ALL"

    def __post_init__(self) -> None:
        if not self.folder.strip():
            raise ValueError("move: needs a folder name")

    def prepare(self, mailbox: BaseMailBox) -> None:
        try:
            if not mailbox.folder.exists(self.folder):
                mailbox.folder.create(self.folder)
                log.info("created folder %s for taken mail", self.folder)
        except Exception as e:  # imap-tools raises its own errors per command
            if isinstance(e, imaplib.IMAP4.abort | OSError):
                raise
            raise PostActionError(f"create folder {self.folder}: {e}") from e

    def apply(self, mailbox: BaseMailBox, uid: int) -> None:
        target = encode_folder(self.folder)  # modified UTF-7, quoted (RFC 3501 §5.1.3)
        client = mailbox.client
        if has_capability(mailbox, "MOVE"):
            _check(client.uid("MOVE", str(uid), target), f"move UID {uid} to {self.folder}")
            return
        _check(client.uid("COPY", str(uid), target), f"copy UID {uid} to {self.folder}")
        _check(client.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)"), f"delete UID {uid}")
        if has_capability(mailbox, "UIDPLUS"):
            _check(client.uid("EXPUNGE", str(uid)), f"expunge UID {uid}")
        else:
            _check(client.expunge(), "expunge")


def action_from_config(spec: str) -> PostAction:
    """``"seen"`` | ``"move:<folder>"`` | ``"keyword:<kw>"`` -> the action; ValueError otherwise."""
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "seen" and not arg:
        return SeenAction()
    if kind == "move":
        return MoveAction(arg.strip())
    if kind == "keyword":
        return KeywordAction(arg.strip())
    raise ValueError(f"post_action must be 'seen', 'move:<folder>' or 'keyword:<kw>', not {spec!r}")
