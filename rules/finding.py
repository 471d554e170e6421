"""The finding: one rule's judgement about one place in a dossier (or the whole intake)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """A rule hit, ready to show to a person.

    - ``code``: stable code from the catalogue (``VIDEO_TOO_SHORT``); never renamed.
    - ``severity``: ``error`` makes the dossier defective (补正通知); ``warning`` is listed in the 回执.
    - ``clause``: the notice's clause it enforces, e.g. ``二（四）``.
    - ``message``: Chinese, names the actual and the expected value.
    - ``fix``: Chinese, how to fix it (what to send again).
    - ``where``: the decoded file name, ``sheet!A1`` for tables, or ``""`` for the dossier as a whole.
    """

    code: str
    severity: Severity
    clause: str
    message: str
    where: str = ""
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        """The finding as the JSON object of ``intake check --json``."""
        return asdict(self)
