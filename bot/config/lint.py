"""Settings that validate but cannot work: what ``intake config check`` warns about.

The pydantic model catches wrong keys and types; this catches the rest an IT person trips over
on the first real run: example addresses left in place, a mailbox enabled without a password,
folders that cannot be written, a campaign profile that does not load.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.config.model import Settings

EXAMPLE_DOMAINS = ("example.org", "example.com", "example.net")


def _is_example(host_or_addr: str) -> bool:
    return host_or_addr.lower().rstrip(".").endswith(EXAMPLE_DOMAINS)


def _writable(path: Path) -> bool:
    """True when ``path`` exists writable, or its nearest existing parent is writable."""
    p = path.resolve()
    while not p.exists() and p != p.parent:
        p = p.parent
    return os.access(p, os.W_OK)


def errors(settings: Settings) -> list[str]:
    """What stops ``intake run`` from starting, each naming its key: ``config check`` fails on these."""
    return missing_drop_folders(settings.drop.folders)


def missing_drop_folders(folders: list[Path]) -> list[str]:
    """One line per configured drop folder that is not an existing directory (empty: all fine)."""
    out = []
    for n, root in enumerate(folders):
        if not root.is_dir():
            what = "is not a directory" if root.exists() else "does not exist"
            out.append(f"drop.folders[{n}]: {root} {what} (a typo or an unmounted share? "
                       f"create it or fix the path)")
    return out


def lint(settings: Settings, path: Path | None = None) -> list[str]:
    """Plain-English warnings, each naming its key; empty when nothing looks wrong.

    ``path``: the file the settings came from, checked to be owner-only when it holds a secret.
    """
    out: list[str] = []
    if path is not None and path.is_file() and path.stat().st_mode & 0o077:
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(f"{k} =" in text and f'{k} = ""' not in text for k in ("password", "oauth2_token")):
            out.append(f"{path}: holds a secret but others can read it (chmod 600 {path})")
    i, s, o = settings.imap, settings.smtp, settings.outbox
    if i.enabled:
        if _is_example(i.host):
            out.append(f"imap.host: still the example host {i.host!r}")
        if not i.username:
            out.append("imap.username: empty, but [imap] is enabled")
        if not i.password.get_secret_value() and not i.oauth2_token:
            out.append("imap.password: empty (set INTAKE_IMAP__PASSWORD in the environment or the env file)")
    if o.transport == "smtp":
        if _is_example(s.host):
            out.append(f"smtp.host: still the example host {s.host!r}, but outbox.transport = \"smtp\"")
        if s.username and not s.password.get_secret_value():
            out.append("smtp.password: empty (set INTAKE_SMTP__PASSWORD in the environment or the env file)")
    if _is_example(o.from_addr) and (i.enabled or o.transport == "smtp"):
        out.append(f"outbox.from_addr: still the example address {o.from_addr!r}")
    out.extend(_sender_consistency(settings))
    out.extend(unknown_environment(settings))
    if i.enabled or o.transport == "smtp":
        out += _placeholders(settings)
    if settings.digest.enabled and not settings.office.officers:
        out.append("office.officers: none configured, so scheduled digests go to nobody (or set digest.enabled = false)")
    if settings.office.downstream_senders and not settings.packet.senders:
        out.append("packet.senders: none listed, so every packet from office.downstream_senders is "
                   "refused as unsigned (add each unit's `intake keys show` line, see README \"Keys\")")
    allowed = {a.strip().lower() for a in settings.office.downstream_senders}
    for n, sender in enumerate(settings.packet.senders):
        if sender.address and sender.address.strip().lower() not in allowed:
            out.append(f"packet.senders[{n}].address: {sender.address!r} is not in "
                       "office.downstream_senders, so every packet it mails is refused")
        elif not sender.address and len(allowed) > 1:
            out.append(f"packet.senders[{n}].address: unset while office.downstream_senders lists "
                       f"{len(allowed)} addresses: {sender.unit}'s packets are taken From any of them "
                       "(set its own address)")
    if settings.office.upstream:
        from outbox.documents.signing import key_path

        if not key_path(settings).exists():
            out.append(f"packet.signing_key: no key at {key_path(settings)} yet; run `intake keys init` "
                       "and give the public key to the level above before sending a packet")
    for key, path in (
        ("store.data_dir", settings.store.data_dir),
        ("outbox.folder", o.folder),
        ("packet.out_dir", settings.packet.out_dir),
        *((f"drop.folders[{n}]", p) for n, p in enumerate(settings.drop.folders)),
        *((("drop.processed_dir", settings.drop.processed_dir),) if settings.drop.processed_dir else ()),
    ):
        if not _writable(path):
            out.append(f"{key}: {path} cannot be written by this user")
    from rules.campaign import CampaignError, load_campaign

    try:
        campaign = load_campaign(settings.campaign.profile)
    except CampaignError as exc:
        out.append(f"campaign.profile: {exc}")
    else:
        out += _deadline_passed(settings, campaign)
    return out


def unknown_environment(settings: Settings, environ: dict[str, str] | None = None) -> list[str]:
    """``INTAKE_*`` variables that name no setting: a misspelt section (``INTAKE_IMAPP__PASSWORD``)
    is otherwise ignored without a word, and the password it was meant to set stays empty."""
    import os

    env = os.environ if environ is None else environ
    fields = type(settings).model_fields
    out = []
    for name in sorted(env):
        upper = name.upper()
        if not upper.startswith("INTAKE_") or upper.startswith(_NOT_SETTINGS):
            continue
        section = name[len("INTAKE_"):].lower().partition("__")[0]
        if section not in fields:  # (a wrong key inside a known section fails the load itself)
            out.append(f"{name}: no setting [{section}] (sections: {', '.join(sorted(fields))}); ignored")
    return out


# INTAKE_* variables read by other parts than the configuration model (crash points, tests).
_NOT_SETTINGS = ("INTAKE_CRASH_AT", "INTAKE_TEST_")


def _placeholders(settings: Settings) -> list[str]:
    """Office values still those of the example, while replies go to real enterprises: every
    回执 and 补正通知 shows the unit and the contact line, and the division code is in every
    tracking number."""
    office, out = settings.office, []
    if "示例" in office.unit:
        out.append(f"office.unit: still the example {office.unit!r}; every reply names it")
    if "00000000" in office.officer_contact:
        out.append(f"office.officer_contact: still the example {office.officer_contact!r}; every reply "
                   "tells enterprises to call it")
    if not office.unit_kind:
        out.append("office.unit_kind: empty, so no recommendation quota applies (the digest says "
                   "推荐名额未设定); set the campaign's quota for this unit, e.g. \"plan_city\"")
    if office.division_code == "420100" and "武汉" not in office.unit:
        out.append("office.division_code: still the example's 420100 (武汉市), but office.unit is "
                   f"{office.unit!r}; it is part of every tracking number (GB/T 2260)")
    return out


def _deadline_passed(settings: Settings, campaign) -> list[str]:
    """The level's deadline is behind today (campaign zone) and no ``[campaign] now`` is pinned:
    every dossier would be LATE_SUBMISSION."""
    from datetime import UTC, datetime

    from rules.campaign import CampaignError
    from rules.wording import in_zone

    if settings.campaign.now is not None:
        return []
    try:
        deadline = campaign.level(settings.office.level).deadline
    except CampaignError:
        return []
    today = in_zone(datetime.now(UTC), campaign.timezone).date()
    if deadline is None or deadline >= today:
        return []
    return [f"campaign.now: not set, and the {settings.office.level} deadline of {campaign.name} "
            f"({deadline.isoformat()}) passed {(today - deadline).days} days ago, so every dossier "
            "will be LATE_SUBMISSION; pin [campaign] now to replay old material, or use this "
            "year's campaign.profile"]


# Providers whose SMTP signs what their accounts send (their own DKIM key): signing here is
# optional there, and only helps when the bureau publishes the key for its own domain.
PROVIDER_SMTP = ("smtp.163.com", "smtp.126.com", "smtp.yeah.net", "smtp.qq.com",
                 "smtp.exmail.qq.com", "smtp.qiye.aliyun.com", "smtp.aliyun.com",
                 "smtp.office365.com", "smtp.qiye.163.com")


def _domain_of(addr: str) -> str:
    return addr.rsplit("@", 1)[-1].strip().lower().rstrip(".") if "@" in addr else ""


def _sender_consistency(settings: Settings) -> list[str]:
    """From, envelope sender (= From, outbox/delivery/queue.py), Message-ID and DKIM d= domains
    should be one domain: filters score mismatches, and DMARC needs d= aligned with From."""
    out: list[str] = []
    s, o = settings.smtp, settings.outbox
    from_domain = _domain_of(o.from_addr)
    message_id_domain = o.domain.strip().lower().rstrip(".")
    if from_domain and message_id_domain != from_domain:
        out.append(f"outbox.domain: Message-IDs on {message_id_domain!r} but From is on "
                   f"{from_domain!r}; spam filters score the mismatch (use {from_domain!r})")
    if s.dkim_enabled:
        d = s.dkim_domain
        if from_domain and from_domain != d and not from_domain.endswith("." + d):
            out.append(f"smtp.dkim_domain: {d!r} is not the From domain {from_domain!r}; "
                       "DMARC needs the signature aligned with From")
        if s.dkim_key_file is not None and s.dkim_key_file.stat().st_mode & 0o077:
            out.append(f"smtp.dkim_key_file: others can read the private key "
                       f"(chmod 600 {s.dkim_key_file})")
        if o.transport == "smtp" and s.host.lower() in PROVIDER_SMTP:
            out.append(f"smtp.dkim_domain: {s.host} signs with the provider's own key; our "
                       "signature is only useful if the TXT record is published for "
                       f"{s.dkim_selector}._domainkey.{d} (else leave the dkim_* keys empty)")
    return out
