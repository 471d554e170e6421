"""Which dossiers an officer may see and act on: the categories of ``[office] officers``.

The lead, or an officer without categories, sees every dossier; an officer limited to categories
sees only dossiers whose category (normalised by the campaign, as the digest does:
``bot/digest/build.py``) is one of theirs. A dossier without a category is only for the former.
"""

from __future__ import annotations

from bot.config.model import Officer
from bot.digest.build import UNCATEGORISED
from rules.campaign import Campaign


def sees_all(officer: Officer) -> bool:
    """True for the lead and for an officer without categories."""
    return officer.lead or not officer.categories


def category_name(campaign: Campaign, category: str | None) -> str:
    """The campaign's name for ``category`` (its aliases folded), else the text as written, else
    ``未填写类别``."""
    if not category:
        return UNCATEGORISED
    found = campaign.category(category)
    return found.name if found else category


def scope(officer: Officer, campaign: Campaign) -> list[str] | None:
    """The category names ``officer`` may see, or None for all."""
    if sees_all(officer):
        return None
    return sorted({category_name(campaign, c) for c in officer.categories})


def may_see(officer: Officer, campaign: Campaign, category: str | None) -> bool:
    """True when ``officer`` may see (and act on) a dossier of ``category``."""
    wanted = scope(officer, campaign)
    return wanted is None or (bool(category) and category_name(campaign, category) in wanted)
