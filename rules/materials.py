"""Rules on the materials of one dossier: the form, the scanned copy, the video, bad files."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from parsers.facts import DossierFacts, Material
from rules.context import Context
from rules.dossier_view import form_material, is_cloud_link, role_usable
from rules.rule import Hit, Rule
from rules.wording import (
    INPUT_ALLOWANCE,
    STORAGE_QUOTA,
    TOO_COSTLY,
    duration_text,
    problem_text,
    whole_seconds,
    window_text,
)

log = logging.getLogger("intake.rules")

# Archive problems that make the whole input unsafe (ARCHIVE_UNSAFE), and those that only make
# one archive unreadable (FILE_UNREADABLE).
UNSAFE_ARCHIVE = (
    "archive_traversal",
    "archive_link",
    "archive_device",
    "archive_bomb",
    "archive_growth",
    "archive_too_deep",
    "archive_too_many",
)
UNREADABLE_ARCHIVE = ("archive_encrypted", "archive_corrupt", "archive_unsupported")
# Problems that are the desk's own fault, not the applicant's: logged, never reported.
DESK_PROBLEMS = ("ffprobe_missing",)
# Mail problems (parsers/mime.py) that leave part of a submission unread (FILE_UNREADABLE).
UNREADABLE_MAIL = (
    "mail_unreadable", "mail_too_deep", "mail_too_many_parts", "mail_tnef_unreadable", "mail_tnef_truncated"
)
# Per-file hits reported by one rule before the rest are counted in one line (a 2,000-member
# archive must not become a 2,000-line 补正通知).
MAX_HITS_PER_RULE = 20

_NOT_READ = (TOO_COSTLY, STORAGE_QUOTA, INPUT_ALLOWANCE)  # FILE_TOO_COSTLY, not FILE_UNREADABLE

# Reasons for problem slugs that rules/wording.py does not know yet.
_MORE_TEXT: dict[str, str] = {
    "mismatch": "文件内容与扩展名不符（例如改了扩展名的文本或图片）",
    "mail_unreadable": "邮件结构损坏，无法完整读取",
    "mail_too_deep": "邮件嵌套层数过多，内层内容未读取",
    "mail_too_many_parts": "邮件附件（MIME 部分）过多，超出部分未读取",
    "mail_tnef_unreadable": "Outlook 附件包（winmail.dat）无法解开",
    "mail_tnef_truncated": "Outlook 附件包（winmail.dat）中的此附件不完整（比声明的长度短）",
}


def _reason(slug: str | None) -> str:
    return _MORE_TEXT.get(slug or "", "") or problem_text(slug)


def _capped(hits: Iterator[Hit], what: str) -> Iterator[Hit]:
    """The first ``MAX_HITS_PER_RULE`` hits, then one hit counting the rest."""
    rest = 0
    for n, hit in enumerate(hits):
        if n < MAX_HITS_PER_RULE:
            yield hit
        else:
            rest += 1
    if rest:
        yield {"where": "", "reason": f"另有 {rest} 个{what}"}


def _kinds(ctx: Context) -> str:
    return "/".join("." + k for k in ctx.campaign.materials.form_kinds)


def _video_state(m: Material) -> str:
    """``ok`` | ``unreadable`` | ``desk`` (we could not judge: logged) for a video material."""
    v = m.video
    problem = m.problem or (v.problem if v else None)
    if problem in DESK_PROBLEMS:
        return "desk"
    if not m.readable or m.problem or v is None:
        return "unreadable"
    if not v.readable or v.truncated or not v.has_video or v.duration_s is None or v.problem:
        return "unreadable"
    return "ok"


def _videos(d: DossierFacts) -> list[Material]:
    return [m for m in d.materials if m.role == "video" and m.problem != "forbidden"]


def check_form_missing(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    if "application_form" not in ctx.campaign.materials.required or form_material(d, ctx.campaign):
        return
    forms = [m for m in d.materials if m.role == "application_form" and m.problem != "forbidden"]
    if forms and not role_usable(forms[0]):
        actual = f"申报书「{forms[0].name}」无法读取"
    elif forms:
        actual = f"申报书「{forms[0].name}」不是可编辑格式"
    else:
        actual = "材料中未见申报书"
    yield {"where": "", "actual": actual, "kinds": _kinds(ctx), "local_notice": ctx.campaign.local_notice}


def check_scan_missing(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    if "scanned_copy" not in ctx.campaign.materials.required:
        return
    scans = [m for m in d.materials if m.role == "scanned_copy" and m.problem != "forbidden"]
    if any(role_usable(m) for m in scans):
        return
    actual = f"扫描件「{scans[0].name}」无法读取" if scans else "材料中未见全套扫描件"
    yield {"where": "", "actual": actual, "local_notice": ctx.campaign.local_notice}


def check_scan_seal_missing(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    """A usable scanned copy was searched for seals (parsers/seals.py, signature fields, OFD
    ``Signs/``) and none was found on any page. Scans never searched (no page rendered) say
    nothing: this is a warning for officers, not a verdict on the applicant."""
    scans = [m for m in d.materials if m.role == "scanned_copy" and role_usable(m) and m.scan]
    if not scans or any(m.scan.seals for m in scans):
        return
    checked = [m for m in scans if m.scan.seal_pages_checked > 0]
    if checked:
        m = checked[0]
        yield {"where": m.name, "pages": m.scan.seal_pages_checked, "local_notice": ctx.campaign.local_notice}


def _has_cloud_link(d: DossierFacts, ctx: Context) -> str | None:
    """The first cloud-drive link: one the parsers recognised (163 超大附件, QQ 中转站, Baidu,
    Aliyun …, parsers/cloud_links.py), else one on the profile's ``cloud_hosts`` list."""
    if d.cloud_links:
        return d.cloud_links[0].url
    return next((u for u in d.links if is_cloud_link(u, ctx.campaign)), None)


