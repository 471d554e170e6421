"""The wording of everything we send lives in ``outbox/mail/templates/`` (string.Template files)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def load_template(name: str) -> Template:
    """The template file ``outbox/mail/templates/<name>`` (UTF-8). Raises FileNotFoundError."""
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))
