"""A dossier's whole history for ``intake show`` and the 查询 command: versions, files, findings,
verdicts, replies sent and officers' decisions, read from the store.

Times are ISO 8601 in the campaign's time zone (Beijing time, ``+08:00``, for this campaign), as
in every mail and digest; the store keeps them in UTC.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any
from zoneinfo import ZoneInfo

from bot.store.bounces import bounces
from bot.store.database import Store
from bot.store.decisions import ACTION_LABELS, Decision, decisions_for
from outbox.delivery import queue as outgoing
from outbox.mail.compose import ROLE_LABELS
from rules.verdict import verdict_label
from rules.wording import DOSSIER_STATE_LABELS, SEVERITY_LABELS

SENT_ZH = {"pending": "待发送", "sent": "已发出", "failed": "未送达"}
REPLY_KIND_ZH = {
    "receipt": "回执",
    "defect_notice": "补正通知",
    "decision_waive": "审核意见（豁免）",
    "decision_reject": "不予推荐通知",
    "decision_restore": "撤销不予推荐通知",
    "bounce_alert": "退信提醒（致经办人）",
}


@dataclass
class FileView:
    """One file of a version: decoded name, role, size (bytes), sha256, video duration (seconds)."""

    name: str
    role: str
    size: int
    sha256: str
    duration_s: float | None = None


@dataclass
class VersionView:
    """One version of the dossier as judged (findings after the officers' waivers)."""

    version: int
    created_at: str
    input_id: int
    input_name: str
    verdict: str
    files: list[FileView] = field(default_factory=list)
    findings: list[dict[str, str]] = field(default_factory=list)  # Finding.to_json() objects


@dataclass
class ReplyView:
    """A message queued or sent about the dossier (from the ``outgoing`` table)."""

    kind: str
    status: str  # pending | sent | failed
    created_at: str  # ISO 8601 in the campaign's time zone
    rcpts: list[str]
    subject: str
    message_id: str


@dataclass
class History:
    """Everything about one dossier, oldest first in each list."""

    tracking: str
    applicant: str | None
    project_name: str | None
    uscc: str | None
    category: str | None
    direction: str | None
    sender: str | None
    state: str  # open | rejected
    verdict: str
    created_at: str
    versions: list[VersionView] = field(default_factory=list)
    replies: list[ReplyView] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    bounces: list[dict[str, Any]] = field(default_factory=list)  # BounceRow.to_json(), local times

    def to_json(self) -> dict[str, Any]:
        """The history as one JSON-ready object (``intake show --json``)."""
        out = asdict(self)
        out["decisions"] = [{**asdict(d), "at": d.at.isoformat()} for d in self.decisions]
        return out


def local_iso(value: str | float | datetime, tz: tzinfo) -> str:
    """A stored moment (ISO 8601 text, POSIX seconds, or a datetime; naive means UTC) as ISO 8601
    in ``tz`` to the second: ``2023-11-29T10:00:00+08:00``. Unparseable text is returned as is."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).isoformat(timespec="seconds")


def dossier_history(
    store: Store, tracking: str, tz: tzinfo | str = "Asia/Shanghai"
) -> History | None:
    """The history of ``tracking`` (case-insensitive), or None when there is no such dossier.

    ``tz``: the time zone every time is given in (the campaign's, ``Campaign.timezone``).
    """
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    tracking = tracking.strip().upper()
    d = store.dossier_by_tracking(tracking)
    if d is None:
        return None
    h = History(
        tracking=d.tracking,
        applicant=d.applicant,
        project_name=d.project_name,
        uscc=d.uscc,
        category=d.category,
        direction=d.direction,
        sender=d.sender,
        state=d.state,
        verdict=d.verdict,
        created_at=local_iso(d.created_at, tz),
    )
    names = {r.id: r.name for r in store.inputs()}
    for v in store.versions_of(d.id):
        facts = json.loads(v["facts"])
        files = [
            FileView(
                name=m["name"],
                role=m.get("role", "other"),
                size=m["size"],
                sha256=m["sha256"],
                duration_s=(m.get("video") or {}).get("duration_s"),
            )
            for m in facts.get("materials", [])
        ]
        h.versions.append(
            VersionView(
                version=v["version"],
                created_at=local_iso(v["created_at"], tz),
                input_id=v["input_id"],
                input_name=names.get(v["input_id"], ""),
                verdict=v["verdict"],
                files=files,
                findings=json.loads(v["findings"]),
            )
        )
    parser = BytesHeaderParser(policy=default_policy)
    for r in outgoing.about(store.conn, tracking):
        headers = parser.parsebytes(r.raw)
        h.replies.append(
            ReplyView(
                kind=r.kind,
                status=r.status,
                created_at=local_iso(r.created_at, tz),
                rcpts=r.rcpts,
                subject=str(headers.get("subject", "")),
                message_id=r.message_id,
            )
        )
    h.decisions = [replace(d, at=d.at.astimezone(tz)) for d in decisions_for(store, tracking)]
    h.bounces = [{**b.to_json(), "at": local_iso(b.at, tz)} for b in bounces(store, tracking)]
    return h


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    total = int(round(seconds))
    return f"，时长 {total // 60}分{total % 60:02d}秒"


def history_text(h: History) -> str:
    """The history as plain text (Chinese labels), for the terminal and the 查询 answer."""
    lines = [
        f"受理编号：{h.tracking}",
        f"项目名称：{h.project_name or '-'}",
        f"申报单位：{h.applicant or '-'}（统一社会信用代码 {h.uscc or '-'}）",
        f"类别/方向：{h.category or '-'} / {h.direction or '-'}",
        f"当前结论：{verdict_label(h.verdict)}；状态：{DOSSIER_STATE_LABELS.get(h.state, h.state)}",
        "",
    ]
    for v in h.versions:
        lines.append(
            f"第 {v.version} 版（{v.created_at}，来自输入 {v.input_id} {v.input_name}）："
            f"{verdict_label(v.verdict)}"
        )
        for f in v.files:
            lines.append(
                f"  - {f.name}（{ROLE_LABELS.get(f.role, f.role)}，{f.size} 字节{_duration(f.duration_s)}，"
                f"sha256 {f.sha256}）"
            )
        for f in v.findings:
            lines.append(f"  * [{SEVERITY_LABELS.get(f['severity'], f['severity'])}] {f['code']}：{f['message']}")
        if not v.findings:
            lines.append("  * 无问题")
        if v is h.versions[-1]:
            for code in sorted({d.code for d in h.decisions if d.action == "waive" and d.code}):
                lines.append(f"  * 已豁免：{code}")
    lines.append("")
    lines.append("已发邮件：" if h.replies else "已发邮件：无")
    for r in h.replies:
        lines.append(
            f"  - {r.created_at} {REPLY_KIND_ZH.get(r.kind, r.kind)}（{SENT_ZH.get(r.status, r.status)}）"
            f" 至 {', '.join(r.rcpts)}：{r.subject}"
        )
    if h.bounces:
        lines.append("退信（邮件未送达，请电话联系申报单位）：")
    for b in h.bounces:
        lines.append(
            f"  - {b['at']} {REPLY_KIND_ZH.get(b['kind'], b['kind'])} 至 {b['to'] or '-'} 被退回："
            f"{b['reason']}"
        )
    lines.append("经办决定：" if h.decisions else "经办决定：无")
    for d in h.decisions:
        what = ACTION_LABELS.get(d.action, d.action) + (f" {d.code}" if d.code else "")
        lines.append(
            f"  - {d.at.isoformat(timespec='seconds')} {d.officer}（{d.via}）{what}"
            + (f"：{d.reason}" if d.reason else "")
        )
        if d.via == "mail" and (d.message_id or d.envelope_sender or d.token):
            proof = "确认码 " + d.token[:8] + "…" if d.token else "可信 DKIM，未经确认往返"
            lines.append(f"    （{proof}；邮件 {d.message_id or '无 Message-ID'}，"
                         f"信封发件人 {d.envelope_sender or '无'}）")
    return "\n".join(lines) + "\n"
