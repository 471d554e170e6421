"""``intake doctor``: which ffprobe is used (path, version), which optional tools are present, and
the DNS TXT record to publish for the configured DKIM key."""

from __future__ import annotations

import shutil
import subprocess

from rich.table import Table


def _version(cmd: list[str]) -> str:
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"error: {exc}"
    first = (res.stdout or res.stderr).strip().splitlines()
    return first[0] if first else "(no version output)"


def doctor_table() -> tuple[Table, bool]:
    """A table of tools; ``ok`` is False when something the main job needs (ffprobe) is missing."""
    from parsers.ffprobe_locate import locate_ffprobe

    table = Table(title="dossier-intake doctor")
    table.add_column("tool")
    table.add_column("status")
    table.add_column("path / version")
    ok = True
    found = locate_ffprobe()
    if found is None:
        ok = False
        table.add_row("ffprobe (required)", "[red]missing[/red]",
                      "apt-get install ffmpeg, or pip install 'dossier-intake[ffmpeg]'")
    else:
        table.add_row("ffprobe (required)", "[green]ok[/green]", f"{found.path}  {found.version}")
    for label, names, args, purpose in (
        ("LibreOffice", ("soffice", "libreoffice"), ["--version"], "reads .doc/.wps forms"),
        ("RAR extractor", ("unrar", "unar", "bsdtar", "7z"), None, "opens .rar archives"),
        ("Dovecot", ("dovecot",), ["--version"], "tests only: the IMAP test server"),
        ("ffmpeg", ("ffmpeg",), ["-version"], "tests and samples only: makes videos"),
    ):
        name = next((n for n in names if shutil.which(n)), None)
        if name is None:
            wanted = f" (any of {', '.join(names)})" if len(names) > 1 else ""
            table.add_row(f"{label} (optional)", "[yellow]absent[/yellow]", purpose + wanted)
            continue
        path = shutil.which(name) or name
        version = _version([path, *args]) if args else ""
        # Several tools can serve (rar: unrar, unar, bsdtar or 7z): name the one found.
        used = f"{name}: " if len(names) > 1 else ""
        table.add_row(f"{label} (optional)", "[green]present[/green]",
                      f"{used}{path}  {version}".strip())
    return table, ok


def dkim_lines(settings) -> tuple[list[str], bool]:
    """What ``intake doctor`` says about DKIM: the TXT record to publish for ``[smtp] dkim_*``
    (name, value, zone-file line), or why nothing is signed. ``ok`` is False when the key is
    configured but cannot be used."""
    from outbox.delivery.dkim import DkimKeyError, load_private_key, txt_record, zone_line

    s = settings.smtp
    if not s.dkim_enabled or s.dkim_key_file is None:
        return ["DKIM: outgoing mail is not signed here ([smtp] dkim_* empty): right when the "
                "provider's SMTP signs (163.com, QQ, Aliyun with an account and 授权码); with our "
                "own mail server run `intake dkim keygen --out FILE`."], True
    try:
        value = txt_record(load_private_key(s.dkim_key_file))
    except DkimKeyError as exc:
        return [f"DKIM: key unusable: {exc}"], False
    name = f"{s.dkim_selector}._domainkey.{s.dkim_domain}"
    return [f"DKIM: signing as d={s.dkim_domain} s={s.dkim_selector} (relaxed/relaxed, rsa-sha256).",
            f"Publish this DNS TXT record at {name}:",
            f"  {value}",
            f"  {zone_line(s.dkim_selector, s.dkim_domain, value)}"], True
