"""The officers' web desk in a real browser: Debian's Chromium (Selenium, chromium-driver) against
``intake web``'s app served by uvicorn on loopback, over an embedded instance whose dossiers were
made from real files (a real H.264 mp4 made by ffmpeg here).

Walkthrough: log in, filter the list, open a dossier, read the <video>'s duration, waive a finding
and see the verdict change and the audit row, log out. Then the guards: no login → the login page;
an officer limited to 工厂类 cannot open a 安全类 dossier, its materials or act on it by URL; a POST
without the CSRF token changes nothing; materials are served by sha256 with Range and RFC 6266
names; ``intake web passwd`` stores an argon2 hash that logs in.
"""

from __future__ import annotations

import http.cookiejar
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.config.model import load_settings
from bot.daemon import Intake
from bot.store.database import Store
from bot.store.decisions import decisions_for
from bot.web.auth import hash_password
from tests.conftest import SAMPLES
from tests.factories import make_video
from tests.web_harness import browser_missing, chromium, log_in, serve_desk, wait_for

SECURITY = SAMPLES / "04-光谷示例安全-信用代码错误"  # 安全类, defective only for USCC_INVALID
FACTORY = SAMPLES / "01-武汉示例智能制造-完整材料"  # 工厂类, accepted
VIDEO_S = 372  # seconds; above the notice's minimum, so USCC_INVALID is the only error
LEAD, LEAD_PW = "张科长", "lead-password-1"
LIMITED, LIMITED_PW = "李工", "factory-password-1"


def _need_browser() -> None:
    import os

    reason = browser_missing()
    if reason and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """An instance with a 安全类 dossier (defective, our real video) and a 工厂类 one (accepted),
    officers 张科长 (lead; password set by ``intake web passwd``) and 李工 (工厂类 only; hash in
    the config), and the desk serving it. Yields (base URL, settings, {category: tracking})."""
    root = tmp_path_factory.mktemp("webdesk")
    config = root / "config.toml"
    config.write_text(
        f"""
[store]
data_dir = "{root / "store"}"
[drop]
folders = ["{root / "dropbox"}"]
processed_dir = "{root / "processed"}"
settle_s = 0.0
[outbox]
transport = "file"
folder = "{root / "outbox"}"
[campaign]
now = 2023-11-29T10:00:00+08:00
[office]
officers = [
  {{ name = "{LEAD}", email = "zhang@bureau.example.org", lead = true }},
  {{ name = "{LIMITED}", email = "li@bureau.example.org", categories = ["工厂类"], password_hash = "{hash_password(LIMITED_PW)}" }},
]
""",
        encoding="utf-8",
    )
    res = CliRunner().invoke(app, ["--config", str(config), "web", "passwd", LEAD, "--stdin"],
                             input=LEAD_PW + "\n")  # fmt: skip
    assert res.exit_code == 0, res.output
    settings = load_settings(config)
    stored = settings.store.data_dir / "web" / "passwords.json"
    assert stored.stat().st_mode & 0o077 == 0 and "$argon2id$" in stored.read_text(encoding="utf-8")
    drop = settings.drop.folders[0]
    shutil.copytree(FACTORY, drop / FACTORY.name)
    shutil.copytree(SECURITY, drop / SECURITY.name, ignore=shutil.ignore_patterns("*.mp4"))
    make_video(drop / SECURITY.name / "项目视频.mp4", VIDEO_S)
    intake = Intake(settings)
    try:
        intake.run_once()
        trackings = {d.category: d.tracking for d in intake.store.dossiers()}
    finally:
        intake.close()
    assert set(trackings) == {"安全类", "工厂类"}, trackings
    with serve_desk(settings) as base:
        yield base, settings, trackings


