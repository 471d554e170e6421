"""What officers see on the terminal: the dossier table, the queue, quarantined inputs."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from rich.table import Table

from bot.config.model import Settings
from bot.health.report import health_data
from bot.store.bounces import bounces
from bot.store.database import Store
from bot.store.history import local_iso

VERDICT_ZH = {"accepted": "受理（回执）", "defective": "需补正（补正通知）"}
STATE_MARK = {"rejected": "不予推荐"}  # an open dossier shows "-"


def _open(settings: Settings) -> Store:
    return Store.open(settings.store.db_path, settings.store.archive_dir)


def _timezone(settings: Settings) -> ZoneInfo:
    from rules.campaign import CampaignError, load_campaign

    try:
        return ZoneInfo(load_campaign(settings.campaign.profile).timezone)
    except CampaignError:
        return ZoneInfo("Asia/Shanghai")


def status_data(settings: Settings) -> dict[str, Any]:
    """Dossiers (current versions), inputs by state, quarantined inputs, the outgoing queue, and
    ``health`` (bot/health/report.py: ``ok``, ``last_sync_at``, ``queue_oldest_s``, ``quarantined``),
    and ``bounced``: our mails returned by a bounce, ``[{"tracking", "to", "kind", "reason", "at",
    …}]`` (``bot/store/bounces.py``), times in the campaign's time zone."""
    store = _open(settings)
    try:
        dossiers = []
        for d, v in store.current_versions():
            findings = json.loads(v["findings"])
            dossiers.append({
                "tracking": d.tracking, "applicant": d.applicant, "project_name": d.project_name,
                "category": d.category, "direction": d.direction, "version": d.current_version,
                "state": d.state, "verdict": v["verdict"], "findings": [f["code"] for f in findings],
            })
        states: dict[str, int] = {}
        quarantined = []
        for row in store.inputs():
            states[row.state] = states.get(row.state, 0) + 1
            if row.state == "quarantined":
                quarantined.append({"id": row.id, "name": row.name,
                                    "error": (row.error or "").strip().splitlines()[-1:]})
        outgoing = {r[0]: r[1] for r in store.conn.execute(
            "SELECT status, COUNT(*) FROM outgoing GROUP BY status")}
        tz = _timezone(settings)
        bounced = [{**b.to_json(), "at": local_iso(b.at, tz)} for b in bounces(store)]
        return {"dossiers": dossiers, "inputs": states, "quarantined": quarantined,
                "outgoing": outgoing, "health": health_data(store, settings), "bounced": bounced}
    finally:
        store.close()


def dossier_table(settings: Settings) -> Table:
    """Tracking number, applicant, project, state (不予推荐 when rejected), verdict, findings: one
    row per dossier. The tracking number, state and verdict never wrap (an 80-column terminal
    shows them whole); the other columns fold."""
    data = status_data(settings)
    table = Table(title="申报材料 dossiers", show_lines=False)
    for col in ("tracking", "applicant", "project", "state", "verdict", "findings"):
        # short fixed values stay whole; names and finding codes fold into the room left
        table.add_column(col, no_wrap=col in ("tracking", "state", "verdict"), overflow="fold")
    for d in data["dossiers"]:
        state = STATE_MARK.get(d["state"], "-" if d["state"] == "open" else d["state"])
        table.add_row(d["tracking"], d["applicant"] or "-", d["project_name"] or "-",
                      f"[red]{state}[/red]" if d["state"] == "rejected" else state,
                      d["verdict"], ", ".join(d["findings"]) or "-")
    return table


def status_tables(settings: Settings) -> list[Table]:
    data = status_data(settings)
    tables = [dossier_table(settings)]
    t = Table(title="inputs and replies")
    t.add_column("what")
    t.add_column("count")
    for state, n in sorted(data["inputs"].items()):
        t.add_row(f"inputs {state}", str(n))
    for state, n in sorted(data["outgoing"].items()):
        t.add_row(f"replies {state}", str(n))
    tables.append(t)
    if data["bounced"]:
        b = Table(title="退信 bounced replies (call the applicant: intake show TRACKING)")
        for col in ("tracking", "to", "kind", "reason", "at"):
            b.add_column(col, overflow="fold", no_wrap=col == "tracking")
        for row in data["bounced"]:
            b.add_row(row["tracking"], row["to"], row["kind"], row["reason"], row["at"])
        tables.append(b)
    if data["quarantined"]:
        q = Table(title="quarantined inputs (intake reprocess ID)")
        q.add_column("id")
        q.add_column("name")
        q.add_column("last error")
        for row in data["quarantined"]:
            q.add_row(str(row["id"]), row["name"], " ".join(row["error"]))
        tables.append(q)
    return tables


def check_table(result: dict[str, Any]) -> Table:
    """``intake check`` without ``--json``: one row per finding, grouped by dossier."""
    table = Table(title="intake check", show_lines=True)
    for col in ("dossier", "verdict", "code", "severity", "clause", "where", "message"):
        table.add_column(col, overflow="fold")
    for d in result["dossiers"]:
        label = f"{d.get('applicant') or '-'}\n{d.get('project_name') or d.get('source')}"
        if not d["findings"]:
            table.add_row(label, d["verdict"], "-", "", "", "", "")
        for f in d["findings"]:
            table.add_row(label, d["verdict"], f["code"], f["severity"], f["clause"], f["where"], f["message"])
    for f in result["findings"]:
        table.add_row("(all)", "", f["code"], f["severity"], f["clause"], f["where"], f["message"])
    return table
