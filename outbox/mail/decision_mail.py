"""Mails that follow an officer's decision: the updated 回执 after a waiver, the 不予推荐 and restore
notices to the applicant, and the confirmation answering an officer's command mail.

Bodies come from ``outbox/mail/templates/decision_*`` and ``officer_reply*`` (``string.Template``),
plain text plus an HTML alternative, built with the same helpers and 7-bit header encoding as the
回执 and 补正通知 (:mod:`outbox.mail.compose`, :mod:`outbox.mail.headers`). Subjects carry the tracking
number in brackets (``【回执（更新）】<project> [<tracking>]``), so an applicant's answer threads
onto the dossier. Notices to applicants are ``Auto-Submitted: auto-generated`` (RFC 3834 §5: not a
reply to their mail); the confirmation to an officer is ``auto-replied``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from outbox.mail.compose import (
    aware,
    finding_row,
    items_html,
    items_text,
    load_template,
    material_rows,
    new_message_id,
    reply_values,
    section_numbers,
)
from outbox.mail.context import ReplyContext
from outbox.mail.finish import finish
from outbox.mail.headers import COMPOSE_POLICY
from outbox.mail.template_files import subject
from outbox.mail.threads import has_reply_prefix
from parsers.facts import DossierFacts, MailFacts
from rules.catalog import RULES_BY_CODE
from rules.finding import Finding


@dataclass(frozen=True)
class CommandResult:
    """One command's outcome for the officer's confirmation.

    ``line``: the command as the officer wrote it; ``ok``: carried out; ``message``: one Chinese
    sentence (what was done, or why not); ``details``: optional plain text shown below (查询).
    """

    line: str
    ok: bool
    message: str
    details: str = ""


@dataclass(frozen=True)
class Threading:
    """Where a notice sits in the applicant's thread: our last Message-ID about the dossier."""

    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


def compose_waiver_notice(
    ctx: ReplyContext,
    dossier: DossierFacts,
    findings: list[Finding],
    tracking: str,
    *,
    to: str,
    waived: Sequence[str],
    version: int,
    reason: str = "",
    waived_findings: Sequence[Finding] = (),
    thread: Threading = Threading(),
    message_id: str | None = None,
) -> EmailMessage:
    """The updated 回执 (or, when errors remain, the updated 补正通知) after a waiver.

    ``findings``: the dossier's findings after the waiver; ``waived``: the finding codes the
    bureau accepted, each listed in words (the rule's title, and the message of the matching
    finding in ``waived_findings``, the findings as they stood before the waiver) with the
    officer's ``reason`` as 审核意见; the code itself is never shown to the applicant. Verdict
    header: ``accepted`` when no error remains, else ``defective``. Sections are numbered without
    gaps: the 提示 section is left out when nothing remains to list.
    """
    errors = [f for f in findings if f.severity == "error"]
    accepted = not errors
    project = (dossier.project_name or "").strip() or "申报材料"
    values = reply_values(ctx, dossier, project, tracking, version)
    rows = [_waived_row(code, waived_findings, reason) for code in waived]
    remaining = errors if errors else findings
    steps = [{"text": s} for s in ctx.next_steps] if accepted else []
    sections = (["remaining"] if remaining else []) + ["materials"] + (["steps"] if steps else [])
    numbers = section_numbers(sections)
    values.update(
        outcome=(
            "据此，您单位的申报材料已齐全，予以受理。本邮件即为更新后的回执。"
            if accepted
            else f"其余 {len(errors)} 个问题仍需补正，详见下文；补正前本项目暂不予受理。"
        ),
        outcome_color="#1a7f37" if accepted else "#b35900",
        remaining_title="提示（不影响受理，请留意）" if accepted else "仍需补正的问题",
    )
    text_vals = dict(values, **numbers)
    text_vals["waived"] = items_text("decision_waived_item.txt", rows)
    text_vals["materials"] = items_text("material_item.txt", material_rows(dossier.materials))
    text_vals["remaining_section"] = _section(
        "decision_waive_remaining.txt", remaining, text_vals,
        remaining=items_text("finding_item.txt", [finding_row(f) for f in remaining]),
    )  # fmt: skip
    text_vals["steps_section"] = _section(
        "decision_waive_steps.txt", steps, text_vals,
        next_steps=items_text("step_item.txt", steps),
    )  # fmt: skip
    html_vals = {k: html.escape(v) for k, v in values.items()} | numbers
    html_vals["waived"] = items_html("decision_waived_item.html", rows)
    html_vals["materials"] = items_html("material_item.html", material_rows(dossier.materials))
    html_vals["remaining_section"] = _section(
        "decision_waive_remaining.html", remaining, html_vals,
        remaining=items_html("finding_item.html", [finding_row(f) for f in remaining]),
    )  # fmt: skip
    html_vals["steps_section"] = _section(
        "decision_waive_steps.html", steps, html_vals,
        next_steps=items_html("step_item.html", steps),
    )  # fmt: skip
    return _finish(
        ctx,
        to=to,
        subject=subject("receipt_updated" if accepted else "defect_updated", project=project,
                        tracking=tracking),
        title="回执（更新）" if accepted else "补正通知（更新）",
        text=load_template("decision_waive.txt").substitute(text_vals),
        content=load_template("decision_waive.html").substitute(html_vals),
        headers={
            "X-Intake-Tracking": tracking,
            "X-Intake-Verdict": "accepted" if accepted else "defective",
            "X-Intake-Version": str(version),
            "X-Intake-Decision": "waive",
        },
        auto="auto-generated",
        thread=thread,
        message_id=message_id or new_message_id(tracking, ctx.domain),
    )