class Client:
    """A plain HTTP client with a cookie jar (for the checks that need no browser)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str, headers: dict | None = None) -> tuple[int, str, dict, bytes]:
        """(status, final URL, headers, body); redirects followed."""
        req = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as r:
                return r.status, r.url, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.url, dict(e.headers), e.read()

    def post(self, path: str, fields: dict) -> tuple[int, str, bytes]:
        data = urllib.parse.urlencode(fields).encode()
        req = urllib.request.Request(self.base + path, data=data, method="POST")
        try:
            with self.opener.open(req, timeout=60) as r:
                return r.status, r.url, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.url, e.read()

    def csrf(self, path: str = "/login") -> str:
        _, _, _, body = self.get(path)
        return re.search(rb'name="csrf" value="([^"]+)"', body).group(1).decode()

    def login(self, name: str, password: str) -> None:
        status, url, body = self.post(
            "/login", {"csrf": self.csrf(), "name": name, "password": password, "next": "/"}
        )
        assert status == 200 and url.endswith("/") and "退出".encode() in body, body[:300]


def _decisions(settings, tracking):
    store = Store.open(settings.store.db_path, settings.store.archive_dir)
    try:
        return decisions_for(store, tracking)
    finally:
        store.close()


def test_officer_walkthrough_in_chromium(desk):
    """GIVEN the desk with two dossiers WHEN 张科长 logs in with Chromium, filters the list to
    安全类, opens the dossier, plays the video's metadata, waives USCC_INVALID with a reason and
    logs out THEN the list narrows to that dossier, the <video> reports the mp4's real duration,
    the verdict turns 需补正 → 受理, the audit row names 张科长 and the web, and after logging out
    the list asks for a login again."""
    _need_browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, settings, trackings = desk
    tracking = trackings["安全类"]
    with chromium() as driver:
        driver.get(base + "/")
        assert driver.current_url.startswith(base + "/login")
        log_in(driver, base, LEAD, LEAD_PW)
        rows = driver.find_elements(By.CSS_SELECTOR, "#dossiers tr[data-tracking]")
        assert {r.get_attribute("data-tracking") for r in rows} == set(trackings.values())

        Select(driver.find_element(By.ID, "f-category")).select_by_visible_text("安全类")
        driver.find_element(By.ID, "f-apply").click()
        wait_for(driver, lambda d: "category=" in d.current_url)
        rows = driver.find_elements(By.CSS_SELECTOR, "#dossiers tr[data-tracking]")
        assert [r.get_attribute("data-tracking") for r in rows] == [tracking]
        assert "需补正" in rows[0].text

        driver.find_element(By.LINK_TEXT, tracking).click()
        wait_for(driver, lambda d: d.find_elements(By.ID, "verdict"))
        assert driver.find_element(By.ID, "verdict").text == "需补正"
        video = driver.find_element(By.CSS_SELECTOR, "video.player")
        duration = wait_for(driver, lambda d: d.execute_script(
            "const v = arguments[0]; return v.readyState >= 1 && isFinite(v.duration) ? v.duration : null;",
            video))  # fmt: skip
        assert abs(duration - VIDEO_S) < 1.0, duration
        assert driver.execute_script("return arguments[0].error", video) is None
        scan = driver.find_element(By.CSS_SELECTOR, "iframe.scan")
        assert "/m/" in scan.get_attribute("src")

        Select(driver.find_element(By.ID, "waive-code")).select_by_value("USCC_INVALID")
        driver.find_element(By.ID, "waive-reason").send_keys("老证照代码，经核实合法")
        driver.find_element(By.ID, "waive").click()
        wait_for(driver, lambda d: d.find_elements(By.ID, "flash"))
        assert "需补正 → 受理" in driver.find_element(By.ID, "flash").text
        assert driver.find_element(By.ID, "verdict").text == "受理"
        (row,) = driver.find_elements(By.CSS_SELECTOR, "#decisions tr.decision")
        assert row.find_element(By.CSS_SELECTOR, "td.officer").text == LEAD
        assert "豁免 USCC_INVALID" in row.text and "网页" in row.text
        assert "老证照代码，经核实合法" in row.text

        driver.find_element(By.ID, "logout").click()
        wait_for(driver, lambda d: d.find_elements(By.ID, "login-form"))
        driver.get(base + f"/d/{tracking}")
        assert driver.current_url.startswith(base + "/login")
        assert driver.find_elements(By.ID, "login-form")
    (decision,) = _decisions(settings, tracking)
    assert (decision.action, decision.code, decision.officer, decision.via) == (
        "waive", "USCC_INVALID", LEAD, "web")  # fmt: skip


def test_limited_officer_cannot_open_another_category_by_url(desk):
    """GIVEN 李工, limited to 工厂类 WHEN they open the 安全类 dossier, one of its materials, or
    post an action on it by URL THEN each is a 404 and nothing is recorded; their list and the
    browser show only 工厂类."""
    _need_browser()
    from selenium.webdriver.common.by import By

    base, settings, trackings = desk
    other, own = trackings["安全类"], trackings["工厂类"]
    with chromium() as driver:
        log_in(driver, base, LIMITED, LIMITED_PW)
        rows = driver.find_elements(By.CSS_SELECTOR, "#dossiers tr[data-tracking]")
        assert [r.get_attribute("data-tracking") for r in rows] == [own]
        driver.get(base + f"/d/{other}")
        assert "未找到" in driver.find_element(By.TAG_NAME, "h1").text
    lead = Client(base)
    lead.login(LEAD, LEAD_PW)
    _, _, _, page = lead.get(f"/d/{other}")
    sha = re.search(rb"/m/([0-9a-f]{64})", page).group(1).decode()
    client = Client(base)
    client.login(LIMITED, LIMITED_PW)
    assert client.get(f"/d/{own}")[0] == 200
    before = len(_decisions(settings, other))
    assert client.get(f"/d/{other}")[0] == 404
    assert client.get(f"/d/{other}/m/{sha}")[0] == 404
    assert client.get(f"/d/{own}/m/{sha}")[0] == 404  # another dossier's file under one's own
    token = client.csrf("/")
    status, _, _ = client.post(f"/d/{other}/note", {"csrf": token, "text": "越权备注"})
    assert status == 404
    assert client.get("/summary.xlsx")[0] == 403
    assert len(_decisions(settings, other)) == before


def test_unauthenticated_requests_get_the_login_page(desk):
    """GIVEN no session WHEN any page, material or action is requested THEN the answer is the
    login page (nothing served, nothing changed); a wrong password is refused."""
    base, settings, trackings = desk
    tracking = trackings["工厂类"]
    client = Client(base)
    for path in ("/", f"/d/{tracking}", f"/d/{tracking}/m/{'0' * 64}", "/summary", "/summary.xlsx",
                 "/digest", "/digest/view"):  # fmt: skip
        status, url, _, body = client.get(path)
        assert (status, urllib.parse.urlparse(url).path) == (200, "/login"), path
        assert b'id="login-form"' in body
    status, url, _ = client.post(f"/d/{tracking}/note", {"text": "x"})
    assert urllib.parse.urlparse(url).path == "/login"
    status, _, body = client.post("/login", {"csrf": client.csrf(), "name": LEAD, "password": "wrong-password"})
    assert status == 401 and "用户名或密码不正确".encode() in body
    assert _decisions(settings, tracking) == []


def test_post_without_csrf_token_is_refused(desk):
    """GIVEN 张科长 logged in WHEN a note is posted without the CSRF token, or with a wrong one
    THEN 403 and no decision; with the session's token it is recorded."""
    base, settings, trackings = desk
    tracking = trackings["工厂类"]
    client = Client(base)
    client.login(LEAD, LEAD_PW)
    assert client.post(f"/d/{tracking}/note", {"text": "无令牌"})[0] == 403
    assert client.post(f"/d/{tracking}/note", {"text": "错令牌", "csrf": "x" * 43})[0] == 403
    assert client.post("/logout", {})[0] == 403
    assert _decisions(settings, tracking) == []
    status, url, body = client.post(f"/d/{tracking}/note", {"text": "已电话核实", "csrf": client.csrf("/")})
    assert status == 200 and urllib.parse.urlparse(url).path == f"/d/{tracking}"
    assert "已为" in body.decode() and "记录备注" in body.decode()
    assert [(d.action, d.officer, d.via) for d in _decisions(settings, tracking)] == [("note", LEAD, "web")]


