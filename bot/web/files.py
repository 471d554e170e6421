"""How a stored material is sent to the browser: its content type and Content-Disposition.

Only kinds a browser shows safely are sent ``inline`` (PDF, images, mp4/webm video); everything
else is an ``attachment`` so that no stored HTML or SVG ever runs in the desk's origin.
The header follows RFC 6266 with the RFC 5987/8187 ``filename*`` for the Chinese name and an
ASCII ``filename`` fallback for old clients.
"""

from __future__ import annotations

import mimetypes
import re
from urllib.parse import quote

# Content kinds (``parsers/classify.py``: from the bytes) → MIME types.
KIND_TYPES = {
    "pdf": "application/pdf",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "avi": "video/x-msvideo",
    "mkv": "video/x-matroska",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "doc": "application/msword",
    "wps": "application/vnd.ms-works",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "csv": "text/csv; charset=utf-8",
    "zip": "application/zip",
    "rar": "application/vnd.rar",
    "7z": "application/x-7z-compressed",
    "eml": "message/rfc822",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "gif": "image/gif",
}
INLINE_TYPES = {"application/pdf", "video/mp4", "video/webm", "image/png", "image/jpeg", "image/gif"}
# Video codecs an HTML5 <video> plays in current Chromium/Firefox builds with the usual codecs.
PLAYABLE_VIDEO_CODECS = {"h264", "vp8", "vp9", "av1"}


def content_type(kind: str | None, name: str) -> str:
    """The MIME type for a material of content ``kind`` named ``name`` (kind wins; the name's
    extension is only a fallback; unknown: ``application/octet-stream``)."""
    if kind and kind.lower() in KIND_TYPES:
        return KIND_TYPES[kind.lower()]
    guessed, _ = mimetypes.guess_type(name)
    if guessed and not guessed.startswith(("text/html", "image/svg", "application/xhtml")):
        return guessed
    return "application/octet-stream"


def shown_inline(media_type: str) -> bool:
    """True when a browser may show this type in the page (``<iframe>``, ``<video>``, ``<img>``)."""
    return media_type.split(";")[0] in INLINE_TYPES


def ascii_fallback(name: str) -> str:
    """An ASCII-only stand-in for ``name`` for the plain ``filename`` parameter: non-ASCII runs
    become ``_``, quotes and backslashes are dropped; the extension is kept."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    safe = re.sub(r"[^A-Za-z0-9._ -]+", "_", stem).strip(" ._") or "file"
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext)[:10]
    return f"{safe}.{ext}" if ext else safe


def content_disposition(name: str, *, inline: bool) -> str:
    """``inline|attachment; filename="ascii"; filename*=UTF-8''percent-encoded`` (RFC 6266 §4.3,
    RFC 8187). Control characters and path separators in ``name`` are removed first."""
    clean = re.sub(r"[\x00-\x1f\x7f/\\]+", "", name).strip() or "file"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_fallback(clean)}\"; filename*=UTF-8''{quote(clean, safe='')}"
