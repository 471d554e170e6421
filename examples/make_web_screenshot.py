"""Regenerate examples/web-desk.png: the demo's dossier list in the web desk, as Chromium shows it.

Run after ``make demo`` (``make web-screenshot`` does both): it serves the desk over the demo's
store (``examples/demo.toml``) on a free loopback port, logs in as the demo officer with Debian's
Chromium (the same code as ``tests/test_web_desk.py``: ``tests/web_harness.py``) and saves the page.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config.model import load_settings  # noqa: E402
from tests.web_harness import browser_missing, screenshot_list  # noqa: E402

DEMO_OFFICER, DEMO_PASSWORD = "demo", "demo-desk-2023"  # as written in examples/demo.toml


def main() -> int:
    missing = browser_missing()
    if missing:
        print(f"make_web_screenshot: {missing}", file=sys.stderr)
        return 1
    settings = load_settings(ROOT / "examples" / "demo.toml")
    if not settings.store.db_path.exists():
        print("make_web_screenshot: run `make demo` first (no demo store)", file=sys.stderr)
        return 1
    out = screenshot_list(settings, ROOT / "examples" / "web-desk.png", DEMO_OFFICER, DEMO_PASSWORD)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
