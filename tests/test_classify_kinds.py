"""detect_kind / role_for / is_forbidden_kind on real files: bytes win over names."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from parsers.classify import detect_kind, is_forbidden_kind, role_for
from tests.factories import make_form_docx, make_scan_pdf, make_summary_xlsx
from tests.material_makers import make_docm, ole2_with_stream

CASES = Path(__file__).resolve().parent / "cases"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("kinds")
    docx = make_form_docx(d / "申报书.docx")
    out = {"docx": docx, "pdf": make_scan_pdf(d / "全套扫描件.pdf", pages=1)}
    out["docm"] = make_docm(docx, d / "申报书.docm")
    out["docm_named_docx"] = make_docm(docx, d / "伪装申报书.docx")
    out["xlsx"] = make_summary_xlsx(d / "汇总表.xlsx", [("项目", "工厂类", "单位", "王", "138")])
    out["xlsx_named_xls"] = d / "汇总表.xls"
    shutil.copyfile(out["xlsx"], out["xlsx_named_xls"])
    out["exe_named_pdf"] = d / "扫描件.pdf"
    out["exe_named_pdf"].write_bytes(b"MZ\x90\x00" + b"\0" * 60 + b"PE\0\0" + b"\0" * 200)
    out["elf"] = d / "run"
    out["elf"].write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 100)
    out["bat"] = d / "安装.bat"
    out["bat"].write_text("@echo off\r\ndel /q *.*\r\n", encoding="ascii")
    out["sh"] = d / "说明.txt"
    out["sh"].write_text("#!/bin/sh\nrm -rf ~\n", encoding="ascii")
    out["text_mp4"] = d / "项目视频.mp4"
    out["text_mp4"].write_text("这不是视频\n", encoding="utf-8")
    out["html_xls"] = d / "推荐汇总表.xls"
    out["html_xls"].write_text(
        "<html><body><table><tr><td>序号</td></tr></table></body></html>", encoding="utf-8"
    )
    out["csv"] = d / "汇总表.csv"
    out["csv"].write_bytes("序号,项目名称\n1,项目\n".encode("gb18030"))
    out["zip"] = d / "材料.zip"
    with zipfile.ZipFile(out["zip"], "w") as zf:
        zf.writestr("a.txt", "x")
    out["doc"] = ole2_with_stream(d / "申报书.doc", "WordDocument")
    out["wps"] = ole2_with_stream(d / "申报书.wps", "WordDocument")
    out["xls"] = ole2_with_stream(d / "旧版汇总表.xls", "Workbook")
    out["encrypted_docx"] = ole2_with_stream(d / "加密申报书.docx", "EncryptedPackage")
    out["png_named_doc"] = d / "图片.docx"
    out["png_named_doc"].write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 50)
    out["empty"] = d / "空.docx"
    out["empty"].write_bytes(b"")
    out["eml"] = d / "转发.eml"
    out["eml"].write_bytes(b"From: a@b.c\r\nTo: d@e.f\r\nSubject: x\r\n\r\nbody\r\n")
    return out


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("docx", "docx"), ("pdf", "pdf"), ("docm", "docm"), ("docm_named_docx", "docm"),
        ("xlsx", "xlsx"), ("xlsx_named_xls", "xlsx"), ("exe_named_pdf", "executable"),
        ("elf", "executable"), ("bat", "script"), ("sh", "script"), ("text_mp4", "text"),
        ("html_xls", "html"), ("csv", "csv"), ("zip", "zip"), ("doc", "doc"), ("wps", "wps"),
        ("xls", "xls"), ("encrypted_docx", "docx"), ("png_named_doc", "image"), ("empty", "unknown"),
        ("eml", "eml"),
    ],
)  # fmt: skip
def test_detect_kind_from_bytes(files: dict[str, Path], key: str, kind: str) -> None:
    assert detect_kind(files[key], files[key].name) == kind


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("C13/input/项目展示_浏览器录制.webm", "webm"),
        ("C13/input/直播回放.flv", "flv"),
        ("C15/input/a_完整_moov在末尾.mp4", "mp4"),
        ("C15/input/b_截断_moov在末尾.mp4", "mp4"),
        ("C11/input/项目申报汇总表.xlsx", "xlsx"),
        ("C10/input/申报材料_含异常路径.zip", "zip"),
    ],
)
def test_detect_kind_on_case_files(path: str, kind: str) -> None:
    p = CASES / path
    assert detect_kind(p, p.name) == kind


@pytest.mark.parametrize(
    ("kind", "name", "role"),
    [
        ("docx", "申报书.docx", "application_form"),
        ("docm", "申报书.docm", "application_form"),
        ("wps", "申报书.wps", "application_form"),
        ("pdf", "全套扫描件.pdf", "scanned_copy"),
        ("webm", "视频.webm", "video"),
        ("ts", "视频.ts", "video"),
        ("xlsx", "附件3.xlsx", "summary_table"),
        ("html", "推荐项目汇总表.xls", "summary_table"),
        ("csv", "汇总表.csv", "summary_table"),
        ("html", "说明.html", "other"),
        ("image", "营业执照.jpg", "other"),
        ("executable", "扫描件.pdf", "other"),
    ],
)
def test_role_for(kind: str, name: str, role: str) -> None:
    assert role_for(kind, name) == role


def test_forbidden_kinds() -> None:
    forbidden = {
        k
        for k in ("executable", "script", "docm", "xlsm", "docx", "pdf", "zip", "mp4", "text")
        if is_forbidden_kind(k)
    }
    assert forbidden == {"executable", "script", "docm", "xlsm"}
