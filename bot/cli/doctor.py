"""``intake doctor``: which ffprobe is used (path, version) and which optional tools are present."""

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
