"""Convert legacy .doc/.wps forms to .docx with LibreOffice headless, when it is installed."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("intake.forms")


@dataclass
class Conversion:
    """The outcome of one conversion: ``docx`` is the converted file, or ``problem`` says why not.

    ``problem``: ``unsupported`` (no LibreOffice), ``timeout``, ``corrupt`` (LibreOffice ran but
    produced nothing).
    """

    docx: Path | None
    problem: str | None = None
    detail: str | None = None


def find_soffice() -> str | None:
    """The LibreOffice command on PATH (``soffice`` or ``libreoffice``), or ``None``."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_docx(src: Path, out_dir: Path, *, timeout_s: float = 60) -> Conversion:
    """Convert ``src`` (.doc/.wps) into ``out_dir`` as .docx with ``soffice --headless``.

    LibreOffice runs with its own throw-away profile (so parallel conversions and a desktop
    session do not block each other) in a new process group, killed whole after ``timeout_s``
    seconds. Never raises on bad input.
    """
    soffice = find_soffice()
    if soffice is None:
        return Conversion(None, "unsupported", "LibreOffice (soffice) is not installed")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="intake-lo-") as profile:
        # A plain ASCII copy: LibreOffice's command line is fussy about odd names.
        work_src = Path(profile) / ("input" + src.suffix.lower())
        shutil.copyfile(src, work_src)
        cmd = [
            soffice,
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            "--nologo",
            f"-env:UserInstallation={Path(profile, 'profile').as_uri()}",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            str(out_dir),
            str(work_src),
        ]
        try:
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            return Conversion(None, "unsupported", f"LibreOffice does not start: {exc}")
        try:
            _, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return Conversion(None, "timeout", f"LibreOffice did not finish within {timeout_s:g} s")
    out = out_dir / "input.docx"
    if proc.returncode != 0 or not out.exists():
        detail = err.decode("utf-8", "replace").strip()[:300] or f"exit status {proc.returncode}"
        return Conversion(None, "corrupt", f"LibreOffice could not convert it: {detail}")
    return Conversion(out)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill LibreOffice and the soffice.bin child it forks (same process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()
