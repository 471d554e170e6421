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
_CODE = re.compile(r"(?:提取码|提取密码|访问码|取件码|密码)\s*[:：]?\s*([A-Za-z0-9]{4,8})(?![A-Za-z0-9])")
_UNTIL = re.compile(
    r"(?:有效期至|有效期到|到期时间|过期时间|截止日期|链接有效期至)\s*[:：]?\s*"
    r"(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})"
)
_DATE_THEN = re.compile(
    r"(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?[^\n，。,]{0,12}?(?:到期|过期|失效)"
)
_DAYS = re.compile(r"(?:(\d{1,3})\s*天后(?:过期|失效|到期)|有效期\s*[:：]?\s*(\d{1,3})\s*天)")
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
    """The cloud-drive links among ``urls``, with the code and expiry read from ``text`` (the
    plain bodies) near each link, or anywhere in ``text`` when only one link is there.

    Codes: ``?pwd=…`` in the URL, or 提取码/访问码/密码 followed by 4–8 letters or digits. Expiry:
    有效期至/到期时间 + a date, or “N 天后过期” / “有效期 N 天” counted from ``sent_at`` (the mail's
    Date) in Beijing time; None when the mail says nothing.
    """
    found: list[CloudLink] = []
    for url in dict.fromkeys(urls):
        provider = provider_of(url, other_hosts)
        if provider is None:
            continue
        found.append(CloudLink(provider=provider, url=url, code=None, expires_at=None))
    for link in found:
        near = _near(text, link.url) if len(found) > 1 else text
        link.code = _code_in_url(link.url) or _first(_CODE, near)
        link.expires_at = _expiry(near, sent_at)
    return found


def _near(text: str, url: str) -> str:
    at = text.find(url)
    if at < 0:
        return ""
    return text[max(0, at - 60) : at + len(url) + _WINDOW]


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
