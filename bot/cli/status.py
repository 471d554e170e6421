"""What officers see on the terminal: the dossier table, the queue, quarantined inputs."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from rich.table import Table

from bot.cli.terminal_text import cell
from bot.config.model import Settings
from bot.errors import IntakeError
from bot.health.report import health_data
from bot.store import packets as packet_table
from bot.store.bounces import bounces
from bot.store.database import Store
from bot.store.history import SENT_ZH, local_iso
from outbox.delivery import held, queue

VERDICT_ZH = {"accepted": "受理（回执）", "defective": "需补正（补正通知）"}
STATE_MARK = {"rejected": "不予推荐"}  # an open dossier shows its verdict
VERDICT_SHORT = {"accepted": "受理", "defective": "需补正"}
# An input's state and a reply's, as officers read them (the store's word after it, for logs).
INPUT_STATE_ZH = {"received": "待处理", "processed": "已处理", "quarantined": "已隔离（待人工处理）",
                  "oversize": "超过大小上限", "refused": "已拒收", "ignored": "未受理（无材料）"}
REPLY_STATE_ZH = {**SENT_ZH, "held": "暂缓发送（发送上限）"}


class NoStoreYet(FileNotFoundError, IntakeError):
    """A read-only command found no store: it says so instead of creating an empty one."""


def open_existing(settings: Settings) -> Store:
    """The store for a read-only command (status, show): never created by reading it.

    Raises :class:`NoStoreYet` (an OSError: one ``intake: …`` line, exit 1) when it is not there.
    """
    db = settings.store.db_path
    if not db.is_file():
        raise NoStoreYet(f"no store at {db}: nothing has been taken yet (intake run), "
                         "or [store] data_dir points elsewhere")
    return Store.open(db, settings.store.archive_dir)


def _open(settings: Settings) -> Store:
    return open_existing(settings)


def campaign_timezone(settings: Settings) -> ZoneInfo:
    """The campaign profile's time zone (Asia/Shanghai when the profile cannot be loaded)."""
    from rules.campaign import CampaignError, load_campaign

    try:
        return ZoneInfo(load_campaign(settings.campaign.profile).timezone)
    except CampaignError:
        return ZoneInfo("Asia/Shanghai")


def status_data(settings: Settings) -> dict[str, Any]:
    """Dossiers (current versions), inputs by state, quarantined inputs, the outgoing queue by
    status (``held``: replies a sending limit held back, ``outbox/delivery/held.py``), ``health``
    (bot/health/report.py: ``ok``, ``last_sync_at``, ``queue_oldest_s``, ``quarantined``), and
    ``bounced``: our mails returned by a bounce, ``[{"tracking", "to", "kind", "reason", "at",
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
                quarantined.append({"id": row.id, "name": row.name, "parse_attempts": row.parse_attempts,
                                    "error": (row.error or "").strip().splitlines()[-1:]})
        outgoing = queue.counts_by_status(store.conn)
        if held_n := held.count_waiting(store.conn):
            outgoing["held"] = held_n
        tz = campaign_timezone(settings)
        bounced = [{**b.to_json(), "at": local_iso(b.at, tz)} for b in bounces(store)]
        return {"dossiers": dossiers, "inputs": states, "quarantined": quarantined,
                "outgoing": outgoing, "health": health_data(store, settings), "bounced": bounced,
                "packets": _local_times(packet_table.overview(store.conn), tz)}
    finally:
        store.close()


def _local_times(packets: dict[str, list[dict]], tz) -> dict[str, list[dict]]:  # noqa: ANN001
    """``packet_table.overview`` with its times in the campaign's zone."""
    for b in packets["built"]:
        b["built_at"] = local_iso(b["built_at"], tz)
    for r in packets["received"]:
        r["registered_at"] = local_iso(r["registered_at"], tz)
    return packets


