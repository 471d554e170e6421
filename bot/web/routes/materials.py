"""``/d/{tracking}/m/{sha256}``: one material's bytes from the content-addressed archive.

Nothing from the request reaches a file path: the sha256 must be 64 hex digits *and* one of the
dossier's materials (any version) the officer may see; the file is then the archive's blob for
that hash, and the name and type come from the stored facts. Range requests are answered
(Starlette's FileResponse, RFC 9110 §14), so a ``<video>`` can seek and learn its duration.
``?download=1`` asks for an attachment instead of inline display.
"""

from __future__ import annotations

import json
import re

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from bot.config.model import Officer
from bot.web.access import may_see
from bot.web.files import content_disposition, content_type, shown_inline
from bot.web.pages import desk_of, not_found, officer_page

SHA256 = re.compile(r"[0-9a-f]{64}")


def find_material(desk, dossier_id: int, sha: str) -> dict | None:
    """The stored facts of the material with this sha256 in any version of the dossier."""
    for row in reversed(desk.store.versions_of(dossier_id)):
        for m in json.loads(row["facts"]).get("materials", []):
            if m.get("sha256") == sha:
                return m
    return None


@officer_page
def material(request: Request, officer: Officer) -> Response:
    desk = desk_of(request)
    tracking = request.path_params["tracking"].strip().upper()
    sha = request.path_params["sha256"].lower()
    d = desk.store.dossier_by_tracking(tracking)
    if d is None or not may_see(officer, desk.campaign, d.category) or not SHA256.fullmatch(sha):
        return not_found(request, officer)
    m = find_material(desk, d.id, sha)
    if m is None or not desk.store.archive.has(sha):
        return not_found(request, officer)
    name = m.get("name") or sha
    media_type = content_type(m.get("kind"), name)
    inline = shown_inline(media_type) and request.query_params.get("download") != "1"
    return FileResponse(
        desk.store.archive.path_for(sha),
        media_type=media_type,
        headers={
            "content-disposition": content_disposition(name, inline=inline),
            "cache-control": "private, max-age=3600",
        },
    )


def routes() -> list[Route]:
    return [Route("/d/{tracking}/m/{sha256}", material, methods=["GET", "HEAD"])]
