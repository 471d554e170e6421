"""Facts that the parsers return about what arrived: plain data, never a verdict.

Every parser answers with one of these dataclasses. A file that cannot be read is a fact
(``readable=False`` with a ``problem`` slug and an English ``detail``), never an exception
escaping to the daemon; the rules in ``rules/`` turn facts into findings.

Problem slugs are stable strings (rules match on them):

- materials: ``corrupt``, ``encrypted``, ``unsupported`` (e.g. .doc without LibreOffice, rar without
  unrar), ``forbidden`` (executables, scripts, macro-enabled Office files), ``empty``, ``too_large``,
  ``mismatch`` (the name claims a form, scan, video or table; the bytes are text or a picture),
  ``too_costly`` (reading it ran over the desk's time or memory budget; it was not read),
  ``storage_quota`` (read, but the sender's daily storage budget was spent: not stored)
- video: ``probe_failed``, ``moov_missing``, ``truncated``, ``no_video_stream``, ``no_duration``,
  ``timeout``, ``ffprobe_missing``
- archives (``IntakeProblem.kind``): ``archive_traversal``, ``archive_link``, ``archive_device``,
  ``archive_bomb``, ``archive_growth``, ``archive_too_deep``, ``archive_too_many``, ``archive_encrypted``,
  ``archive_corrupt``, ``archive_unsupported``; a FIFO, socket or device inside a dossier folder is
  ``archive_device`` too
- mails (``IntakeProblem.kind``): ``mail_unreadable``, ``mail_too_deep``, ``mail_too_many_parts``,
  ``mail_tnef_unreadable``, ``mail_tnef_truncated``
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

Role = Literal["application_form", "scanned_copy", "video", "summary_table", "other"]
ROLES: tuple[str, ...] = ("application_form", "scanned_copy", "video", "summary_table", "other")

# Canonical keys of application-form fields (申报书); parsers/forms.py fills them by label matching.
FORM_FIELDS: tuple[str, ...] = (
    "project_name",  # 项目名称
    "applicant",  # 申报单位（名称）
    "uscc",  # 统一社会信用代码
    "category",  # 项目类别
    "direction",  # 项目方向
    "category_direction",  # 项目类别和方向 (one field holding both)
    "contact_name",  # 联系人
    "mobile",  # 手机 / 联系电话 (a mobile number)
    "phone",  # 电话 / 座机 (a landline, when the form separates them)
    "email",  # 邮箱 / 电子邮箱
)


@dataclass
class VideoFacts:
    """What ffprobe (and a packet scan) tell about a video file.

    ``duration_s`` is the duration of the picture track in seconds (float), ``None`` when unknown.
    """

    readable: bool
    duration_s: float | None = None
    has_video: bool = True
    truncated: bool = False
    width: int | None = None  # display width after rotation, pixels
    height: int | None = None
    codec: str | None = None
    container: str | None = None
    ffprobe_version: str | None = None
    problem: str | None = None
    detail: str | None = None


@dataclass
class FormFacts:
    """Fields read from an application form (申报书) by label matching.

    ``fields`` maps keys of ``FORM_FIELDS`` to the text found (stripped); absent keys were not found.
    ``priority`` lists the notice's 二（二） priority conditions the form claims (slugs:
    ``demo_base``, ``innovation_accepted``, ``old_revolutionary_area``, ``notable_results``).
    """

    readable: bool
    fields: dict[str, str] = field(default_factory=dict)
    positions: dict[str, str] = field(default_factory=dict)  # key -> where found ("表1 R3C2", "段落12")
    priority: list[str] = field(default_factory=list)
    text: str = ""  # the whole text, for links and searches
    converted_from: str | None = None  # ".doc"/".wps" when LibreOffice converted it
    problem: str | None = None
    detail: str | None = None


@dataclass
class CloudLink:
    """A cloud-drive link (a video too big to attach): provider, URL, 提取码, expiry (Beijing date)."""

    provider: Literal["163", "qq", "baidu", "aliyun", "other"]
    url: str
    code: str | None = None
    expires_at: date | None = None


@dataclass
class SealFound:
    """A seal on one page of the scanned copy: ``image`` (a red seal impression found on the page
    image) or ``electronic`` (a PDF signature field, an OFD ``Signs/`` seal: present, not verified)."""

    page: int  # 1-based
    kind: Literal["image", "electronic"]


@dataclass
class ScanFacts:
    """What the reader tells about the full scanned copy (全套扫描件): a PDF or an OFD."""

    readable: bool
    pages: int = 0
    image_pages: int = 0  # pages whose content is mainly an image (a scan)
    text_pages: int = 0
    encrypted: bool = False
    problem: str | None = None
    detail: str | None = None
    format: Literal["pdf", "ofd"] = "pdf"
    # PDF: its signed signature fields, else the first page with a seal impression (the search
    # stops there); OFD: every signed page and every page with a seal image.
    seals: list[SealFound] = field(default_factory=list)
    seal_pages_checked: int = 0  # pages looked at for seal impressions (up to a cap, or the first seal)


@dataclass
class CellProblem:
    """One cell of a table that a rule should know about (e.g. a long number that lost digits)."""

    sheet: str
    cell: str  # A1 position
    row: int  # data-row number, 1-based (first record = 1)
    field: str  # canonical column key or the header text
    kind: str  # ``precision_lost`` | ``formula`` | ``bad_phone`` | ...
    value_seen: str


@dataclass
class TableRecord:
    """One data row of a summary table (汇总表)."""

    row: int  # 1-based record number
    sheet: str
    excel_row: int  # the worksheet row number
    cells: dict[str, str | None]  # canonical key (or header text) -> cleaned text
    positions: dict[str, str] = field(default_factory=dict)  # key -> A1 cell


@dataclass
class TableFacts:
    """A summary table (汇总表) read from .xlsx/.xls/.csv.

    Canonical column keys for the notice's layout (附件3): ``seq`` 序号, ``project_name`` 项目名称,
    ``category_direction`` 项目类别和方向, ``applicant`` 申报单位名称, ``contact_name`` 联系人,
    ``contact`` 联系方式（手机与邮箱）. Other headers are kept under their own text.
    """

    readable: bool
    sheet: str | None = None
    title: str | None = None
    unit: str | None = None  # 推荐单位（盖章）：<unit>
    header_row: int | None = None  # worksheet row of the (last) header row
    columns: dict[str, str] = field(default_factory=dict)  # key -> column letter
    missing_columns: list[str] = field(default_factory=list)  # notice columns not found
    records: list[TableRecord] = field(default_factory=list)
    cell_problems: list[CellProblem] = field(default_factory=list)
    real_format: str | None = None  # xlsx | xls | csv | html
    problem: str | None = None
    detail: str | None = None


@dataclass
class Material:
    """One file of a submission, with its role and what its parser found.

    ``name`` is the decoded original name; for an archive member it is
    ``"<archive name>!/<member path>"`` joined for each level (``材料/内层材料.zip!/申报书.docx``
    when the outer archive's own name is not part of the path, see ``parsers/archives.py``).
    """

    name: str
    path: Path | None  # where the exact bytes are on disk
    sha256: str
    size: int  # bytes
    role: Role = "other"
    kind: str = "unknown"  # content kind from the bytes: docx, doc, wps, pdf, mp4, webm, xlsx, zip, eml…
    readable: bool = True
    problem: str | None = None
    detail: str | None = None
    form: FormFacts | None = None
    scan: ScanFacts | None = None
    video: VideoFacts | None = None
    table: TableFacts | None = None


@dataclass
class IntakeProblem:
    """Something about the input as a whole (not one readable file), e.g. an unsafe archive member."""

    kind: str
    where: str
    detail: str = ""


@dataclass
class Attachment:
    """One attachment of a mail, as decoded by ``parsers/mime.py``.

    ``data`` holds the exact decoded bytes of the part (Content-Transfer-Encoding undone, nothing else).
    """

    name: str
    content_type: str
    data: bytes
    sha256: str
    size: int
    content_id: str | None = None
    inline: bool = False
    from_forwarded: bool = False  # found inside a message/rfc822 part


@dataclass
class MailFacts:
    """One mail message as facts (``parsers/mime.py``)."""

    subject: str
    from_addr: str  # the envelope-ish sender: From address, lowercased
    from_name: str
    to: list[str]
    cc: list[str]
    reply_to: str | None
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    date: datetime | None
    body_text: str
    links: list[str]  # cloud-drive and other URLs found in the bodies
    attachments: list[Attachment]
    headers: dict[str, str]  # lower-case name -> decoded value (first occurrence), for loop checks
    inner_from_addr: str | None = None  # the forwarded original's From (message/rfc822), if any
    inner_from_name: str | None = None
    problems: list[IntakeProblem] = field(default_factory=list)


@dataclass
class Contact:
    name: str | None = None
    mobile: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass
class DossierFacts:
    """Everything known about one dossier (one project of one applicant) before the rules run."""

    source: str  # what it came from: a path, or "mail:<Message-ID>"
    materials: list[Material] = field(default_factory=list)
    problems: list[IntakeProblem] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    cloud_links: list[CloudLink] = field(default_factory=list)  # the cloud-drive ones, read closer
    project_name: str | None = None
    applicant: str | None = None
    uscc: str | None = None
    category: str | None = None
    direction: str | None = None
    contact: Contact = field(default_factory=Contact)
    priority: list[str] = field(default_factory=list)
    received_at: datetime | None = None
    sender: str | None = None  # mail address that submitted it, when it came by mail
    mail: MailFacts | None = None
    table: TableFacts | None = None  # a summary table that came with it (packets)
