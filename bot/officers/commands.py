"""Officers' command lines (豁免/waive, 不予推荐/reject, 恢复/restore, 备注/note, 查询/show): a pure parser.

A command is one line: a verb, a tracking number, for a waiver a finding code, then free text
(the reason, or the note). Examples::

    豁免 IIP2023-420100-0017-8 USCC_INVALID 原因：老证照代码，经核实合法
    不予推荐 IIP2023-420100-0017-8 理由：项目已获2022年试点示范
    恢复 IIP2023-420100-0017-8
    备注 IIP2023-420100-0017-8 企业电话确认视频将重新刻盘
    waive IIP2023-420100-0017-8 VIDEO_TOO_SHORT reason: 4分59秒，科长同意
    查询 IIP2023-420100-0017-8

Full-width letters, digits, hyphens and colons (typed with a Chinese input method) are accepted;
a verb may touch the tracking number (``豁免IIP2023-…``); list markers (``1.``, ``1、``, ``-``)
are ignored. Mails carry commands in the subject (not in a reply's subject: ``回复：``/``Re:``
means it answers an earlier mail, perhaps our confirmation repeating the command) and in the
first body lines, up to the first quoted part (``>``, ``-----原始邮件-----``, ``On … wrote:``, ``发件人：``), so
a reply to a digest may hold several commands, one per line, above the quoted digest.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from outbox.mail.threads import has_reply_prefix
from outbox.mail.tracking import is_valid_tracking

Verb = Literal["waive", "reject", "restore", "note", "show"]

VERBS: dict[str, str] = {
    "不予推荐": "reject",
    "恢复推荐": "restore",
    "豁免": "waive",
    "恢复": "restore",
    "备注": "note",
    "查询": "show",
    "waive": "waive",
    "reject": "reject",
    "restore": "restore",
    "note": "note",
    "show": "show",
}
MAX_BODY_LINES = 30  # lines of a body read for commands, before any quoted part

# Longest verbs first (恢复推荐 before 恢复). English verbs must be followed by a space, a colon
# or a bracket ("shows" and "noted" are words, not commands).
_VERB = re.compile(
    r"(?P<verb>不予推荐|恢复推荐|豁免|恢复|备注|查询)[\s:：]*"
    r"|(?P<en>waive|reject|restore|note|show)(?:[\s:：]+|$|(?=[\[【(（]))",
    re.I,
)
_LIST_MARKER = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.、)）]|[（(]\d{1,2}[)）])\s*")
_TRACKING_LIKE = re.compile(r"^[A-Z][A-Z0-9]{1,15}-\d{6}-\d{4,}-[0-9A-Z]$")
_CODE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_REASON_PREFIX = re.compile(r"^(?:原因|理由|说明|reason|because)\s*[:：]?\s*", re.I)
_SEPARATORS = " \t\u3000,，;；:："
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―－﹣−"})
_BRACKETS = "[]【】()（）<>《》「」"
_QUOTE_START = re.compile(
    r"^\s*(?:>|-{2,}\s*(?:原始邮件|Original Message|回复的原邮件|转发邮件|Forwarded message)"
    r"|-{5,}|_{5,}|(?:发件人|From|Sent|发送时间)\s*[:：]|On .+wrote:\s*$|在.+写道[:：]\s*$)",
    re.I,
)


@dataclass(frozen=True)
class Command:
    """One well-formed command.

    ``verb``: waive | reject | restore | note | show; ``tracking`` upper-case with a valid check
    character; ``code`` the finding code (waive only, upper-case, not checked against the
    catalogue here); ``text`` the reason or the note, as written; ``line`` the source line.
    """

    verb: str
    tracking: str
    code: str | None
    text: str
    line: str


@dataclass(frozen=True)
class CommandProblem:
    """A line that starts with a verb but cannot be carried out as written.

    ``kind``: ``missing_tracking`` | ``bad_tracking`` (wrong check character: a typo) |
    ``missing_code``; ``message`` says so in Chinese, for the officer's confirmation mail.
    """

    verb: str
    kind: str
    message: str
    line: str


Parsed = Command | CommandProblem


def _norm(token: str) -> str:
    """A token as ASCII where the officer's input method made it full-width (NFKC, dashes)."""
    return unicodedata.normalize("NFKC", token).translate(_DASHES).strip(_BRACKETS).upper()


def _next_token(text: str) -> tuple[str, str]:
    """(first token, the rest) of ``text``, tokens split on spaces, commas and colons."""
    text = text.lstrip(_SEPARATORS)
    m = re.match(r"[^\s\u3000,，;；:：]+", text)
    if not m:
        return "", text
    return m.group(0), text[m.end() :]


def _reason(rest: str) -> str:
    return _REASON_PREFIX.sub("", rest.lstrip(_SEPARATORS), count=1).strip()


def parse_line(line: str) -> Parsed | None:
    """One line as a Command, a CommandProblem, or None when it is not a command at all."""
    text = _LIST_MARKER.sub("", line, count=1).strip()
    m = _VERB.match(text)
    if not m:
        return None
    verb = VERBS[(m.group("verb") or m.group("en")).lower()]
    source = line.strip()
    token, rest = _next_token(text[m.end() :])
    tracking = _norm(token)
    if not _TRACKING_LIKE.match(tracking):
        return CommandProblem(
            verb,
            "missing_tracking",
            "未找到受理编号（格式如 IIP2023-420100-0017-8），请写在指令之后。",
            source,
        )
    if not is_valid_tracking(tracking):
        return CommandProblem(
            verb, "bad_tracking", f"受理编号 {tracking} 校验位不对，请核对是否输错。", source
        )
    code = None
    if verb == "waive":
        token, rest = _next_token(rest)
        code = _norm(token)
        if not _CODE.match(code):
            return CommandProblem(
                verb,
                "missing_code",
                "豁免须写明问题代码（如 USCC_INVALID，见补正通知或汇总邮件），格式："
                "豁免 受理编号 问题代码 原因：……",
                source,
            )
    return Command(verb, tracking, code, _reason(rest), source)


def command_lines(subject: str | None, body: str | None) -> list[str]:
    """The lines of a mail that may hold commands: the subject (unless it starts with a reply or
    forward prefix), then the first ``MAX_BODY_LINES`` lines of the body before any quoted part."""
    lines = []
    subj = (subject or "").strip()
    # A subject with a reply prefix answers an earlier mail (a digest, our confirmation, whose
    # subject repeats the command): it is never a command itself, so nothing runs twice.
    if subj and not has_reply_prefix(subj):
        lines.append(subj)
    for raw in (body or "").splitlines()[:MAX_BODY_LINES]:
        if _QUOTE_START.match(raw):
            break
        lines.append(raw)
    return lines


def parse_commands(subject: str | None, body: str | None) -> list[Parsed]:
    """Every command (or problem) in a mail's subject and first body lines, in order.

    A command repeated (the subject repeated in the body; a waiver of the same code with another
    wording of the reason) counts once, the first wording kept. An empty list means the
    mail holds no command (it is ordinary mail).
    """
    out: list[Parsed] = []
    seen: set[tuple] = set()
    for line in command_lines(subject, body):
        parsed = parse_line(line)
        if parsed is None:
            continue
        if isinstance(parsed, Command):
            text = parsed.text if parsed.verb == "note" else ""
            key: tuple = (parsed.verb, parsed.tracking, parsed.code, text)
        else:
            key = (parsed.verb, parsed.kind, parsed.line)
        if key not in seen:
            seen.add(key)
            out.append(parsed)
    return out
