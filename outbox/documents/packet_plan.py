"""What goes into one packet (the plan ``bot/upstream/packets.py`` makes, the documents render)."""

from __future__ import annotations

from dataclasses import dataclass, field

from outbox.documents.summary_table import SummaryRow


@dataclass(frozen=True)
class PacketMaterial:
    """One file of a dossier: its role, original (decoded) name, sha256 and size in bytes."""

    role: str
    name: str
    sha256: str
    size: int


@dataclass
class PacketEntry:
    """One dossier of the packet: the 汇总表 row, the files and what the rules found."""

    tracking: str
    row: SummaryRow
    short_name: str
    materials: list[PacketMaterial]
    facts: dict  # JSON-ready: project_name, applicant, uscc, category, direction, contact, priority…
    findings: list[dict] = field(default_factory=list)
    verdict: str = "accepted"


@dataclass
class PacketPlan:
    """What goes into one packet: recommended entries in order, plus the rest for the table."""

    packet_id: str
    title: str
    campaign_name: str
    unit: str
    unit_short: str
    division_code: str
    level: str
    created_at: str  # ISO 8601
    recommended: list[PacketEntry]
    not_recommended: list[PacketEntry] = field(default_factory=list)  # beyond the quota
    defective: list[tuple[PacketEntry, list[str]]] = field(default_factory=list)