def _waived_row(code: str, before: Sequence[Finding], reason: str) -> dict[str, str]:
    """One waived item in words: the rule's title, what the finding said, the officer's reason."""
    rule = RULES_BY_CODE.get(code)
    messages = list(dict.fromkeys(f.message for f in before if f.code == code and f.message))
    detail = ""
    if messages:
        more = f"等 {len(messages)} 处" if len(messages) > 1 else ""
        detail = f"（{messages[0]}{more}）"
    return {
        "title": rule.title if rule else "形式审查提出的问题",
        "detail": detail,
        "reason": reason.strip() or "经核实，同意",
    }


def _section(template: str, items: Sequence[object], values: dict[str, str], **extra: str) -> str:
    """``template`` filled with ``values`` and ``extra``, or "" when ``items`` is empty."""
    return load_template(template).substitute(values, **extra) if items else ""


def compose_rejection_notice(
    ctx: ReplyContext,
    dossier: DossierFacts,
    tracking: str,
    *,
    to: str,
    reason: str,
    thread: Threading = Threading(),
    message_id: str | None = None,
) -> EmailMessage:
    """The polite 不予推荐 notice, with the officer's reason (the notice: 审核单位资质、项目真实性)."""
    return _simple_notice(
        "decision_reject",
        ctx,
        dossier,
        tracking,
        to=to,
        title="不予推荐通知",
        extra={"reason": reason.strip() or "未说明"},
        decision="reject",
        thread=thread,
        message_id=message_id,
    )


def compose_restore_notice(
    ctx: ReplyContext,
    dossier: DossierFacts,
    tracking: str,
    *,
    to: str,
    reason: str = "",
    findings: Sequence[Finding] = (),
    version: int = 1,
    thread: Threading = Threading(),
    message_id: str | None = None,
) -> EmailMessage:
    """The notice that a 不予推荐 decision was withdrawn.

    ``findings``: the dossier's current findings (after waivers), ``version`` its current version.
    Without errors: 【恢复推荐通知】, the dossier is recommended again. With errors the dossier is
    not recommendable yet, so the notice (【复核结果通知】) says only that it is back in the bureau's
    list, and lists what is still to be corrected with the deadline, as a 补正通知 does.
    """
    errors = [f for f in findings if f.severity == "error"]
    reason_line = f"说明：{reason.strip()}" if reason.strip() else ""
    if not errors:
        return _simple_notice(
            "decision_restore", ctx, dossier, tracking, to=to,
            title="恢复推荐通知", extra={"reason_line": reason_line}, decision="restore",
            thread=thread, message_id=message_id,
        )  # fmt: skip
    project = (dossier.project_name or "").strip() or "申报材料"
    values = reply_values(ctx, dossier, project, tracking, version)
    values.update(reason_line=reason_line, error_count=str(len(errors)))
    rows = [finding_row(f) for f in errors]
    text_vals = dict(values, errors=items_text("finding_item.txt", rows))
    html_vals = {k: html.escape(v) for k, v in values.items()}
    html_vals["errors"] = items_html("finding_item.html", rows)
    return _finish(
        ctx,
        to=to,
        subject=subject("decision_restore_defective", project=project, tracking=tracking),
        title="复核结果通知",
        text=load_template("decision_restore_defective.txt").substitute(text_vals),
        content=load_template("decision_restore_defective.html").substitute(html_vals),
        headers={
            "X-Intake-Tracking": tracking,
            "X-Intake-Verdict": "defective",
            "X-Intake-Decision": "restore",
        },
        auto="auto-generated",
        thread=thread,
        message_id=message_id or new_message_id(tracking, ctx.domain),
    )


