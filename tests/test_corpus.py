"""The golden corpus: each tests/corpus/<entry>/ input checked by `intake check --json` gives its
expected.json (decoded names, roles, durations, sha256 of the exact bytes, codes, verdict).

Every bug report fixed adds an entry (imap-tools' habit). Regenerate inputs with
tests/corpus/make_corpus.py; expected.json files are reviewed by hand, never rewritten by a test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app

CORPUS = Path(__file__).resolve().parent / "corpus"
ENTRIES = sorted(p.parent for p in CORPUS.glob("*/expected.json"))


@pytest.mark.parametrize("entry", ENTRIES, ids=[p.name for p in ENTRIES])
def test_corpus_entry(entry: Path) -> None:
    expected = json.loads((entry / "expected.json").read_text(encoding="utf-8"))
    res = CliRunner().invoke(app, ["check", "--json", str(entry / expected["input"])])
    assert res.exit_code == (1 if expected["verdict"] == "defective" else 0), res.output
    result = json.loads(res.stdout)
    (d,) = result["dossiers"]
    if "mail" in expected:  # the decoded subject and sender of a mail input
        (mail,) = result["inputs"]
        assert {k: mail[k] for k in ("subject", "from_name", "from_address")} == expected["mail"]
    got_materials = sorted([m["name"], m["role"], m.get("duration_s"), m["sha256"]] for m in d["materials"])
    assert got_materials == expected["materials"]
    assert sorted([f["code"], f["severity"], f["where"]] for f in d["findings"]) == expected["codes"]
    assert (d["applicant"], d["verdict"]) == (expected["applicant"], expected["verdict"])
    for m in d["materials"]:
        assert "\ufffd" not in m["name"] and "?" not in m["name"]


def test_corpus_is_not_empty() -> None:
    assert len(ENTRIES) >= 4
