"""What the rules read from a dossier: its readable materials by role and its form fields merged."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from parsers.facts import DossierFacts, Material
from rules.campaign import Campaign

_SEPARATOR = re.compile(r"\s*[-—–－:：/／、|｜·]+\s*|\s+")
_LEADING = re.compile(r"^[\s\-—–－:：/／、|｜·（()）]+")


def role_usable(m: Material) -> bool:
    """True when a material's bytes and its role facts were read (it can fill its role)."""
    if not m.readable or m.problem is not None:
        return False
    facts = {"application_form": m.form, "scanned_copy": m.scan, "summary_table": m.table}.get(
        m.role
    )
    return facts is None or facts.readable


def form_material(d: DossierFacts, campaign: Campaign | None = None) -> Material | None:
    """The first usable editable form (申报书: a kind the profile accepts), else ``None``."""
    kinds = set(campaign.materials.form_kinds) if campaign else None
    for m in d.materials:
        if (
            m.role == "application_form"
            and role_usable(m)
            and (kinds is None or m.kind in kinds or m.kind == "unknown")
        ):
            return m
    return None


def split_category_direction(text: str, campaign: Campaign) -> tuple[str, str]:
    """Split ``工厂类-5G全连接工厂`` / ``工厂类：…`` / ``工厂类 …`` into (category, direction).

    A known category name at the start wins (so a dash inside the direction survives); otherwise the
    text is cut at the first separator. Either part may be ``""``.
    """
    s = text.strip()
    for c in campaign.categories:
        for name in (c.name, c.name.removesuffix("类")):
            if name and s.startswith(name):
                rest = s[len(name) :]
                if name != c.name and rest.startswith("类"):
                    rest = rest[1:]
                direction = _LEADING.sub("", rest).strip()
                if rest.lstrip()[:1] in ("（", "("):
                    direction = direction.rstrip("）)").strip()
                return c.name, direction
    parts = _SEPARATOR.split(s, maxsplit=1)
    return (parts[0], parts[1].strip() if len(parts) > 1 else "")


def form_fields(d: DossierFacts, campaign: Campaign) -> dict[str, str]:
    """The dossier's form fields (keys of parsers.facts.FORM_FIELDS), non-empty values only.

    The assembled dossier values win over the raw form fields; a ``category_direction`` field fills
    ``category`` and ``direction`` when they are missing.
    """
    out: dict[str, str] = {}
    m = form_material(d, campaign)
    if m is not None and m.form is not None:
        out.update({k: v.strip() for k, v in m.form.fields.items() if v and v.strip()})
    assembled = {
        "project_name": d.project_name,
        "applicant": d.applicant,
        "uscc": d.uscc,
        "category": d.category,
        "direction": d.direction,
        "contact_name": d.contact.name,
        "mobile": d.contact.mobile,
        "phone": d.contact.phone,
        "email": d.contact.email,
    }
    out.update({k: v.strip() for k, v in assembled.items() if v and v.strip()})
    cat_text = out.get("category")
    if cat_text and campaign.category(cat_text) is None:
        cat, direction = split_category_direction(cat_text, campaign)
        if campaign.category(cat) is not None:
            out["category"] = cat
            if direction and not out.get("direction"):
                out["direction"] = direction
    combined = out.get("category_direction")
    if combined and not (out.get("category") and out.get("direction")):
        cat, direction = split_category_direction(combined, campaign)
        if cat and not out.get("category"):
            out["category"] = cat
        if direction and not out.get("direction"):
            out["direction"] = direction
    return out


def is_cloud_link(url: str, campaign: Campaign) -> bool:
    """True when ``url`` points at a cloud drive the profile lists (host, or host+path prefix)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    where = host + parts.path
    for entry in campaign.video.cloud_hosts:
        entry = entry.lower()
        if "/" in entry:
            if where.startswith(entry):
                return True
        elif host == entry or host.endswith("." + entry):
            return True
    return False
