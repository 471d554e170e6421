"""The rule object: a stable code, the clause it enforces, templates, and a check yielding hits."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rules.finding import Finding, Severity

# Which facts a rule's check sees (and how it is called):
#   dossier: check(dossier: DossierFacts, ctx: Context) -> hits
#   intake:  check(dossiers: list[DossierFacts], ctx: Context) -> hits, each with "dossier": index
#   table:   check(table: TableFacts, dossiers: list[DossierFacts], ctx) -> hits ("dossier" optional)
#   packet:  check(ranked: list[DossierFacts], ctx: Context) -> hits, each with "dossier": index
Scope = Literal["dossier", "intake", "table", "packet"]

# A hit: the values the templates need, plus "where" (file name, sheet!A1 or ""), optionally
# "dossier" (index, for intake/table/packet scopes) and "severity" (a profile-set severity).
Hit = Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    """One rule of the catalogue.

    ``message_template`` and ``fix_template`` are ``str.format`` templates over the hit's keys;
    the message names the actual and the expected value, the fix says what to send again.
    The check never raises on odd facts; it yields nothing when it has nothing to say.
    """

    code: str
    clause: str
    severity: Severity
    title: str  # short Chinese meaning, for the README table and digests
    message_template: str
    fix_template: str
    check: Callable[..., Iterable[Hit]]
    scope: Scope = "dossier"

    def finding(self, hit: Hit) -> Finding:
        """The finding for one hit (severity from the hit when the profile sets it)."""
        return Finding(
            code=self.code,
            severity=hit.get("severity", self.severity),
            clause=self.clause.format_map(hit) if "{" in self.clause else self.clause,
            message=self.message_template.format_map(hit),
            where=str(hit.get("where", "")),
            fix=self.fix_template.format_map(hit),
        )
