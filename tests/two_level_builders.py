"""Builders for the digest, packet and two-level tests: enterprises' dossiers and instances."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.daemon import Intake
from tests.conftest import make_settings
from tests.factories import FormData, make_form_docx, make_scan_pdf, make_uscc

# Three enterprises of one city: different applicants, categories and contacts. The third claims
# a priority condition of the notice 二（二） (革命老区), so it ranks first by default.
ENTERPRISES = (
    FormData(project_name="智能工厂数字孪生建设项目", applicant="武汉甲示例制造有限公司",
             uscc=make_uscc("91420100MA4K10001"), category="工厂类", direction="数字孪生工厂",
             contact_name="张一", mobile="13900000001", email="zhang1@jia.example.com"),
    FormData(project_name="工业互联网平台应用推广项目", applicant="武汉乙示例软件股份有限公司",
             uscc=make_uscc("91420100MA4K10002"), category="平台类", direction="行业平台",
             contact_name="李二", mobile="13900000002", email="li2@yi.example.com"),
    FormData(project_name="老区园区工业互联网改造项目", applicant="红安丙示例园区管理有限公司",
             uscc=make_uscc("91420100MA4K10003"), category="园区类", direction="园区数字化",
             contact_name="王三", mobile="13900000003", email="wang3@bing.example.com",
             priority_text="本项目位于革命老区。"),
)


def enterprise_folder(root: Path, data: FormData, video: Path) -> Path:
    """A dossier folder: 申报书.docx, 全套扫描件.pdf and a copy of ``video``."""
    folder = root / data.applicant
    make_form_docx(folder / "申报书.docx", data)
    make_scan_pdf(folder / "全套扫描件.pdf", pages=2)
    shutil.copyfile(video, folder / "项目视频.mp4")
    return folder


def city_instance(root: Path, video: Path, enterprises=ENTERPRISES, **overrides) -> Intake:
    """A city instance under ``root`` that has taken and judged the enterprises' dossiers from its
    drop folder (replies as .eml files unless ``overrides`` say otherwise)."""
    base = {"office": {"level": "city", "unit": "武汉市经济和信息化局", "division_code": "420100",
                       "upstream": ["province@hubei.example.org"]},
            "outbox": {"from_addr": "intake@wuhan.example.org", "domain": "wuhan.example.org"},
            "packet": {"out_dir": root / "packets"}}
    for key, value in overrides.items():
        base.setdefault(key, {}).update(value)
    settings = make_settings(root, **base)
    for data in enterprises:
        enterprise_folder(settings.drop.folders[0], data, video)
    intake = Intake(settings)
    intake.run_once()
    return intake


def city_public_key(intake: Intake) -> str:
    """The instance's packet signing key, created as ``intake keys init`` does; returns the public
    key line (``ed25519:…``) the level above lists in ``[[packet.senders]]``."""
    from bot.upstream.signing import init_key, key_path, load_key, public_key_text

    path = key_path(intake.settings)
    key = load_key(path) if path.exists() else init_key(path)
    return public_key_text(key.public_key())
