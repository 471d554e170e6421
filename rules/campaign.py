"""Campaign profiles: the notice's numbers as data (TOML), validated into a ``Campaign``."""

from __future__ import annotations

import tomllib
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rules.errors import RulesError
from rules.names import normalise_name

SHIPPED_PROFILE = "iip-2023.toml"

# Chinese names of the summary table's canonical columns (附件3), for messages.
TABLE_COLUMN_LABELS: dict[str, str] = {
    "seq": "序号",
    "project_name": "项目名称",
    "category_direction": "项目类别和方向",
    "applicant": "申报单位名称",
    "contact_name": "联系人",
    "contact": "联系方式（手机与邮箱）",
}


class CampaignError(RulesError):
    """A campaign profile that cannot be read or does not validate (message says which file)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Strict):
    """One category (一: 7大类) and its official directions (empty: any direction accepted)."""

    name: str
    directions: list[str] = Field(default_factory=list)

    def knows_direction(self, direction: str) -> bool:
        """True when the list is empty or holds ``direction`` (names compared normalised)."""
        if not self.directions:
            return True
        key = normalise_name(direction)
        return any(normalise_name(d) == key for d in self.directions)


class VideoRules(_Strict):
    """二（四）: the video window in whole seconds (floor of the duration), inclusive."""

    min_s: int = 300
    max_s: int = 600
    link_counts_as_present: bool = True
    cloud_hosts: list[str] = Field(default_factory=list)


class MaterialRules(_Strict):
    required: list[Literal["application_form", "scanned_copy", "video"]] = Field(
        default_factory=lambda: ["application_form", "scanned_copy", "video"]
    )
    form_kinds: list[str] = Field(default_factory=lambda: ["docx", "doc", "wps"])


class FormRules(_Strict):
    required_fields: dict[str, str] = Field(default_factory=dict)  # key -> Chinese name


class Limits(_Strict):
    projects_per_applicant: int = 2
    directions_per_category: int = 1


class LatePolicy(_Strict):
    severity: Literal["warning", "error"] = "warning"


class Level(_Strict):
    """One level of the chain (district → city → province → ministry): deadline and copies."""

    label: str
    deadline: date | None = None  # last day, inclusive, in the campaign's time zone
    form_sets: int | None = None
    discs: int | None = None
    table_paper: int | None = None
    table_electronic: int | None = None


class Quota(_Strict):
    label: str
    limit: int


class TableRules(_Strict):
    title: str = ""
    columns: list[str] = Field(default_factory=lambda: list(TABLE_COLUMN_LABELS))


class Campaign(_Strict):
    """A validated campaign profile (see ``rules/campaigns/iip-2023.toml`` for every field)."""

    name: str
    code: str
    notice: str
    # The notice of the bureau that receives from enterprises and asks for the editable 申报书
    # and the full scanned copy on disc (Wuhan's forwarding notice in the 2023 chain).
    local_notice: str = "市级通知"
    year: int
    timezone: str = "Asia/Shanghai"
    demonstration_years: int = 2
    winners: Path | None = None  # resolved against the profile's folder
    categories: list[Category]
    video: VideoRules = Field(default_factory=VideoRules)
    materials: MaterialRules = Field(default_factory=MaterialRules)
    form: FormRules = Field(default_factory=FormRules)
    limits: Limits = Field(default_factory=Limits)
    late_policy: LatePolicy = Field(default_factory=LatePolicy)
    levels: dict[str, Level] = Field(default_factory=dict)
    quotas: dict[str, Quota] = Field(default_factory=dict)
    table: TableRules = Field(default_factory=TableRules)
    source: str = ""  # where the profile was read from

    @model_validator(mode="after")
    def _unique_categories(self) -> Campaign:
        names = [normalise_name(c.name) for c in self.categories]
        if len(set(names)) != len(names):
            raise ValueError("category names repeat")
        return self

    def category(self, text: str | None) -> Category | None:
        """The category ``text`` names (exact after normalising, or without its final 类)."""
        if not text:
            return None
        key = normalise_name(text)
        for c in self.categories:
            full = normalise_name(c.name)
            if key == full or (full.endswith("类") and key == full[:-1]):
                return c
        return None

    def category_names(self) -> str:
        """The categories joined for messages: ``新技术类、工厂类…``."""
        return "、".join(c.name for c in self.categories)

    def level(self, level: str) -> Level:
        """The level's settings; raises ``CampaignError`` for a level the profile lacks."""
        try:
            return self.levels[level]
        except KeyError:
            known = ", ".join(self.levels) or "none"
            raise CampaignError(
                f"campaign {self.code} has no level {level!r} (known: {known})"
            ) from None


def load_campaign(path: Path | str | None = None) -> Campaign:
    """Read and validate a campaign profile (TOML).

    ``None`` loads the shipped profile from inside the package (``rules/campaigns/iip-2023.toml``,
    found with importlib.resources, so it works from any current directory). A relative
    ``winners`` path is resolved against the profile's folder; it must exist when given.

    Raises ``CampaignError`` when the file is missing, not TOML, or does not validate.
    """
    if path is None:
        ref = resources.files("rules") / "campaigns" / SHIPPED_PROFILE
        text = ref.read_text(encoding="utf-8")
        base = Path(str(ref)).parent
        source = f"rules/campaigns/{SHIPPED_PROFILE}"
    else:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise CampaignError(f"cannot read campaign profile {p}: {exc}") from exc
        base = p.resolve().parent
        source = str(p)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"campaign profile {source} is not valid TOML: {exc}") from exc
    winners = data.get("winners")
    if not winners:
        data["winners"] = None
    else:
        wp = Path(winners)
        data["winners"] = wp if wp.is_absolute() else base / wp
        if not data["winners"].is_file():
            raise CampaignError(
                f"campaign profile {source}: winners list {data['winners']} not found"
            )
    data["source"] = source
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        raise CampaignError(f"campaign profile {source} does not validate: {exc}") from exc
