"""Chinese wording shared by the rule messages: durations, windows, problem slugs."""

from __future__ import annotations

import math

# parsers/facts.py problem slugs, as the applicant should read them.
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
    "too_costly": "文件解析超出本受理点的时间或内存限制",
    "archive_too_deep": "压缩包嵌套层数过多",
    "archive_too_many": "压缩包内文件数过多",
    "archive_encrypted": "压缩包已加密（设有密码）",
    "archive_corrupt": "压缩包已损坏",
    "archive_unsupported": "压缩包格式暂不支持",
}


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
