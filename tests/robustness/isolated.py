"""Read one file in a child process and report its facts and the child's peak memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import json, resource, sys
from pathlib import Path
from parsers.inputs import read_input
d = read_input(Path(sys.argv[1]), Path(sys.argv[2]))[0]
print(json.dumps({
    "materials": [[m.name, m.kind, m.role, m.problem] for m in d.materials],
    "problems": [[p.kind, p.where] for p in d.problems],
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
}, ensure_ascii=False))
"""


def read_isolated(source: Path, work: Path) -> dict:
    """``{"materials": [[name, kind, role, problem]…], "problems": [[kind, where]…], "peak_mib": n}``
    for ``parsers.inputs.read_input(source, work)`` run in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(source), str(work)],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def baseline_mib() -> int:
    """Peak memory of a child that only imports the parsers (the floor of ``peak_mib``), MiB."""
    code = "import resource, parsers.inputs; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return int(out.stdout.strip())
