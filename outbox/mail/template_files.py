"""The wording of everything we send lives in ``outbox/mail/templates/`` (string.Template files);
``templates/README.md`` lists each file, who receives it and when; ``templates/subjects.toml`` holds
every Subject."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def load_template(name: str) -> Template:
    """The template file ``outbox/mail/templates/<name>`` (UTF-8). Raises FileNotFoundError."""
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


@cache
def _subjects() -> dict[str, str]:
    return tomllib.loads((TEMPLATES / "subjects.toml").read_text(encoding="utf-8"))


def subject(name: str, **values: object) -> str:
    """The Subject ``name`` of ``templates/subjects.toml`` filled with ``values``.
    Raises KeyError for an unknown name or a missing value."""
    return Template(_subjects()[name]).substitute(values)
