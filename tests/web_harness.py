"""The web desk on a real loopback port, and Debian's Chromium driven by Selenium.

Used by ``tests/test_web_desk.py`` and by ``examples/make_web_screenshot.py`` (the screenshot in
the README is taken by this same code). Chromium and chromedriver come from Debian's packages
(``tools/install-system-deps.sh``); nothing is downloaded (``SE_OFFLINE``, explicit paths).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("INTAKE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("INTAKE_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--lang=zh-CN", "--window-size=1280,900",
)  # fmt: skip


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (None when Chromium and its driver are installed)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_desk(settings) -> Iterator[str]:
    """Run the desk for ``settings`` with uvicorn in a thread; yields its base URL."""
    import uvicorn

    from bot.web.app import create_app

    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="web-desk", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # start-up wait only; no assertion depends on timing
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web desk did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        app.state.desk.close()


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium (Selenium WebDriver) with a fresh profile, quit afterwards."""
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="intake-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def log_in(driver, base: str, name: str, password: str) -> None:
    """Fill and send the login form like an officer would."""
    from selenium.webdriver.common.by import By

    driver.get(base + "/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "logout"))


def wait_for(driver, condition, timeout: float = 30):
    """Selenium's WebDriverWait: the page's own loading, not a timed assertion."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def screenshot_list(settings, out: Path, name: str, password: str) -> Path:
    """Log in as ``name`` and save a PNG of the dossier list to ``out``."""
    with serve_desk(settings) as base, chromium() as driver:
        driver.set_window_size(1280, 900)
        log_in(driver, base, name, password)
        driver.get(base + "/")
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
    return out
