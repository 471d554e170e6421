"""What a reply needs to know about the sending office and the campaign, apart from the dossier."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from rules.wording import DEFAULT_TZ, in_zone


@dataclass
class ReplyContext:
    """The office and campaign facts a 回执/补正通知 is written with.

    - ``campaign_name``: e.g. ``2023年工业互联网试点示范``; ``level``: ``district|city|province|ministry``;
      ``unit``: the receiving office, e.g. ``武汉市经济和信息化局``.
    - ``from_addr``/``from_name``: our sender; ``domain``: right-hand side of our Message-IDs.
    - ``officer_contact``: one line, e.g. ``张科长 027-85550000（工作日 9:00–17:00）``.
    - ``deadline``: the last day to submit at this level (the level's profile: 2023-12-01 for the city).
    - ``next_steps``: lines from the notice (paper copies, discs …), shown in the receipt.
    - ``now``: the time the reply is written (aware datetime preferred); ``loop_header_value``: the
      value of our ``X-Intake-Loop`` header (unique per instance).
    - ``large_file_note``: optional line saying where videos too large for mail go (drop folder, disc).
    - ``timezone``: the campaign's zone (``Campaign.timezone``); ``now`` is converted into it, so
      every date and time a reader sees is that zone's whatever the machine's TZ.
    - ``extra``: optional values; ``version_note`` follows the version number (a resubmission
      whose files are the previous version's: ``（与第 1 版相同，未作改动）``).
    - ``reply_prefix``: prefix of a reply subject (``回复：``; ``Re: `` also passes C20).
    """

    campaign_name: str
    level: str
    unit: str
    from_addr: str
    from_name: str
    domain: str
    officer_contact: str
    deadline: date | None
    next_steps: list[str]
    now: datetime
    loop_header_value: str
    large_file_note: str = ""
    reply_prefix: str = "回复："
    extra: dict[str, str] = field(default_factory=dict)
    timezone: str = DEFAULT_TZ

    def __post_init__(self) -> None:
        self.now = in_zone(self.now, self.timezone)