def dossier_table(settings: Settings, only: set[str] | None = None) -> Table:
    """One row per dossier (``only``: those tracking numbers): tracking number, verdict (受理 /
    需补正, or 不予推荐 when an officer rejected it), finding codes one per line, applicant and
    project. Tracking numbers, verdicts and codes never wrap (an 80-column terminal shows them
    whole); the names fold."""
    data = status_data(settings)
    table = Table(title="申报材料 dossiers", show_lines=False)
    for col in ("受理编号", "结论", "问题代码"):
        table.add_column(col, no_wrap=True)
    table.add_column("申报单位 / 项目", overflow="fold")
    for d in data["dossiers"]:
        if only is not None and d["tracking"] not in only:
            continue
        if d["state"] == "open":
            verdict = VERDICT_SHORT.get(d["verdict"], d["verdict"])
        else:
            verdict = STATE_MARK.get(d["state"], d["state"])
        names = "\n".join(cell(x) for x in (d["applicant"], d["project_name"]) if x) or "-"
        table.add_row(cell(d["tracking"]), f"[red]{verdict}[/red]" if d["state"] == "rejected" else verdict,
                      "\n".join(dict.fromkeys(cell(c) for c in d["findings"])) or "-", names)
    return table


def status_tables(settings: Settings) -> list[Table]:
    data = status_data(settings)
    tables = [dossier_table(settings)]
    t = Table(title="收件与回复 inputs and replies")
    t.add_column("状态 state")
    t.add_column("数量 count")
    for state, n in sorted(data["inputs"].items()):
        t.add_row(f"收件 {INPUT_STATE_ZH.get(state, state)} (inputs {state})", str(n))
    for state, n in sorted(data["outgoing"].items()):
        t.add_row(f"回复 {REPLY_STATE_ZH.get(state, state)} (replies {state})", str(n))
    tables.append(t)
    if data["bounced"]:
        b = Table(title="退信 bounced replies (请电话联系申报单位: intake show TRACKING)")
        b.add_column("受理编号 tracking", no_wrap=True)  # a tracking number is read whole
        for col in ("收件人 to", "类别 kind", "原因 reason", "时间 at"):
            b.add_column(col, overflow="fold")
        for row in data["bounced"]:
            b.add_row(row["tracking"], row["to"], row["kind"], row["reason"], row["at"])
        tables.append(b)
    packets = data["packets"]
    if any(packets.values()):
        k = Table(title="推荐材料包 packets")
        k.add_column("方向 direction", overflow="fold")
        k.add_column("编号 packet", no_wrap=True)  # a packet id is read whole
        for col in ("单位 unit", "情况 state", "时间 at"):
            k.add_column(col, overflow="fold")
        for b in packets["built"]:
            sent = f"已发出 {b['parts_sent']}/{b['parts']} 封 (parts sent)" if b["parts"] else "未发送 (not sent)"
            k.add_row("上报 built here", cell(b["packet_id"]), f"{b['dossiers']} 个项目", sent, b["built_at"])
        for r in packets["received"]:
            k.add_row("收到 from below", cell(r["packet_id"]), cell(r["unit"] or "-"),
                      f"已登记 {r['registered']}/{r['projects']} 个项目 (registered)", r["registered_at"])
        for w in packets["waiting"]:
            k.add_row("收到 from below", cell(w["key"]), "-",
                      f"已收 {w['held']}/{w['total']} 封，待续 (parts kept, waiting)", "-")
        tables.append(k)
    if data["quarantined"]:
        q = Table(title="已隔离的收件 quarantined inputs (intake reprocess ID)")
        q.add_column("id")
        q.add_column("名称 name")
        q.add_column("最后的错误 last error")
        for row in data["quarantined"]:
            q.add_row(str(row["id"]), cell(row["name"]), cell(" ".join(row["error"])))
        tables.append(q)
    return tables


def check_table(result: dict[str, Any]) -> Table:
    """``intake check`` without ``--json``: one row per finding, grouped by dossier, with the
    verdict in the words ``intake status`` uses (受理 / 需补正) and how to fix each defect."""
    table = Table(title="intake check", show_lines=True)
    for col in ("dossier", "verdict", "code", "severity", "clause", "where", "message", "fix"):
        table.add_column(col, overflow="fold")
    for d in result["dossiers"]:
        label = f"{cell(d.get('applicant') or '-')}\n{cell(d.get('project_name') or d.get('source'))}"
        verdict = VERDICT_SHORT.get(d["verdict"], d["verdict"])
        if not d["findings"]:
            table.add_row(label, verdict, "-", "", "", "", "", "")
        for f in d["findings"]:
            table.add_row(label, verdict, f["code"], f["severity"], cell(f["clause"]), cell(f["where"]),
                          cell(f["message"]), cell(f.get("fix")))
    for f in result["findings"]:
        table.add_row("(all)", "", f["code"], f["severity"], cell(f["clause"]), cell(f["where"]),
                      cell(f["message"]), cell(f.get("fix")))
    return table
