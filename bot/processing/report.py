"""A judged dossier as the JSON object of ``intake check --json`` (and of ``intake status --json``)."""

from __future__ import annotations

from typing import Any

from parsers.facts import CloudLink, DossierFacts, Material
from rules.finding import Finding


def material_json(m: Material) -> dict[str, Any]:
    """``{"name", "role", "sha256", "size"}`` plus ``duration_s`` (seconds) for videos, and
    ``pages`` and ``seals`` (``[{"page", "kind": "image"|"electronic"}]``) for the scanned copy."""
    out: dict[str, Any] = {"name": m.name, "role": m.role, "sha256": m.sha256, "size": m.size}
    if m.role == "video":
        out["duration_s"] = m.video.duration_s if m.video and m.video.readable else None
    if m.role == "scanned_copy":
        scan = m.scan
        out["pages"] = scan.pages if scan else 0
        out["seals"] = [{"page": s.page, "kind": s.kind} for s in scan.seals] if scan else []
    if not m.readable or m.problem:
        out["problem"] = m.problem
    return out


def link_json(link: CloudLink) -> dict[str, Any]:
    """``{"provider", "url", "code", "expires_at": "YYYY-MM-DD" | null}``."""
    return {"provider": link.provider, "url": link.url, "code": link.code,
            "expires_at": link.expires_at.isoformat() if link.expires_at else None}


def dossier_json(d: DossierFacts, findings: list[Finding], verdict: str, **extra: Any) -> dict[str, Any]:
    """One dossier in the shape documented in the README (keys in a stable order)."""
    out: dict[str, Any] = dict(extra)
    out.update(
        {
            "project_name": d.project_name,
            "applicant": d.applicant,
            "uscc": d.uscc,
            "category": d.category,
            "direction": d.direction,
            "contact": {"name": d.contact.name, "mobile": d.contact.mobile, "email": d.contact.email},
            "materials": [material_json(m) for m in d.materials],
            "links": [link_json(link) for link in d.cloud_links],
            "verdict": verdict,
            "findings": [f.to_json() for f in findings],
        }
    )
    return out
