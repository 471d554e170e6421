"""The index of reply wording (outbox/mail/templates/README.md) names every template file and
every subject, and every subject is used."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from outbox.mail.template_files import TEMPLATES, subject

ROOT = Path(__file__).resolve().parents[1]


def test_every_template_file_is_in_the_index():
    index = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_]+)(?:\.txt/\.html|\.\*|\.txt|\.html)`", index))
    for path in TEMPLATES.iterdir():
        if path.name in ("README.md", "subjects.toml"):
            continue
        assert path.stem in named, f"{path.name} is missing from templates/README.md"


def test_every_subject_is_indexed_and_used():
    index = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    code = "".join(p.read_text(encoding="utf-8") for pkg in ("bot", "outbox")
                   for p in (ROOT / pkg).rglob("*.py"))
    names = tomllib.loads((TEMPLATES / "subjects.toml").read_text(encoding="utf-8"))
    for name in names:
        assert f"`{name}`" in index, name
        assert f'"{name}"' in code or name.startswith(("receipt", "defect", "decision_")), name
    assert subject("digest", unit="某局", month=11, day=29, scope="全部类别") == "【申报受理汇总】某局 11月29日（全部类别）"