def test_materials_by_sha256_with_range_and_chinese_names(desk):
    """GIVEN a logged-in officer WHEN the dossier's video and scan are fetched THEN the bytes are
    the archive's, the types are video/mp4 and application/pdf shown inline, the name is in RFC
    6266/8187 form (ASCII fallback + UTF-8 filename*), a Range request gets 206 with
    Content-Range; a hash that is not the dossier's, or a path, is a 404."""
    base, settings, trackings = desk
    tracking = trackings["工厂类"]
    client = Client(base)
    client.login(LEAD, LEAD_PW)
    _, _, _, page = client.get(f"/d/{tracking}")
    video_url = re.search(rb'<video[^>]+src="([^"]+)"', page).group(1).decode()
    scan_url = re.search(rb'<iframe class="scan" src="([^"]+)"', page).group(1).decode()
    sha = video_url.rsplit("/", 1)[1]
    archived = (settings.store.archive_dir / sha[:2] / sha[2:4] / sha).read_bytes()
    status, _, headers, body = client.get(video_url)
    assert status == 200 and body == archived
    assert headers["content-type"] == "video/mp4"
    assert headers["content-disposition"] == (
        "inline; filename=\"file.mp4\"; filename*=UTF-8''%E9%A1%B9%E7%9B%AE%E8%A7%86%E9%A2%91.mp4")
    status, _, headers, body = client.get(video_url, {"Range": "bytes=100-199"})
    assert status == 206 and body == archived[100:200]
    assert headers["content-range"] == f"bytes 100-199/{len(archived)}"
    status, _, headers, _ = client.get(scan_url)
    assert status == 200 and headers["content-type"] == "application/pdf"
    assert headers["content-disposition"].startswith("inline;")
    _, _, headers, _ = client.get(scan_url + "?download=1")
    assert headers["content-disposition"].startswith("attachment;")
    assert "%E5%85%A8%E5%A5%97%E6%89%AB%E6%8F%8F%E4%BB%B6.pdf" in headers["content-disposition"]
    assert client.get(f"/d/{tracking}/m/{'a' * 64}")[0] == 404
    assert client.get(f"/d/{tracking}/m/..%2F..%2Fintake.sqlite3")[0] == 404
    assert client.get(f"/d/{tracking}/m/{sha.upper()}x")[0] == 404