def compose_officer_reply(
    ctx: ReplyContext,
    *,
    to: str,
    officer_name: str,
    results: Sequence[CommandResult],
    original: MailFacts | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """The one confirmation answering an officer's command mail: each command and its outcome.

    The subject is ``回复：<original subject>`` (not prefixed twice), else ``【指令处理结果】``.
    """
    ok = sum(1 for r in results if r.ok)
    values = {
        "officer_name": officer_name,
        "count": str(len(results)),
        "ok_count": str(ok),
        "failed_count": str(len(results) - ok),
        "unit": ctx.unit,
        "date": f"{ctx.now.year}年{ctx.now.month}月{ctx.now.day}日",
    }
    text_rows, html_rows = [], []
    for r in results:
        status = "已执行" if r.ok else "未执行"
        details = "".join(f"      {line}\n" for line in r.details.splitlines())
        text_rows.append(
            {"line": r.line, "status": status, "message": r.message, "details": details}
        )
        html_rows.append(
            {
                "line": html.escape(r.line),
                "status": status,
                "message": html.escape(r.message),
                "color": "#1a7f37" if r.ok else "#b42318",
                "details": (
                    f'<pre style="font-size: 13px; white-space: pre-wrap;">{html.escape(r.details)}</pre>'
                    if r.details
                    else ""
                ),
            }
        )
    text_vals = dict(values, items=items_text("officer_reply_item.txt", text_rows))
    html_vals = {k: html.escape(v) for k, v in values.items()}
    html_vals["items"] = "".join(
        load_template("officer_reply_item.html").substitute(row) for row in html_rows
    )
    orig = " ".join((original.subject if original else "").split())
    if orig:
        title = orig if has_reply_prefix(orig) else f"{ctx.reply_prefix}{orig}"
    else:
        title = subject("officer_reply")
    thread = Threading()
    if original is not None and original.message_id:
        refs = [r for r in original.references if r != original.message_id]
        thread = Threading(original.message_id, tuple(refs + [original.message_id]))
    return _finish(
        ctx,
        to=to,
        subject=title,
        title="指令处理结果",
        text=load_template("officer_reply.txt").substitute(text_vals),
        content=load_template("officer_reply.html").substitute(html_vals),
        headers={"X-Intake-Command-Results": f"{ok}/{len(results)}"},
        auto="auto-replied",
        thread=thread,
        message_id=message_id or new_message_id("officer", ctx.domain),
    )


@dataclass(frozen=True)
class PendingLine:
    """One line of a command mail as the confirmation request shows it: ``runnable`` lines run
    after confirmation; the others carry ``message`` saying why they cannot."""

    line: str
    runnable: bool
    message: str = ""


def compose_confirmation_request(
    ctx: ReplyContext,
    *,
    to: str,
    officer_name: str,
    token: str,
    lines: Sequence[PendingLine],
    expires: str,
    valid_hours: str,
    request_date: str,
    request_message_id: str,
    request_envelope: str,
    original: MailFacts | None = None,
) -> EmailMessage:
    """The confirmation round trip's first leg (GNU Mailman's model): what the desk understood
    of a command mail, nothing executed yet, and the single-use ``token`` in the subject and the
    body so that a plain "reply" on a phone confirms. Goes to the officer's configured address."""
    values = {
        "officer_name": officer_name, "token": token, "expires": expires,
        "valid_hours": valid_hours, "request_date": request_date,
        "request_message_id": request_message_id or "（无）",
        "request_envelope": request_envelope or "（无）",
        "officer_contact": ctx.officer_contact, "unit": ctx.unit,
        "date": f"{ctx.now.year}年{ctx.now.month}月{ctx.now.day}日",
    }  # fmt: skip
    rows = [
        {"line": x.line, "status": "确认后执行" if x.runnable else f"无法执行：{x.message}"}
        for x in lines
    ]
    text_vals = dict(values, items=items_text("officer_confirm_item.txt", rows))
    html_vals = {k: html.escape(v) for k, v in values.items()}
    html_vals["items"] = "".join(
        load_template("officer_confirm_item.html").substitute({k: html.escape(v) for k, v in r.items()})
        for r in rows
    )
    thread = Threading()
    if original is not None and original.message_id:
        thread = Threading(original.message_id, (original.message_id,))
    return _finish(
        ctx,
        to=to,
        subject=subject("officer_confirm", token=token),
        title="请确认指令",
        text=load_template("officer_confirm.txt").substitute(text_vals),
        content=load_template("officer_confirm.html").substitute(html_vals),
        headers={"X-Intake-Confirm": "request"},
        auto="auto-replied",
        thread=thread,
        message_id=new_message_id("confirm", ctx.domain),
    )


def compose_officer_note(
    ctx: ReplyContext, *, to: str, officer_name: str, subject: str, message: str,
    original: MailFacts | None = None,
) -> EmailMessage:  # fmt: skip
    """A short note to an officer's configured address: a confirmation that did nothing (used,
    expired, unknown, from another address, failed authentication)."""
    values = {
        "officer_name": officer_name, "message": message, "officer_contact": ctx.officer_contact,
        "unit": ctx.unit, "date": f"{ctx.now.year}年{ctx.now.month}月{ctx.now.day}日",
    }  # fmt: skip
    thread = Threading()
    if original is not None and original.message_id:
        thread = Threading(original.message_id, (original.message_id,))
    return _finish(
        ctx,
        to=to,
        subject=subject,
        title=subject,
        text=load_template("officer_note.txt").substitute(values),
        content=load_template("officer_note.html").substitute(
            {k: html.escape(v) for k, v in values.items()}
        ),
        headers={"X-Intake-Confirm": "note"},
        auto="auto-replied",
        thread=thread,
        message_id=new_message_id("confirm", ctx.domain),
    )


def _simple_notice(
    template: str,
    ctx: ReplyContext,
    dossier: DossierFacts,
    tracking: str,
    *,
    to: str,
    title: str,
    extra: dict[str, str],
    decision: str,
    thread: Threading,
    message_id: str | None,
) -> EmailMessage:
    project = (dossier.project_name or "").strip() or "申报材料"
    values = reply_values(ctx, dossier, project, tracking, 1)
    values.update(extra)
    return _finish(
        ctx,
        to=to,
        subject=subject(template, project=project, tracking=tracking),
        title=title,
        text=load_template(f"{template}.txt").substitute(values),
        content=load_template(f"{template}.html").substitute(
            {k: html.escape(v) for k, v in values.items()}
        ),
        headers={"X-Intake-Tracking": tracking, "X-Intake-Decision": decision},
        auto="auto-generated",
        thread=thread,
        message_id=message_id or new_message_id(tracking, ctx.domain),
    )


def _finish(
    ctx: ReplyContext,
    *,
    to: str,
    subject: str,
    title: str,
    text: str,
    content: str,
    headers: dict[str, str],
    auto: str,
    thread: Threading,
    message_id: str,
) -> EmailMessage:
    now = aware(ctx.now)
    body_html = load_template("page.html").substitute(
        title=title,
        content=content,
        unit=html.escape(ctx.unit),
        date=f"{now.year}年{now.month}月{now.day}日",
    )
    msg = EmailMessage(policy=COMPOSE_POLICY)
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(body_html, subtype="html", charset="utf-8")
    return finish(
        msg,
        sender=(ctx.from_name, ctx.from_addr),
        to=[("", to)],
        subject=subject,
        now=now,
        message_id=message_id,
        auto=auto,
        loop_value=ctx.loop_header_value,
        in_reply_to=thread.in_reply_to,
        references=thread.references,
        headers=headers,
    )
