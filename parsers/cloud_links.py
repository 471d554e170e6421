"""Cloud-drive links in a submission: which provider, the extraction code, and when the link expires.

Mail services keep attachments to 50 MB; bigger videos arrive as links that expire: 163 超大附件
(mail.163.com/126.com/yeah.net, typically 15 days) and QQ 文件中转站 (mail.qq.com ``ftn``,
typically 30 days), or Baidu Netdisk and Aliyun Drive shares with a 提取码. The providers write
the code and the expiry into the mail in their own words; we read those words, never the link
(the bot does not download: these services need logins, and an intake box often has no
internet). Links to other cloud drives (``parsers.mime.CLOUD_DRIVE_HOSTS``) are kept with the
provider ``other``; any other URL is not a cloud link.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

from parsers.facts import CloudLink

CAMPAIGN_TZ = timezone(timedelta(hours=8))  # the providers write Beijing dates

_PROVIDERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("163", ("163.com", "126.com", "yeah.net")),
    ("qq", ("qq.com",)),
    ("baidu", ("pan.baidu.com", "yun.baidu.com")),
    ("aliyun", ("aliyundrive.com", "alipan.com")),
)
# Gaps between a word and its value are bounded ({0,8}): two unbounded ``\s*`` around an
# optional colon made a word followed by a long run of blanks take quadratic time.
_GAP = r"\s{0,8}[:：]?\s{0,8}"
_CODE = re.compile(r"(?:提取码|提取密码|访问码|取件码|密码)" + _GAP + r"([A-Za-z0-9]{4,8})(?![A-Za-z0-9])")
_UNTIL = re.compile(
    r"(?:有效期至|有效期到|到期时间|过期时间|截止日期|链接有效期至)" + _GAP
    + r"(\d{4})\s{0,4}[年/.-]\s{0,4}(\d{1,2})\s{0,4}[月/.-]\s{0,4}(\d{1,2})"
)
_DATE_THEN = re.compile(
    r"(\d{4})\s{0,4}[年/.-]\s{0,4}(\d{1,2})\s{0,4}[月/.-]\s{0,4}(\d{1,2})\s{0,4}日?[^\n，。,]{0,12}?"
    r"(?:到期|过期|失效)"
)
_DAYS = re.compile(r"(?:(\d{1,3})\s{0,4}天后(?:过期|失效|到期)|有效期" + _GAP + r"(\d{1,3})\s{0,4}天)")
MAX_CLOUD_LINKS = 20  # kept per dossier: each is listed in the 回执, the digest and `intake links`
_WINDOW = 300  # characters after a link in which its own code and expiry are looked for


def provider_of(url: str, other_hosts: tuple[str, ...] = ()) -> str | None:
    """``"163"``, ``"qq"``, ``"baidu"``, ``"aliyun"``, ``"other"`` (a host in ``other_hosts``),
    or None when ``url`` is not a cloud-drive link."""
    try:
        host = (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return None
    for name, suffixes in _PROVIDERS:
        if any(host == s or host.endswith("." + s) for s in suffixes):
            if name in ("163", "qq") and not _is_transfer(url):
                return None  # a link to a web mail page, not to a file
            return name
    if any(host == h or host.endswith("." + h) for h in other_hosts):
        return "other"
    return None


def _is_transfer(url: str) -> bool:
    low = url.lower()
    return any(k in low for k in ("large-attachment", "/fs/", "fs.163.com", "dashi.163.com", "ftn",
                                  "download", "attach", "share"))


def find_cloud_links(
    urls: list[str], text: str, *, sent_at: datetime | None, other_hosts: tuple[str, ...] = ()
) -> list[CloudLink]:
    """The first ``MAX_CLOUD_LINKS`` cloud-drive links among ``urls``, with the code and expiry
    read from ``text`` (the plain bodies) near each link, or anywhere in ``text`` when only one link is there.

    Codes: ``?pwd=…`` in the URL, or 提取码/访问码/密码 followed by 4–8 letters or digits. Expiry:
    有效期至/到期时间 + a date, or “N 天后过期” / “有效期 N 天” counted from ``sent_at`` (the mail's
    Date) in Beijing time; None when the mail says nothing.
    """
    found: list[CloudLink] = []
    for url in dict.fromkeys(urls):
        if len(found) >= MAX_CLOUD_LINKS:
            break
        provider = provider_of(url, other_hosts)
        if provider is None:
            continue
        found.append(CloudLink(provider=provider, url=url, code=None, expires_at=None))
    spans = _spans(text, [link.url for link in found])
    for link, near in zip(found, spans, strict=True):
        if len(found) == 1:
            near = text
        link.code = _code_in_url(link.url) or _first(_CODE, near)
        link.expires_at = _expiry(near, sent_at)
    return found


def _spans(text: str, urls: list[str]) -> list[str]:
    """For each url, the text around it: from 60 characters before it (not before the end of the
    link written before it) to ``_WINDOW`` characters after it (not past the next link), so one
    link never takes the code written for its neighbour; "" when the url is not in ``text``."""
    at = {url: text.find(url) for url in urls}
    placed = sorted((pos, url) for url, pos in at.items() if pos >= 0)
    spans = {}
    for i, (pos, url) in enumerate(placed):
        prev_end = placed[i - 1][0] + len(placed[i - 1][1]) if i else 0
        next_at = placed[i + 1][0] if i + 1 < len(placed) else len(text)
        start = max(prev_end, pos - 60)
        # What follows the link first (providers write "链接… 提取码…"), then the lead-in.
        spans[url] = text[pos : min(next_at, pos + len(url) + _WINDOW)] + "\n" + text[start:pos]
    return [spans.get(url, "") for url in urls]


def _code_in_url(url: str) -> str | None:
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return None
    for key in ("pwd", "password", "code"):
        value = (query.get(key) or [""])[0]
        if re.fullmatch(r"[A-Za-z0-9]{4,8}", value):
            return value
    return None


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return m.group(1) if m else None


def _expiry(text: str, sent_at: datetime | None) -> date | None:
    m = _UNTIL.search(text) or _DATE_THEN.search(text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    m = _DAYS.search(text)
    if m and sent_at is not None:
        days = int(m.group(1) or m.group(2))
        sent = sent_at.astimezone(CAMPAIGN_TZ) if sent_at.tzinfo else sent_at
        return (sent + timedelta(days=days)).date()
    return None
