"""The rule a packet's manifest must pass before any of it is used (and before it is sent).

A manifest from below is attacker data until proven otherwise; the level that builds a packet
checks its own manifest with the same rule, so it never sends what the level above refuses.
"""

from __future__ import annotations

import re

from outbox.mail.tracking import is_valid_tracking
from parsers.safe_names import is_safe_relative_path

_SHA256 = frozenset("0123456789abcdef")
# A packet id as we make them (``IIP2023-420100-P01``): ASCII letters, digits, ``.``, ``_``, ``-``.
PACKET_ID_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def manifest_problem(manifest: dict) -> str | None:
    """Why a (signed) manifest cannot be used as given, or None.

    The manifest is attacker data until proven otherwise: every folder and file name must pass
    ``parsers.safe_names.is_safe_relative_path`` (no absolute or parent path, nothing the
    project's file-name rule would change), every sha256 is 64 hex digits, every tracking number
    valid. One bad name refuses the whole packet, before anything is written.
    """
    def bad(what: str, value: object) -> str:
        return f"unsafe or malformed {what} in manifest: {str(value)[:120]!r}"

    pid = manifest.get("packet_id")
    if not isinstance(pid, str) or not PACKET_ID_SHAPE.fullmatch(pid):
        # shaped like ours, so it reaches an officer's terminal, a log or a file name as it is
        return bad("packet_id", pid)
    for key in ("table", "report"):
        if key in manifest and not is_safe_relative_path(manifest[key]):
            return bad(key, manifest[key])
    dossiers = manifest.get("dossiers", [])
    if not isinstance(dossiers, list):
        return bad("dossiers", type(dossiers).__name__)
    for d in dossiers:
        if not isinstance(d, dict):
            return bad("dossier", d)
        folder = d.get("folder")
        if not is_safe_relative_path(folder) or "/" in folder:
            return bad("folder", folder)
        if not isinstance(d.get("tracking"), str) or not is_valid_tracking(d["tracking"]):
            return bad("tracking number", d.get("tracking"))
        if not isinstance(d.get("facts", {}), dict):
            return bad("facts", d.get("facts"))
        for f in d.get("files", []):
            if not isinstance(f, dict) or not is_safe_relative_path(f.get("path")):
                return bad("file path", f.get("path") if isinstance(f, dict) else f)
    files = manifest.get("files", [])
    if not isinstance(files, list):
        return bad("files", type(files).__name__)
    for f in files:
        if not isinstance(f, dict) or not is_safe_relative_path(f.get("path")):
            return bad("file path", f.get("path") if isinstance(f, dict) else f)
        sha = f.get("sha256")
        if not isinstance(sha, str) or len(sha) != 64 or not set(sha) <= _SHA256:
            return bad("sha256", sha)
    return None
