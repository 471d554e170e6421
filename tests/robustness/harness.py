"""Run one hostile input the way the daemon and ``intake check`` do, and watch what it touched."""

from __future__ import annotations

import resource
from dataclasses import dataclass
from pathlib import Path

from parsers.facts import DossierFacts
from parsers.inputs import read_input
from parsers.materials import ParseOptions
from rules.campaign import load_campaign
from rules.engine import evaluate

CAMPAIGN = load_campaign()
# Findings every incomplete dossier gets; the hostile part shows in the others.
MISSING = frozenset({"FORM_MISSING", "SCAN_MISSING", "VIDEO_MISSING"})


@dataclass
class Judged:
    """One input read and judged: the dossier, its findings as (code, where), the files written."""

    dossier: DossierFacts
    findings: list[tuple[str, str]]
    written: list[Path]  # files under the work folder after reading

    def codes(self) -> set[str]:
        return {c for c, _ in self.findings} - MISSING

    def where(self, code: str) -> list[str]:
        return [w for c, w in self.findings if c == code]


def judge(source: Path, root: Path, options: ParseOptions | None = None) -> Judged:
    """Read ``source`` with its work folder at ``root/work``; assert nothing was written elsewhere
    under ``root`` and no link or special file was created, then judge it with the notice's rules."""
    before = _files(root)
    work = root / "work"
    dossiers = read_input(source, work, options=options or ParseOptions(probe_timeout_s=10))
    after = _files(root)
    outside = {p for p in after - before if not p.is_relative_to(work)}
    assert outside == set(), f"written outside the work folder: {sorted(outside)[:5]}"
    written = sorted(p for p in after if p.is_relative_to(work))
    for p in written:
        assert p.resolve().is_relative_to(work.resolve()), p
        assert not p.is_symlink(), p
    evaluation = evaluate(dossiers, CAMPAIGN, level="city")
    assert len(dossiers) == 1
    findings = [(f.code, f.where) for f in evaluation.per_dossier[0]]
    return Judged(dossiers[0], findings, written)


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if not p.is_dir() or p.is_symlink()}


def peak_rss_mib() -> int:
    """The peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
