"""Ctrl-C at the terminal does not reach ffprobe (issue 17, item 18): it runs in its own session,
so the terminal's SIGINT goes to the daemon alone, which finishes the current input."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from parsers.video import probe_video


def test_ffprobe_runs_outside_the_terminals_process_group(tmp_path, video_6min):
    real = shutil.which("ffprobe")
    if real is None:
        pytest.skip("ffprobe absent (tools/install-system-deps.sh installs it)")
    seen = tmp_path / "session.txt"
    shim = tmp_path / "ffprobe"
    shim.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        f"open({str(seen)!r}, 'a').write(f'{{os.getpgid(0)}}\\n')\n"
        f"os.execv({real!r}, [{real!r}, *sys.argv[1:]])\n",
        encoding="utf-8",
    )
    shim.chmod(0o755)
    facts = probe_video(video_6min, ffprobe=str(shim))
    assert facts.readable and round(facts.duration_s or 0) == 372
    groups = {int(x) for x in seen.read_text().split()}
    assert groups and os.getpgid(0) not in groups
