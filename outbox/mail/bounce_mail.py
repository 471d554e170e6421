"""The officers' 退信提醒: one mail per bounce naming the applicant, the contact's phone and the
reason, so an officer can call (the applicant otherwise believes the bureau never answered).

Body from ``outbox/mail/templates/bounce_alert.{txt,html}`` (the plain part says everything the
HTML part says). The Message-ID is ``<bounce-alert.…@domain>`` and the mail carries no
``X-Intake-Tracking``: should the alert itself bounce, that bounce names no dossier and raises no
second alert.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from outbox.mail.compose import aware, new_message_id
from outbox.mail.context import ReplyContext
from outbox.mail.decision_mail import Threading, _finish
from outbox.mail.headers import address_header, set_header
from outbox.mail.template_files import load_template

REPLY_KIND_ZH = {
    "receipt": "回执",
    "defect_notice": "补正通知",
    "decision_waive": "审核意见（豁免）",
    "decision_reject": "不予推荐通知",
    "decision_restore": "撤销不予推荐通知",
    "oversize": "超限通知",
}


@dataclass(frozen=True)
class BounceAlert:
    """What the officers are told about one bounce (all text, Chinese where users read it)."""

    tracking: str
    applicant: str
    project_name: str
    contact_name: str
    phone: str  # the form's mobile, else its landline; "" when the form gave none
    rcpt: str
    reply_kind: str  # receipt | defect_notice | …
    sent_at: str  # when our mail was queued, e.g. 2023年11月20日 09:30
    cause: str  # Chinese, from outbox.mail.bounces.CAUSE_ZH
    reason: str  # the remote server's words


_SCHEME = re.compile(r"(?i)\b(https?|ftp)://")


def defang(text: str) -> str:
    """``text`` with every link made unclickable (``http://x`` → ``http[:]//x``): a bounce's
    reason is written by whoever sent the bounce (an applicant can forge one for their own
    receipt), and the bureau's own alert must not carry a clickable link to officers."""
    return _SCHEME.sub(r"\1[:]//", text or "")


def compose_bounce_alert(
    ctx: ReplyContext,
    officers: Sequence[tuple[str, str]],
    alert: BounceAlert,
    *,
    message_id: str | None = None,
) -> EmailMessage:
    """The 退信提醒 to ``officers`` (``(name, email)`` pairs, at least one).

    Subject: ``【退信提醒】<applicant>的<回执>未送达 [<tracking>]``. Raises ``ValueError``
    without an officer.
    """
    if not officers:
        raise ValueError("a bounce alert needs at least one officer")
    kind_zh = REPLY_KIND_ZH.get(alert.reply_kind, "通知邮件")
    values = {
        "officer_names": "、".join(name or email for name, email in officers),
        "reply_kind": kind_zh,
        "from_addr": ctx.from_addr,
        "tracking": alert.tracking,
        "applicant": alert.applicant or "（未识别）",
        "project_name": alert.project_name or "（未识别）",
        "contact_name": alert.contact_name or "（申报书未填写）",
        "phone": alert.phone or "（申报书未填写，请查阅纸质材料）",
        "rcpt": alert.rcpt or "（退信未写明）",
        "sent_at": alert.sent_at,
        "cause": alert.cause,
        "reason": defang(alert.reason) or "（未写明）",
        "unit": ctx.unit,
        "date": f"{aware(ctx.now).year}年{aware(ctx.now).month}月{aware(ctx.now).day}日",
    }
    msg = _finish(
        ctx,
        to=officers[0][1],
        subject=f"【退信提醒】{alert.applicant or alert.rcpt}的{kind_zh}未送达 [{alert.tracking}]",
        title="退信提醒",
        text=load_template("bounce_alert.txt").substitute(values),
        content=load_template("bounce_alert.html").substitute(
            {k: html.escape(v) for k, v in values.items()}
        ),
        headers={"X-Intake-Bounce-Alert": alert.tracking},
        auto="auto-generated",
        thread=Threading(),
        message_id=message_id or new_message_id("bounce-alert", ctx.domain),
    )
    set_header(msg, "To", address_header("To", list(officers)))
    return msg
