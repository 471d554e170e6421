"""The catalogue: the one explicit tuple of every rule, in the order findings are reported."""

from __future__ import annotations

from rules import cross_dossier, form_content, materials, process, table_rules
from rules.rule import Rule

RULES: tuple[Rule, ...] = (
    *materials.RULES,
    *form_content.RULES,
    *cross_dossier.RULES,
    *process.RULES,
    *table_rules.RULES,
)


def _by_code(rules: tuple[Rule, ...]) -> dict[str, Rule]:
    out: dict[str, Rule] = {}
    for r in rules:
        if r.code in out:
            raise ImportError(f"duplicate rule code {r.code} in rules/catalog.py")
        out[r.code] = r
    return out


RULES_BY_CODE: dict[str, Rule] = _by_code(RULES)
CODES: tuple[str, ...] = tuple(RULES_BY_CODE)

# Findings for the officers only (the digest, `intake show`), never written into a reply: they
# speak about other senders, whom an applicant must not learn about.
OFFICER_ONLY: frozenset[str] = frozenset({"APPLICANT_SENDER_CONFLICT"})