def check_video_missing(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    if "video" not in ctx.campaign.materials.required or _videos(d):
        return
    if ctx.campaign.video.link_counts_as_present and _has_cloud_link(d, ctx):
        return  # VIDEO_LINK_ONLY says it; the officer fetches the video
    v = ctx.campaign.video
    yield {"where": "", "window": window_text(v.min_s, v.max_s)}


def expired_links(d: DossierFacts, ctx: Context) -> list:
    """The dossier's cloud-drive links, when every one of them has passed its expiry date (the
    provider's date, Beijing) and no video file arrived; else []. A link without a date never
    expires here."""
    if _videos(d) or not d.cloud_links or ctx.now is None:
        return []
    tz = ZoneInfo(ctx.campaign.timezone)
    today = ctx.now.astimezone(tz).date() if ctx.now.tzinfo else ctx.now.date()
    if all(link.expires_at is not None and link.expires_at < today for link in d.cloud_links):
        return list(d.cloud_links)
    return []


def check_video_link_expired(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    links = expired_links(d, ctx)
    if links:
        last = max(link.expires_at for link in links)
        v = ctx.campaign.video
        yield {"where": "", "expired": f"{last.year}年{last.month}月{last.day}日",
               "window": window_text(v.min_s, v.max_s)}


def check_video_link_only(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    url = _has_cloud_link(d, ctx)
    if url and not _videos(d) and not expired_links(d, ctx):
        v = ctx.campaign.video
        yield {"where": "", "url": url, "window": window_text(v.min_s, v.max_s)}


def check_video_unreadable(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    videos = _videos(d)
    states = [(m, _video_state(m)) for m in videos]
    for m, state in states:
        if state == "desk":
            log.error(
                "video %s of %s not judged: %s", m.name, d.source, m.problem or m.video.problem
            )
    if any(state == "ok" for _, state in states):
        return  # one good video is enough; a damaged extra copy does not make it defective
    for m, state in states:
        if state == "unreadable":
            v = m.video
            reason = _reason(m.problem or (v.problem if v else None))
            if v is not None and v.truncated and not (m.problem or v.problem):
                reason = problem_text("truncated")
            elif v is not None and not v.has_video and not (m.problem or v.problem):
                reason = problem_text("no_video_stream")
            yield {
                "where": m.name,
                "reason": reason,
                "window": window_text(ctx.campaign.video.min_s, ctx.campaign.video.max_s),
            }


def _durations(d: DossierFacts) -> list[tuple[Material, int]]:
    return [
        (m, whole_seconds(m.video.duration_s))
        for m in _videos(d)
        if _video_state(m) == "ok" and m.video is not None and m.video.duration_s is not None
    ]


def _in_window(seconds: int, ctx: Context) -> bool:
    return ctx.campaign.video.min_s <= seconds <= ctx.campaign.video.max_s


def check_video_too_short(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    durations = _durations(d)
    if any(_in_window(s, ctx) for _, s in durations):
        return
    v = ctx.campaign.video
    for m, s in durations:
        if s < v.min_s:
            yield {
                "where": m.name,
                "actual": duration_text(s),
                "window": window_text(v.min_s, v.max_s),
            }


def check_video_too_long(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    durations = _durations(d)
    if any(_in_window(s, ctx) for _, s in durations):
        return
    v = ctx.campaign.video
    for m, s in durations:
        if s > v.max_s:
            yield {
                "where": m.name,
                "actual": duration_text(s),
                "window": window_text(v.min_s, v.max_s),
            }


def check_file_unreadable(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    yield from _capped(_unreadable_hits(d), "文件同样无法读取")


def _unreadable_hits(d: DossierFacts) -> Iterator[Hit]:
    for m in d.materials:
        if m.role == "video" or m.problem == "forbidden" or m.problem in _NOT_READ or m.problem in DESK_PROBLEMS:
            continue  # video has its own code; forbidden files are FILE_FORBIDDEN, costly ones FILE_TOO_COSTLY
        facts = {"application_form": m.form, "scanned_copy": m.scan, "summary_table": m.table}.get(
            m.role
        )
        if not m.readable or m.problem:
            yield {"where": m.name, "reason": _reason(m.problem)}
        elif facts is not None and not facts.readable:
            yield {"where": m.name, "reason": _reason(facts.problem)}
    for p in d.problems:
        if p.kind in UNREADABLE_ARCHIVE or p.kind in UNREADABLE_MAIL:
            yield {"where": p.where, "reason": _reason(p.kind)}


# What the applicant reads about a refused file (the parser's detail is English, for officers).
FORBIDDEN_KIND_TEXT = {
    "executable": "可执行程序",
    "script": "脚本文件",
    "docm": "含宏的 Word 文档",
    "xlsm": "含宏的 Excel 表格",
}


def check_file_forbidden(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    for m in d.materials:
        if m.problem == "forbidden":
            yield {"where": m.name, "reason": FORBIDDEN_KIND_TEXT.get(m.kind, problem_text("forbidden"))}


def check_file_too_costly(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    hits = (
        {"where": m.name, "what": _INSTEAD.get(m.problem) or _INSTEAD.get(m.role, _INSTEAD["other"])}
        for m in d.materials
        if m.problem in _NOT_READ
    )
    yield from _capped(hits, "文件同样超出解析限制")


# What to send instead of a file the desk could not read within its budget: by why it was not
# read (a daily quota, the input's allowance), else by its role.
_INSTEAD = {
    "application_form": "请将申报书另存为普通 .docx（不含大量嵌入对象、图片请压缩）后重新发送",
    "scanned_copy": "请用扫描软件重新导出普通 PDF（每页一张扫描图片，勿合并大量文字层）后重新发送",
    "video": "请用常见软件重新导出 H.264 编码的 .mp4 视频后重新发送",
    "summary_table": "请将汇总表另存为普通 .xlsx 后重新发送",
    STORAGE_QUOTA: "本发件人今日提交的材料已超出受理点每日存储限额，该文件未保存：请明日重新发送，或联系经办人",
    INPUT_ALLOWANCE: "本次提交的文件过多（或合计读取时间过长），该文件未读取：请只发送申报书、全套扫描件和项目视频，"
                     "勿打包无关文件，重新发送",
    "other": "请直接发送申报材料文件（.docx、.pdf、.mp4、.xlsx），勿打包大量无关内容；确需报送的大文件请联系经办人刻录光盘",
}


def check_archive_unsafe(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    hits = (
        {"where": p.where, "reason": _reason(p.kind)} for p in d.problems if p.kind in UNSAFE_ARCHIVE
    )
    yield from _capped(hits, "成员同样不安全")


RULES: tuple[Rule, ...] = (
    Rule(
        "FORM_MISSING",
        "二（四）；{local_notice}",
        "error",
        "缺少可编辑的申报书",
        "未收到可编辑的申报书：{actual}；要求提供申报书可编辑文档（{kinds}）",
        "请补发申报书可编辑文档（{kinds} 格式，勿只发 PDF 或图片）",
        check_form_missing,
    ),
    Rule(
        "SCAN_MISSING",
        "{local_notice}",
        "error",
        "缺少全套扫描件",
        "未收到全套扫描件：{actual}；要求提供盖章后的申报材料全套扫描件（PDF）",
        "请补发盖章后的全套扫描件（PDF 格式）",
        check_scan_missing,
    ),
    Rule(
        "SCAN_SEAL_MISSING",
        "{local_notice}",
        "warning",
        "全套扫描件中未发现单位公章",
        "全套扫描件中未发现单位公章（已查看 {pages} 页，未见红色公章印迹或电子签章）",
        "全套扫描件中未发现单位公章，请确认已盖章后重新扫描",
        check_scan_seal_missing,
    ),
    Rule(
        "VIDEO_MISSING",
        "二（四）",
        "error",
        "缺少项目视频（视为无效申报材料）",
        "未收到项目相关视频证明材料（要求 {window}），按通知要求视为无效申报材料",
        "请补发项目相关视频文件（时长 {window}，如 .mp4），与申报书、扫描件一并报送",
        check_video_missing,
    ),
    Rule(
        "VIDEO_TOO_SHORT",
        "二（四）",
        "error",
        "视频时长不足 5 分钟",
        "视频时长 {actual}，要求 {window}",
        "请重新剪辑视频，使时长在 {window}之间后重新发送",
        check_video_too_short,
    ),
    Rule(
        "VIDEO_TOO_LONG",
        "二（四）",
        "error",
        "视频时长超过 10 分钟",
        "视频时长 {actual}，要求 {window}",
        "请重新剪辑视频，使时长在 {window}之间后重新发送",
        check_video_too_long,
    ),
    Rule(
        "VIDEO_UNREADABLE",
        "二（四）",
        "error",
        "视频无法播放、不完整或已损坏",
        "视频文件不完整或已损坏，请重新发送（{reason}）",
        "请重新导出完整的视频文件（{window}）后重新发送，确认文件已完整上传、可正常播放",
        check_video_unreadable,
    ),
    Rule(
        "VIDEO_LINK_ONLY",
        "二（四）",
        "warning",
        "视频以网盘链接提供",
        "视频以网盘链接提供（{url}），未随邮件收到视频文件；须由经办人下载核验时长（要求 {window}）",
        "请将视频文件作为附件发送，或刻录光盘报送",
        check_video_link_only,
    ),
    Rule(
        "VIDEO_LINK_EXPIRED",
        "二（四）",
        "error",
        "视频网盘链接已过期，视频未能下载",
        "视频以网盘链接报送，链接已于 {expired} 过期，我局未能在有效期内下载视频，视为未提供视频（要求 {window}）",
        "请重新发送视频文件（作为附件，或刻录光盘报送），或回复本邮件提供新的网盘链接",
        check_video_link_expired,
    ),
    Rule(
        "FILE_UNREADABLE",
        "本受理点要求",
        "warning",
        "文件无法读取（损坏、加密或格式不支持）",
        "文件无法读取：{reason}",
        "请重新发送该文件（未加密、完整、常见格式：.docx、.pdf、.mp4、.xlsx）",
        check_file_unreadable,
    ),
    Rule(
        "FILE_TOO_COSTLY",
        "本受理点安全要求",
        "warning",
        "文件解析超出本受理点的时间或内存限制（未读取）",
        "文件解析超出本受理点的时间或内存限制，未能读取，其余材料已照常审核",
        "{what}",
        check_file_too_costly,
    ),
    Rule(
        "FILE_FORBIDDEN",
        "本受理点安全要求",
        "warning",
        "不允许的文件类型（已隔离，不转发）",
        "文件类型不允许（{reason}），已隔离，不予转发",
        "请勿发送可执行文件、脚本或含宏的 Office 文件；申报书请另存为 .docx 后发送",
        check_file_forbidden,
    ),
    Rule(
        "ARCHIVE_UNSAFE",
        "本受理点安全要求",
        "error",
        "压缩包含不安全内容",
        "压缩包含不安全内容：{reason}，相关成员未解压",
        "请直接发送申报材料文件，或重新打包为普通 zip（不含链接、上级路径，不多层嵌套）",
        check_archive_unsafe,
    ),
)
