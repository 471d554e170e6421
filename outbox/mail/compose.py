"""Compose the 回执 (receipt) and the 补正通知 (defect notice) as 7-bit, threaded EmailMessages.

Subject layout:

- a fresh message: ``【回执】<project name> [<tracking>]`` / ``【补正通知】<project name> [<tracking>]``;
- a reply to a mail whose subject carries none of our tracking numbers (a first submission):
  ``回复：【回执】<original subject> [<tracking>]`` / ``回复：【补正通知】…``. The tag comes
  first so a phone, which shows only the start of a subject, shows what the mail is; the original
  subject follows so the clerk recognises it (case C20: the decoded subject starts with
  ``回复：`` and contains the original subject), but only as
  :func:`outbox.mail.subject_echo.echo_subject` leaves it: no URLs, at most 60 characters (a
  stranger's subject must not travel under the bureau's name); the tracking tag ends it for the resubmission
  matcher. Reply prefixes the original already carries (``Re:``, ``回复：``, ``答复：`` …) are
  dropped, so the subject never reads ``回复：【回执】RE: …``;
- a reply to a mail that already carries one of our tracking numbers (a resubmission answering
  our notice): ``回复：`` + the fresh subject, so subjects do not grow ``回复：回复：【补正通知】…``.

Bodies come from ``outbox/mail/templates/`` (``string.Template``): plain text and an HTML alternative.
Headers are encoded by :mod:`outbox.mail.headers` (RFC 2047 words holding whole characters, RFC 2231
attachment names with an RFC 2047 ``name=`` fallback, lines ≤ 78).
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Sequence
from datetime import date, datetime
from email.message import EmailMessage

from outbox.mail.context import ReplyContext
from outbox.mail.finish import finish
from outbox.mail.headers import COMPOSE_POLICY, param_header, set_header
from outbox.mail.subject_echo import echo_subject
from outbox.mail.template_files import load_template, subject
from outbox.mail.tracking import parse_tracking
from parsers.facts import CloudLink, DossierFacts, MailFacts, Material
from rules.cross_dossier import NOT_FIXED_BY_FILES
from rules.finding import Finding
from rules.wording import date_text, time_text

ROLE_LABELS = {
    "application_form": "申报书",
    "scanned_copy": "全套扫描件",
    "video": "项目视频",
    "summary_table": "汇总表",
    "other": "其他材料",
}
WEEKDAYS = "一二三四五六日"
NUMERALS = "一二三四五六七八九十"
# The numbered sections of each body, in order; "warnings" is left out when there are none, and
# the templates number the others ${n_<section>} so the numbering has no gap.
SECTIONS: dict[str, list[str]] = {
    "receipt": ["materials", "warnings", "steps", "contact"],
    "defect": ["errors", "warnings", "materials", "how", "contact"],
}

# A late 回执 never says 予以受理 while its LATE_SUBMISSION warning says an officer decides.
ACCEPTANCE_LATE = ("经形式审查，材料齐全；因晚于截止日期收到，材料已登记，", "是否受理由经办人决定")
LATE_STEP = "经办人决定受理后，请按其通知报送纸质材料和光盘。"


REPLY_WITH_FILES = "请直接回复本邮件，附上修改后的文件即可；未改动的材料无需重发，系统会保留上一版。"


def how_to_correct(errors: Sequence[Finding], tracking: str) -> dict[str, str]:
    """The 补正通知's "如何补正" lines fitted to its defects: files to send back, an officer to
    contact (``NOT_FIXED_BY_FILES``), or both (naming which numbered problems are which)."""
    by_contact = [i for i, f in enumerate(errors, 1) if f.code in NOT_FIXED_BY_FILES]
    keep = f"请保留主题中的编号 [{tracking}]。"
    if not by_contact or not errors:
        how = REPLY_WITH_FILES + keep
        label = "补正截止"
    elif len(by_contact) == len(errors):
        how = ("以上问题无法通过补发文件解决，请按每个问题所列的处理方式，联系我局经办人员（见下方联系方式）"
               "说明情况；联系时请告知受理编号 [" + tracking + "]。")
        label = "办理截止"
    else:
        numbers = "、".join(f"第 {i} 项" for i in by_contact)
        how = (f"{numbers}无法通过补发文件解决，请按该项所列的处理方式联系我局经办人员；其余问题"
               + REPLY_WITH_FILES.removeprefix("请") + keep)
        label = "补正截止"
    return {"how": how, "deadline_label": label}


def acceptance_sentence(findings: Sequence[Finding], *, video_by_link: bool) -> tuple[str, str]:
    """The 回执's opening verdict as (plain text, HTML): 予以受理 only when no officer has to decide
    first (LATE_SUBMISSION), and said as unverified for a video sent as a link."""
    if any(f.code == "LATE_SUBMISSION" for f in findings):
        lead, outcome = ACCEPTANCE_LATE
        return f"{lead}{outcome}。", f'{html.escape(lead)}<b style="color: #9a6700;">{outcome}</b>。'
    if video_by_link:
        return ACCEPTANCE_LINK, html.escape(ACCEPTANCE_LINK)
    return ACCEPTANCE, '经形式审查，材料齐全，<b style="color: #1a7f37;">予以受理</b>。'


Attachment = tuple[str, bytes, str]  # (file name, bytes, MIME type "application/pdf")


def compose_receipt(
    ctx: ReplyContext,
    dossier: DossierFacts,
    findings: list[Finding],
    tracking: str,
    *,
    to: str,
    original: MailFacts | None = None,
    version: int = 1,
    attachments: Sequence[Attachment] = (),
    message_id: str | None = None,
) -> EmailMessage:
    """The 回执 for an accepted dossier: materials received, warnings, next steps, contact.

    ``findings`` may hold warnings (listed) — errors would make it a defect notice, and are listed
    as warnings here if passed anyway. ``to`` is the ASCII address to answer; ``original`` the
    submission mail (for the subject and In-Reply-To/References); ``attachments`` extra files as
    ``(name, bytes, mime type)``; ``message_id`` a fixed Message-ID (default: a new one on
    ``ctx.domain``). Returns an EmailMessage whose :func:`outbox.mail.headers.to_bytes` is 7-bit.
    """
    return _compose(
        "receipt", ctx, dossier, findings, tracking, to, original, version, attachments, message_id
    )


def compose_defect_notice(
    ctx: ReplyContext,
    dossier: DossierFacts,
    findings: list[Finding],
    tracking: str,
    *,
    to: str,
    original: MailFacts | None = None,
    version: int = 1,
    attachments: Sequence[Attachment] = (),
    message_id: str | None = None,
) -> EmailMessage:
    """The 补正通知 for a defective dossier: each error (actual vs expected, clause, fix), how to
    resubmit (reply with only the corrected files), the deadline and the days left.

    Same arguments and result as :func:`compose_receipt`.
    """
    return _compose(
        "defect", ctx, dossier, findings, tracking, to, original, version, attachments, message_id
    )


def reply_subject(
    kind: str,
    project_name: str,
    tracking: str,
    original_subject: str | None,
    prefix: str = "回复：",
) -> str:
    """The subject for ``kind`` (``receipt``|``defect``), following the layout in the module docstring."""
    name = "receipt" if kind == "receipt" else "defect"
    fresh = subject(name, subject=project_name, tracking=tracking)
    orig = " ".join((original_subject or "").split())
    if not orig:
        return fresh
    if parse_tracking(orig):
        return prefix + fresh
    return prefix + subject(name, subject=echo_subject(orig) or project_name, tracking=tracking)


def _compose(
    kind: str,
    ctx: ReplyContext,
    dossier: DossierFacts,
    findings: list[Finding],
    tracking: str,
    to: str,
    original: MailFacts | None,
    version: int,
    attachments: Sequence[Attachment],
    message_id: str | None,
) -> EmailMessage:
    project = (dossier.project_name or "").strip() or "申报材料"
    errors = [f for f in findings if f.severity == "error"] if kind == "defect" else []
    warnings = [f for f in findings if f not in errors]
    values = reply_values(ctx, dossier, project, tracking, version)
    values["error_count"] = str(len(errors))
    values.update(how_to_correct(errors, tracking))
    if errors and all(f.code in NOT_FIXED_BY_FILES for f in errors):
        values["large_file_note"] = ""  # nothing to send
    late = kind == "receipt" and any(f.code == "LATE_SUBMISSION" for f in warnings)
    values["warnings_title"] = "提示（请留意）" if late else "提示（不影响受理，请留意）"
    steps = list(ctx.next_steps)
    if late:
        # The notice's "请于<deadline>前报送纸质版" has passed: the officer's decision comes first.
        steps = [LATE_STEP] + [s for s in steps if not s.startswith("请于")]

    sections = SECTIONS[kind] if warnings else [s for s in SECTIONS[kind] if s != "warnings"]
    numbers = section_numbers(sections)

    links = [link_row(link) for link in dossier.cloud_links]
    video_by_link = bool(links) and not any(m.role == "video" for m in dossier.materials)
    text_vals = dict(values, **numbers)
    acceptance_text, acceptance_html = acceptance_sentence(warnings if kind == "receipt" else [],
                                                           video_by_link=video_by_link)
    text_vals["acceptance"] = acceptance_text
    text_vals["materials"] = items_text("material_item.txt", material_rows(dossier.materials))
    first = len(dossier.materials) + 1
    text_vals["links_text"] = "".join(
        load_template("link_item.txt").substitute(row, number=i) for i, row in enumerate(links, first)
    )
    text_vals["errors"] = items_text("finding_item.txt", [finding_row(f) for f in errors])
    text_vals["warnings_section"] = (
        load_template(f"{kind}_warnings.txt").substitute(
            numbers, warnings_title=values["warnings_title"],
            warnings=items_text("finding_item.txt", [finding_row(f) for f in warnings]),
        )
        if warnings
        else ""
    )
    text_vals["next_steps"] = items_text("step_item.txt", [{"text": s} for s in steps])
    body_text = load_template(f"{kind}.txt").substitute(text_vals)

    html_vals = {k: html.escape(v) for k, v in values.items()} | numbers
    html_vals["acceptance"] = acceptance_html
    html_vals["materials"] = items_html("material_item.html", material_rows(dossier.materials)) + (
        "".join(load_template("link_item.html").substitute({k: html.escape(v) for k, v in row.items()})
                for row in links)
    )
    html_vals["errors"] = items_html("finding_item.html", [finding_row(f) for f in errors])
    html_vals["warnings_section"] = (
        load_template(f"{kind}_warnings.html").substitute(
            numbers, warnings_title=values["warnings_title"],
            warnings=items_html("finding_item.html", [finding_row(f) for f in warnings]),
        )
        if warnings
        else ""
    )
    html_vals["next_steps"] = items_html("step_item.html", [{"text": s} for s in steps])
    content = load_template(f"{kind}.html").substitute(html_vals)
    title = "回执" if kind == "receipt" else "补正通知"
    body_html = load_template("page.html").substitute(
        title=title, content=content, unit=html_vals["unit"], date=html_vals["date"]
    )

    msg = EmailMessage(policy=COMPOSE_POLICY)
    msg.set_content(body_text, subtype="plain", charset="utf-8")
    msg.add_alternative(body_html, subtype="html", charset="utf-8")
    for name, data, mime in attachments:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(
            data, maintype=maintype, subtype=subtype or "octet-stream", filename="attachment"
        )
        part = list(msg.iter_attachments())[-1]
        set_header(part, "Content-Type", param_header("Content-Type", mime, [("name", name)]))
        set_header(
            part,
            "Content-Disposition",
            param_header("Content-Disposition", "attachment", [("filename", name)]),
        )

    subject = reply_subject(
        kind, project, tracking, original.subject if original else None, ctx.reply_prefix
    )
    return finish(
        msg,
        sender=(ctx.from_name, ctx.from_addr),
        to=[("", to)],
        subject=subject,
        now=ctx.now,
        message_id=message_id or new_message_id(tracking, ctx.domain),
        auto="auto-replied",
        loop_value=ctx.loop_header_value,
        **answering(original),
        headers={
            "X-Intake-Tracking": tracking,
            "X-Intake-Verdict": "accepted" if kind == "receipt" else "defective",
            "X-Intake-Version": str(version),
        },
    )


def answering(original: MailFacts | None) -> dict:
    """``in_reply_to`` and ``references`` (keyword arguments of ``finish``) for a reply to
    ``original``: its Message-ID, after the references it carries (RFC 5322 §3.6.4)."""
    if original is None or not original.message_id:
        return {}
    refs = [r for r in original.references if r != original.message_id] + [original.message_id]
    return {"in_reply_to": original.message_id, "references": refs}


def reply_values(
    ctx: ReplyContext, dossier: DossierFacts, project: str, tracking: str, version: int
) -> dict[str, str]:
    salutation = dossier.applicant or dossier.contact.name or "申报单位"
    received = dossier.received_at or ctx.now
    return {
        "salutation": salutation,
        "project_name": project,
        "tracking": tracking,
        "unit": ctx.unit,
        "campaign_name": ctx.campaign_name,
        "received_at": time_text(received, ctx.timezone, zone=True),
        "version": str(version),
        # "（与第 1 版相同，未作改动）" when the resubmission brought no changed file
        "version_note": ctx.extra.get("version_note", ""),
        "officer_contact": ctx.officer_contact,
        "large_file_note": ctx.large_file_note,
        "deadline": deadline_text(ctx.deadline, ctx.now),
        "date": _fmt_date(ctx.now.date()),
    }


def section_numbers(sections: Sequence[str]) -> dict[str, str]:
    """``["materials", "steps"]`` → ``{"n_materials": "一", "n_steps": "二"}`` (up to ten)."""
    return {f"n_{name}": NUMERALS[i] for i, name in enumerate(sections)}


def new_message_id(tracking: str, domain: str) -> str:
    """``<IIP2023-420100-0017-8.3f9a1c2b7d4e@example.org>``: unique, and a bounce quoting only the
    Message-ID still names the dossier."""
    return f"<{tracking}.{secrets.token_hex(6)}@{domain}>"


def deadline_text(deadline: date | None, now: datetime) -> str:
    """``2023年12月1日（星期五），还剩 5 天`` / ``…，今天截止`` / ``…，已过截止日期 2 天``."""
    if deadline is None:
        return "请尽快补正"
    days = (deadline - now.date()).days
    head = f"{_fmt_date(deadline)}（星期{WEEKDAYS[deadline.weekday()]}）"
    if days > 0:
        return f"{head}，还剩 {days} 天"
    if days == 0:
        return f"{head}，今天截止"
    return f"{head}，已过截止日期 {-days} 天，请尽快联系经办人"


def format_size(size: int) -> str:
    """Bytes as people read them: ``512 B``, ``35.2 KB``, ``12.3 MB``, ``1.25 GB`` (1024-based)."""
    if size < 1024:
        return f"{size} B"
    for unit, factor in (("KB", 1024), ("MB", 1024**2), ("GB", 1024**3)):
        if size < factor * 1024 or unit == "GB":
            value = size / factor
            return f"{value:.2f} {unit}" if unit == "GB" else f"{value:.1f} {unit}"
    return f"{size} B"


def format_duration(seconds: float) -> str:
    """Seconds as ``mm:ss`` (minutes not capped: ``72:05``), rounded to the nearest second."""
    total = int(round(seconds))
    return f"{total // 60:02d}:{total % 60:02d}"


def material_rows(materials: list[Material]) -> list[dict[str, str]]:
    rows = []
    for m in materials:
        details = []
        if m.video is not None and m.video.duration_s is not None:
            details.append(f"时长 {format_duration(m.video.duration_s)}")
        details.append(format_size(m.size))
        if not m.readable:
            details.append("无法读取")
        rows.append(
            {"name": m.name, "role": ROLE_LABELS.get(m.role, m.role), "details": "，".join(details)}
        )
    return rows


PROVIDER_LABELS = {"163": "网易邮箱超大附件", "qq": "QQ邮箱文件中转站", "baidu": "百度网盘",
                   "aliyun": "阿里云盘", "other": "网盘"}
ACCEPTANCE = "经形式审查，材料齐全，予以受理。"
# A video sent only as a link has not been checked: the receipt must not say it was (issue 19).
ACCEPTANCE_LINK = ("经形式审查，予以受理；项目视频以网盘链接报送，尚未核验，"
                   "我局将在链接失效前下载并核验视频时长，如有问题另行通知。")


def link_row(link: CloudLink) -> dict[str, str]:
    """A cloud-drive link as the receipt lists it: provider, URL, 提取码, expiry (or a warning)."""
    return {
        "provider": PROVIDER_LABELS.get(link.provider, "网盘"),
        "url": link.url,
        "code": f"，提取码 {link.code}" if link.code else "",
        "expiry": f"，有效期至 {_fmt_date(link.expires_at)}" if link.expires_at else "，有效期未注明",
    }


def finding_row(f: Finding) -> dict[str, str]:
    return {
        "message": f.message,
        # "二（四）" is a clause of the MIIT notice; other citations ("武汉市经信局通知") stand alone.
        "clause": (f"通知{f.clause}" if f.clause[:1] in "一二三四五六七八九十" else f.clause)
        if f.clause
        else "通知要求",
        "where": f.where or "整份申报材料",
        "fix": f.fix or "请按通知要求修改后重新提交",
    }


def items_text(template: str, rows: list[dict[str, str]]) -> str:
    if not rows:
        return "无\n"
    return "".join(load_template(template).substitute(row, number=i) for i, row in enumerate(rows, 1))


def items_html(template: str, rows: list[dict[str, str]]) -> str:
    if not rows:
        return "<li>无</li>"
    escaped = [{k: html.escape(v) for k, v in row.items()} for row in rows]
    return "".join(load_template(template).substitute(row) for row in escaped)


def _fmt_date(d: date) -> str:
    return date_text(d)


def aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.astimezone()
