"""The machine a benchmark ran on: CPU, cores, memory, OS, tool versions (for BENCHMARKS.md)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path


def _first_line(cmd: list[str]) -> str:
    if shutil.which(cmd[0]) is None:
        return "absent"
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "absent"
    text = (out.stdout or out.stderr).decode("utf-8", "replace").strip().splitlines()
    return text[0] if text else "?"


def describe() -> dict[str, str]:
    """Key facts about this machine as strings."""
    cpu = "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "ffprobe": _first_line(["ffprobe", "-version"]),
        "dovecot": _first_line(["dovecot", "--version"]),
        "zip": _first_line(["zip", "-v"]).replace("Copyright", "").strip()[:60],
    }
