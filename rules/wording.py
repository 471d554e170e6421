"""Chinese wording shared by the rule messages: durations, windows, problem slugs."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

# The campaign's zone unless a profile says otherwise (Campaign.timezone).
DEFAULT_TZ = "Asia/Shanghai"
# How a person names a zone; others are shown as an offset (UTC+08:00).
ZONE_NAMES: dict[str, str] = {"Asia/Shanghai": "北京时间", "Asia/Chongqing": "北京时间", "PRC": "北京时间"}

# parsers/facts.py problem slugs, as the applicant should read them.
# Slugs of files the desk did not read, set by bot/ and judged FILE_TOO_COSTLY (rules/materials.py):
TOO_COSTLY = "too_costly"  # the file's parse ran over its budget (bot/processing/supervisor.py)
STORAGE_QUOTA = "storage_quota"  # the sender's daily archive budget is spent (bot/processing/pipeline.py)
INPUT_ALLOWANCE = "input_allowance"  # the input's whole allowance is spent (bot/processing/parse_worker.py)

PROBLEM_TEXT: dict[str, str] = {
    "corrupt": "文件已损坏",
    "encrypted": "文件已加密（设有密码）",
    "unsupported": "文件格式暂不支持",
    "forbidden": "可执行文件、脚本或含宏的 Office 文件",
    "empty": "文件为空（0 字节）",
    "too_large": "文件过大",
    "probe_failed": "无法解析视频文件",
    "moov_missing": "缺少视频索引（moov），文件不完整",
    "truncated": "文件被截断，不完整",
    "no_video_stream": "文件中没有视频画面",
    "no_duration": "无法确定视频时长",
    "timeout": "解析视频超时",
    "archive_traversal": "含指向上级目录或绝对路径的文件名",
    "archive_link": "含符号链接或硬链接",
    "archive_device": "含设备文件",
    "archive_bomb": "解压后体积异常（疑似压缩炸弹）",
    "archive_growth": "解压后总体积超过压缩包本身的允许倍数",
    TOO_COSTLY: "文件解析超出本受理点的时间或内存限制",
    INPUT_ALLOWANCE: "同一次提交的文件过多或合计读取时间过长，未读取",
    "archive_too_deep": "压缩包嵌套层数过多",
    "archive_too_many": "压缩包内文件数过多",
    "archive_encrypted": "压缩包已加密（设有密码）",
    "archive_corrupt": "压缩包已损坏",
    "archive_unsupported": "压缩包格式暂不支持",
}


# How a finding's severity reads to officers (the web desk, ``intake show``, the 查询 answer).
SEVERITY_LABELS = {"error": "问题", "warning": "提示", "info": "信息"}
# How a dossier's state reads (the web desk, ``intake show``): officers may reject one (不予推荐).
DOSSIER_STATE_LABELS = {"open": "正常", "rejected": "不予推荐"}


def problem_text(slug: str | None, detail: str | None = None) -> str:
    """The Chinese reason for a problem slug (unknown slugs shown as given)."""
    if not slug:
        return "无法读取"
    return PROBLEM_TEXT.get(slug, slug)


def whole_seconds(duration_s: float) -> int:
    """The duration a player shows: whole seconds, rounded down (600.9 s shows as 10:00)."""
    return math.floor(duration_s + 1e-9)


def duration_text(seconds: int) -> str:
    """``272`` → ``4分32秒``; ``600`` → ``10分钟``; ``45`` → ``45秒``."""
    m, s = divmod(seconds, 60)
    if m == 0:
        return f"{s}秒"
    return f"{m}分钟" if s == 0 else f"{m}分{s}秒"


def window_text(min_s: int, max_s: int) -> str:
    """``(300, 600)`` → ``5–10 分钟``; windows not in whole minutes are given in seconds."""
    if min_s % 60 == 0 and max_s % 60 == 0:
        return f"{min_s // 60}–{max_s // 60} 分钟"
    return f"{min_s}–{max_s} 秒"


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return ZoneInfo(DEFAULT_TZ)
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def in_zone(moment: datetime, tz: str | tzinfo | None = DEFAULT_TZ) -> datetime:
    """``moment`` in the campaign's zone ``tz``, whatever the machine's TZ.

    An aware time is converted; a naive one is taken as already in ``tz`` (a pinned
    ``[campaign] now`` written without an offset means the campaign's wall clock).
    """
    zone = _zone(tz)
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def zone_label(tz: str | tzinfo | None = DEFAULT_TZ, at: datetime | None = None) -> str:
    """``北京时间`` for the Chinese zones, else ``UTC+hh:mm`` at ``at`` (default now)."""
    if isinstance(tz, str) and tz in ZONE_NAMES:
        return ZONE_NAMES[tz]
    offset = in_zone(at or datetime.now(UTC), tz).strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}"


def date_text(moment: date | datetime, tz: str | tzinfo | None = DEFAULT_TZ) -> str:
    """``2023年11月29日``: the calendar day in ``tz`` (a datetime is converted first)."""
    if isinstance(moment, datetime):
        moment = in_zone(moment, tz)
    return f"{moment.year}年{moment.month}月{moment.day}日"


def time_text(moment: datetime, tz: str | tzinfo | None = DEFAULT_TZ, *, zone: bool = False) -> str:
    """The one way a person reads a time: ``2023年11月29日 16:09`` in the campaign's zone ``tz``,
    with ``（北京时间）`` appended when ``zone`` (where the reader could doubt it)."""
    local = in_zone(moment, tz)
    text = f"{date_text(local)} {local:%H:%M}"
    return f"{text}（{zone_label(tz, local)}）" if zone else text