def test_summary_preview_download_and_digest(desk):
    """GIVEN the lead logged in WHEN the 汇总表 page, its download and the digest are opened
    THEN the preview lists the accepted dossier, the download is the .xlsx ``intake summary``
    writes (named 汇总表.xlsx), and the digest page shows the counts table and its chart."""
    from openpyxl import load_workbook

    base, settings, trackings = desk
    client = Client(base)
    client.login(LEAD, LEAD_PW)
    status, _, _, page = client.get("/summary")
    assert status == 200 and trackings["工厂类"].encode() in page
    status, _, headers, body = client.get("/summary.xlsx")
    assert status == 200 and headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''%E6%B1%87%E6%80%BB%E8%A1%A8.xlsx" in headers["content-disposition"]
    path = Path(settings.store.data_dir) / "downloaded.xlsx"
    path.write_bytes(body)
    assert load_workbook(path)["汇总表"]["A3"].value == "序号"
    status, _, _, view = client.get("/digest/view")
    assert status == 200 and "一、各类别数量".encode() in view and b"/digest/chart.png" in view
    status, _, headers, png = client.get("/digest/chart.png")
    assert status == 200 and png.startswith(b"\x89PNG")


def test_rank_from_the_summary_page_uses_the_cli_path(desk):
    """GIVEN the lead and a limited officer WHEN each posts an order on the 汇总表 page THEN the
    lead's is stored by the same code as ``intake rank`` with the source ``web:<officer>``, and
    the limited officer's is refused (the order is the whole unit's)."""
    import sqlite3

    base, settings, trackings = desk
    first = trackings["工厂类"]
    limited = Client(base)
    limited.login(LIMITED, LIMITED_PW)
    status, _, body = limited.post("/rank", {"csrf": limited.csrf("/summary"), "order": first})
    assert status == 200 and "仅牵头处室".encode() in body
    with sqlite3.connect(settings.store.db_path) as conn:
        has_table = conn.execute("SELECT 1 FROM sqlite_master WHERE name='ranking'").fetchone()
        assert not has_table or conn.execute("SELECT COUNT(*) FROM ranking").fetchone()[0] == 0
    lead = Client(base)
    lead.login(LEAD, LEAD_PW)
    status, _, body = lead.post("/rank", {"csrf": lead.csrf("/summary"), "order": first.lower()})
    assert status == 200 and f"已保存推荐顺序：{first}".encode() in body
    with sqlite3.connect(settings.store.db_path) as conn:
        rows = conn.execute("SELECT tracking, position, source FROM ranking ORDER BY position").fetchall()
    assert rows[0] == (first, 1, f"web:{LEAD}")


