"""Formal review as an officer does it (issue 19): seals on the scanned copy, OFD scans, and videos
sent as cloud-drive links (provider, 提取码, expiry; receipts that do not claim the video was
checked; the digest; ``intake links`` / ``intake fetched``; a 补正通知 once a link expires)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.daemon import Intake
from bot.digest.build import gather
from bot.store.facts_codec import dumps_facts, loads_facts
from parsers.ofd import read_ofd
from parsers.scans import read_scan
from tests.conftest import make_settings
from tests.factories import (
    FormData,
    make_form_docx,
    make_scan_ofd,
    make_scan_pdf,
    make_signed_pdf,
    make_submission_eml,
    make_video,
)

runner = CliRunner()

MAIL_163 = """您好，项目视频较大，通过网易邮箱超大附件发送。

从网易163邮箱发来的超大附件
项目视频.mp4 (1.21G, 2023年12月15日 10:20 到期)
下载：https://mail.163.com/large-attachment-download/index.html?p=X66bU8HnZWNwRSyU&file=Zm9v
"""
MAIL_QQ = """您好，视频见QQ邮箱文件中转站。

从QQ邮箱发来的超大附件
项目视频.mp4 (986.3M, 15天后过期)
进入下载页面：https://wx.mail.qq.com/ftn/download?func=3&k=6a1b2c3d4e5f&key=0123456789abcdef
"""
MAIL_BAIDU = """您好，视频已上传百度网盘。
通过百度网盘分享的文件：项目视频.mp4
链接：https://pan.baidu.com/s/1AbCdEfGhIjKlMnOp?pwd=x7k9
提取码：x7k9
--来自百度网盘超级会员V3的分享
"""


@pytest.fixture(scope="module")
def parts(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("formal")
    return {
        "form": make_form_docx(d / "申报书.docx", FormData(email="clerk@example.com")),
        "video": make_video(d / "项目视频.mp4", 372),
        "sealed": make_scan_pdf(d / "sealed" / "全套扫描件.pdf", 3),
        "unsealed": make_scan_pdf(d / "unsealed" / "全套扫描件.pdf", 3, seal_pages=()),
    }


def _check(*paths: Path) -> dict:
    res = runner.invoke(app, ["check", "--json", *map(str, paths)])
    assert res.exit_code in (0, 1), res.output
    return json.loads(res.stdout)


def _folder(root: Path, parts: dict[str, Path], scan: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for p in (parts["form"], parts["video"], scan):
        shutil.copy(p, root / p.name)
    return root


def _scan_json(d: dict) -> dict:
    (scan,) = [m for m in d["materials"] if m["role"] == "scanned_copy"]
    return scan


def test_a_seal_on_the_cover_is_found_and_a_scan_without_one_is_a_warning(tmp_path, parts) -> None:
    """GIVEN one scan with a red round seal on page 1 and one without
    WHEN checked THEN the first lists {page 1, image} and is accepted without remark; the second
    lists no seal and gets SCAN_SEAL_MISSING, a warning that does not block acceptance."""
    (sealed,) = _check(_folder(tmp_path / "a", parts, parts["sealed"]))["dossiers"]
    (unsealed,) = _check(_folder(tmp_path / "b", parts, parts["unsealed"]))["dossiers"]
    assert _scan_json(sealed)["pages"] == 3
    assert _scan_json(sealed)["seals"] == [{"page": 1, "kind": "image"}]
    assert "SCAN_SEAL_MISSING" not in [f["code"] for f in sealed["findings"]]
    assert _scan_json(unsealed)["seals"] == []
    (f,) = [f for f in unsealed["findings"] if f["code"] == "SCAN_SEAL_MISSING"]
    assert f["severity"] == "warning" and unsealed["verdict"] == "accepted"
    assert "全套扫描件中未发现单位公章，请确认已盖章后重新扫描" in f["fix"]


def test_a_pdf_signature_field_is_an_electronic_seal_present_not_verified(tmp_path) -> None:
    facts = read_scan(make_signed_pdf(tmp_path / "signed.pdf", pages=2, signed_page=2))
    assert facts.readable and facts.pages == 2
    assert [(s.page, s.kind) for s in facts.seals] == [(2, "electronic")]
    assert facts.seal_pages_checked == 0  # signed: one seal is all the notice asks, nothing rendered


def test_the_seal_search_stops_at_the_first_sealed_page(tmp_path) -> None:
    """GIVEN a 6-page scan sealed on pages 2 and 5 WHEN read THEN page 2 is the seal found and
    pages 3 to 6 are not rendered (one seal is what SCAN_SEAL_MISSING asks for)."""
    facts = read_scan(make_scan_pdf(tmp_path / "全套扫描件.pdf", 6, seal_pages=(2, 5)))
    assert (facts.pages, [(s.page, s.kind) for s in facts.seals], facts.seal_pages_checked) == (
        6, [(2, "image")], 2)


def test_ofd_scans_with_and_without_signs_and_a_damaged_one(tmp_path, parts) -> None:
    """GIVEN OFD packages (GB/T 33190-2016) WHEN read THEN pages are counted, a Signs/ seal is
    electronic on its StampAnnot's page, a red seal on a page image is found, none is found in an
    unsealed one, and a damaged package is unreadable (never unpacked as an archive)."""
    signed = read_ofd(make_scan_ofd(tmp_path / "signed.ofd", 3, seal_pages=(), signed_pages=(3,)))
    stamped = read_ofd(make_scan_ofd(tmp_path / "stamped.ofd", 2, seal_pages=(1,)))
    plain = read_ofd(make_scan_ofd(tmp_path / "plain.ofd", 2, seal_pages=()))
    assert (signed.pages, [(s.page, s.kind) for s in signed.seals]) == (3, [(3, "electronic")])
    assert (stamped.pages, [(s.page, s.kind) for s in stamped.seals]) == (2, [(1, "image")])
    assert (plain.readable, plain.pages, plain.seals) == (True, 2, [])
    broken = tmp_path / "broken.ofd"
    data = (tmp_path / "plain.ofd").read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    assert read_ofd(broken).readable is False and read_ofd(broken).problem == "corrupt"
    # As a dossier: the OFD is the scanned copy (not an archive to unpack)
    ofd = make_scan_ofd(tmp_path / "ofd-case" / "全套扫描件.ofd", 2, seal_pages=(), signed_pages=(1,))
    (d,) = _check(_folder(tmp_path / "c", parts, ofd))["dossiers"]
    assert _scan_json(d) | {"sha256": "-", "size": 0} == {
        "name": "全套扫描件.ofd", "role": "scanned_copy", "sha256": "-", "size": 0,
        "pages": 2, "seals": [{"page": 1, "kind": "electronic"}]}
    assert {f["code"] for f in d["findings"]} & {"SCAN_MISSING", "SCAN_SEAL_MISSING"} == set()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (MAIL_163, {"provider": "163", "code": None, "expires_at": "2023-12-15"}),
        (MAIL_QQ, {"provider": "qq", "code": None, "expires_at": "2023-12-13"}),
        (MAIL_BAIDU, {"provider": "baidu", "code": "x7k9", "expires_at": None}),
    ],
    ids=["163", "qq", "baidu"],
)
def test_cloud_drive_mails_as_providers_write_them(tmp_path, parts, body, expected) -> None:
    """GIVEN a mail with the form and the scan, and the video as a link in the provider's words
    WHEN checked THEN ``links`` names the provider, the 提取码 and the expiry (15 days after the
    mail's date for QQ's "15天后过期"), and the video is VIDEO_LINK_ONLY, not missing."""
    eml = tmp_path / "mail.eml"
    eml.write_bytes(make_submission_eml(
        [parts["form"], parts["sealed"]], body=body,
        date=datetime.fromisoformat("2023-11-28T09:30:00+08:00")))
    (d,) = _check(eml)["dossiers"]
    (link,) = d["links"]
    assert {k: link[k] for k in expected} == expected
    assert link["url"].startswith("https://")
    codes = {f["code"] for f in d["findings"]}
    assert "VIDEO_LINK_ONLY" in codes and "VIDEO_MISSING" not in codes


def _run(settings) -> None:
    intake = Intake(settings)
    try:
        intake.run_once()
    finally:
        intake.close()


def _replies(settings) -> list:
    folder = settings.outbox.folder
    return [message_from_bytes(p.read_bytes(), policy=email_policy.default)
            for p in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)]


def test_link_receipt_digest_fetch_and_expiry(tmp_path, parts) -> None:
    """GIVEN a mail whose video is a Baidu link valid until 2023-12-01 (judged 2023-11-29)
    THEN the 回执 lists the link with its 提取码 and expiry and says the video is not yet checked
    (never 材料齐全), and the digest lists the link as due;
    WHEN the link expires unfetched (clock 2023-12-02) THEN the applicant gets one 补正通知
    (VIDEO_LINK_EXPIRED) and no second one on the next run;
    WHEN an officer files the downloaded video with ``intake fetched`` THEN it becomes version 2,
    is probed, and the applicant gets a 回执; ``intake links`` shows it fetched."""
    body = MAIL_BAIDU.replace("--来自百度网盘超级会员V3的分享", "有效期至2023年12月1日")
    settings = make_settings(tmp_path)
    drop = settings.drop.folders[0]
    drop.mkdir(parents=True, exist_ok=True)
    (drop / "mail.eml").write_bytes(make_submission_eml(
        [parts["form"], parts["sealed"]], sender="clerk@example.com", body=body,
        date=datetime.fromisoformat("2023-11-28T09:30:00+08:00")))
    _run(settings)
    (receipt,) = _replies(settings)
    text = receipt.get_body(("plain",)).get_content()
    assert "【回执】" in str(receipt["Subject"])
    assert "材料齐全" not in text and "尚未核验" in text
    assert "https://pan.baidu.com/s/1AbCdEfGhIjKlMnOp?pwd=x7k9" in text
    assert "提取码 x7k9" in text and "有效期至 2023年12月1日" in text

    intake = Intake(settings)
    try:
        data = gather(settings, intake.store, intake.campaign)
        (tracking,) = [d.tracking for d in intake.store.dossiers()]
    finally:
        intake.close()
    (line,) = data.links
    assert tracking in line and "12月1日过期" in line and "x7k9" in line

    later = make_settings(tmp_path, campaign={"now": datetime.fromisoformat("2023-12-02T09:00:00+08:00")})
    _run(later)
    _run(later)
    replies = _replies(later)
    assert len(replies) == 2
    notice = replies[1]
    assert "【补正通知】" in str(notice["Subject"])
    assert "链接已于 2023年12月1日 过期" in notice.get_body(("plain",)).get_content()

    res = runner.invoke(app, ["--config", str(_toml(tmp_path, later)), "fetched", tracking, str(parts["video"]),
                              "--officer", "王科长"])
    assert res.exit_code == 0, res.output
    _run(later)
    replies = _replies(later)
    assert len(replies) == 3 and "【回执】" in str(replies[2]["Subject"])
    res = runner.invoke(app, ["--config", str(_toml(tmp_path, later)), "links", "--json"])
    (row,) = json.loads(res.stdout)["links"]
    assert (row["tracking"], row["state"], row["fetched_by"]) == (tracking, "fetched", "王科长")


def _toml(root: Path, settings) -> Path:
    """A config file for the CLI with the same store, outbox and clock as ``settings``."""
    path = root / "config.toml"
    path.write_text(
        f'[store]\ndata_dir = "{settings.store.data_dir}"\n'
        f'[drop]\nfolders = ["{settings.drop.folders[0]}"]\nprocessed_dir = "{settings.drop.processed_dir}"\n'
        f'[outbox]\ntransport = "file"\nfolder = "{settings.outbox.folder}"\n'
        f'[campaign]\nnow = "{settings.campaign.now.isoformat()}"\n', encoding="utf-8")
    return path


def test_cloud_links_survive_the_facts_codec() -> None:
    from datetime import date

    from parsers.facts import CloudLink
    from tests.rules_builders import dossier

    d = dossier()
    d.cloud_links = [CloudLink("qq", "https://wx.mail.qq.com/ftn/download?k=1", None, date(2023, 12, 13))]
    assert loads_facts(dumps_facts(d)).cloud_links == d.cloud_links


def _boxes_by_flood_fill(cells) -> list[tuple[int, int, int, int]]:  # noqa: ANN001 - the oracle
    """Bounding boxes of the 4-connected components, cell by cell, in row-major order of first cell."""
    h, w = cells.shape
    seen = set()
    boxes = []
    for y in range(h):
        for x in range(w):
            if not cells[y, x] or (y, x) in seen:
                continue
            stack, ys, xs = [(y, x)], [], []
            seen.add((y, x))
            while stack:
                cy, cx = stack.pop()
                ys.append(cy)
                xs.append(cx)
                for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                    if 0 <= ny < h and 0 <= nx < w and cells[ny, nx] and (ny, nx) not in seen:
                        seen.add((ny, nx))
                        stack.append((ny, nx))
            boxes.append((min(ys), max(ys), min(xs), max(xs)))
    return boxes


def test_seal_components_are_those_a_cell_by_cell_flood_fill_finds() -> None:
    """GIVEN random grids of every density (and stripes, a checkerboard, rings)
    WHEN their red components are found run by run (issue 16: per run, not per cell)
    THEN the bounding boxes and their order are those of a plain flood fill, cell by cell."""
    import numpy as np

    from parsers.seals import _component_boxes

    rng = np.random.default_rng(16)
    grids = [rng.random((int(rng.integers(2, 40)), int(rng.integers(2, 40)))) < rng.uniform(0.02, 0.8)
             for _ in range(300)]
    stripes = np.zeros((30, 31), bool)
    stripes[:, ::2] = True
    yy, xx = np.indices((40, 40))
    ring = ((yy - 20) ** 2 + (xx - 20) ** 2 < 15**2) & ((yy - 20) ** 2 + (xx - 20) ** 2 > 10**2)
    grids += [stripes, stripes.T.copy(), (yy + xx) % 2 == 0, ring, np.ones((5, 7), bool), np.zeros((5, 7), bool)]
    for grid in grids:
        assert _component_boxes(grid) == _boxes_by_flood_fill(grid)