def test_passwd_print_gives_a_hash_for_the_config(tmp_path):
    """GIVEN a configured officer WHEN ``intake web passwd NAME --print --stdin`` THEN an argon2id
    hash that verifies the password is printed and nothing is stored; an unknown name or a short
    password is refused with exit 1."""
    from argon2 import PasswordHasher

    config = tmp_path / "c.toml"
    config.write_text(f'[store]\ndata_dir = "{tmp_path / "store"}"\n[office]\n'
                      'officers = [{ name = "王五", email = "w@example.org" }]\n', encoding="utf-8")
    run = CliRunner().invoke
    res = run(app, ["--config", str(config), "web", "passwd", "王五", "--print", "--stdin"],
              input="long-enough-1\n")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert PasswordHasher().verify(res.stdout.strip(), "long-enough-1")
    assert not (tmp_path / "store" / "web" / "passwords.json").exists()
    assert run(app, ["--config", str(config), "web", "passwd", "nobody", "--stdin"], input="long-enough-1\n").exit_code == 1
    assert run(app, ["--config", str(config), "web", "passwd", "王五", "--stdin"], input="short\n").exit_code == 1


def test_reverse_proxy_user_header_only_from_trusted_addresses(desk):
    """GIVEN ``[web] user_header = "X-Remote-User"`` WHEN a request from a trusted address names
    李工 THEN it is served as 李工 (工厂类 only); an unknown name gets the login page; WHEN the
    trusted addresses exclude loopback THEN the same header is ignored (login page)."""
    _, settings, trackings = desk
    trusted = settings.model_copy(update={"web": settings.web.model_copy(
        update={"user_header": "X-Remote-User"})})  # fmt: skip
    with serve_desk(trusted) as base:
        client = Client(base)
        status, url, _, body = client.get("/", {"X-Remote-User": "li@bureau.example.org"})
        assert (status, urllib.parse.urlparse(url).path) == (200, "/")
        assert trackings["工厂类"].encode() in body and trackings["安全类"].encode() not in body
        assert client.get(f"/d/{trackings['安全类']}", {"X-Remote-User": "li@bureau.example.org"})[0] == 404
        _, url, _, _ = client.get("/", {"X-Remote-User": "stranger"})
        assert urllib.parse.urlparse(url).path == "/login"
    elsewhere = settings.model_copy(update={"web": settings.web.model_copy(
        update={"user_header": "X-Remote-User", "user_header_from": ["10.0.0.0/8"]})})  # fmt: skip
    with serve_desk(elsewhere) as base:
        _, url, _, _ = Client(base).get("/", {"X-Remote-User": "zhang@bureau.example.org"})
        assert urllib.parse.urlparse(url).path == "/login"


def test_repeated_wrong_passwords_pause_that_login_name(desk):
    """GIVEN a login name WHEN 10 wrong passwords are sent for it THEN the 11th attempt is refused
    with 429 even with the right password, while other names still log in."""
    from bot.web.auth import MAX_FAILURES

    base, settings, _ = desk
    client = Client(base)
    for _ in range(MAX_FAILURES):
        status, _, _ = client.post("/login", {"csrf": client.csrf(), "name": "li@bureau.example.org",
                                              "password": "wrong-password"})  # fmt: skip
        assert status == 401
    status, _, body = client.post("/login", {"csrf": client.csrf(), "name": "li@bureau.example.org",
                                             "password": LIMITED_PW})  # fmt: skip
    assert status == 429 and "错误次数过多".encode() in body
    Client(base).login(LEAD, LEAD_PW)


def test_videos_browsers_cannot_play_get_a_note_not_a_player():
    """GIVEN materials from the stored facts: an H.264 mp4, an HEVC mp4 and a QuickTime .mov WHEN
    the dossier page lists them THEN only the H.264 mp4 gets a <video> player; the others get the
    note to download them (and names map to the right types)."""
    from bot.web.routes.dossiers import _materials

    def video(name, kind, codec):
        return {"name": name, "role": "video", "kind": kind, "size": 10, "sha256": "a" * 64,
                "video": {"codec": codec, "duration_s": 372.0}}  # fmt: skip

    shown = _materials("T", {"materials": [
        video("项目视频.mp4", "mp4", "h264"), video("项目视频.mp4", "mp4", "hevc"),
        video("项目视频.mov", "mov", "h264"),
        {"name": "全套扫描件.pdf", "role": "scanned_copy", "kind": "pdf", "size": 10, "sha256": "b" * 64},
    ]})  # fmt: skip
    assert [(m["is_video"], m["playable"]) for m in shown] == [
        (True, True), (True, False), (True, False), (False, False)]  # fmt: skip
    assert [m["media_type"] for m in shown] == ["video/mp4", "video/mp4", "video/quicktime", "application/pdf"]
    assert shown[3]["is_pdf"] and shown[3]["url"] == "/d/T/m/" + "b" * 64
