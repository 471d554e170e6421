"""read_form on real .docx forms: table and paragraph layouts, spaced labels, merged and header-style
tables, priority claims, and the facts for unreadable or legacy forms."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from docx import Document

from parsers.forms import priority_claims, read_form
from tests.factories import FormData, make_form_docx, make_uscc
from tests.material_makers import make_docm, ole2_with_stream

EXPECTED = {
    "project_name": "基于工业互联网平台的智能工厂建设项目",
    "applicant": "武汉示例智能制造有限公司",
    "uscc": make_uscc("91420100MA4K00001"),
    "category": "工厂类",
    "direction": "5G全连接工厂",
    "contact_name": "王小明",
    "mobile": "13800138000",
    "email": "wangxm@example.com",
}


@pytest.mark.parametrize("layout", ["table", "paragraphs"])
def test_factory_form_fields(tmp_path: Path, layout: str) -> None:
    facts = read_form(make_form_docx(tmp_path / "申报书.docx", layout=layout))
    assert (facts.readable, facts.problem) == (True, None)
    assert facts.fields == EXPECTED
    assert facts.positions["uscc"] == ("表1 R3C2" if layout == "table" else "段落4")
    assert "二、项目概况" in facts.text


def test_spaced_labels_colons_seal_suffix_and_merged_cells(tmp_path: Path) -> None:
    """GIVEN a form whose labels are spaced (项 目 名 称), suffixed (申报单位（盖章）), merged across
    two grid columns, with several 标签：值 pairs on one line WHEN read THEN every field is found
    and no label is taken as its own value."""
    doc = Document()
    table = doc.add_table(rows=4, cols=3)
    label = table.cell(0, 0).merge(table.cell(0, 1))
    label.text = "项 目 名 称"
    table.cell(0, 2).text = "　智慧园区平台　"
    table.cell(1, 0).merge(table.cell(1, 1)).text = "申报单位（盖章）"
    table.cell(1, 2).text = "湖北某科技有限公司"
    table.cell(2, 0).merge(table.cell(3, 0)).text = "联系方式"
    table.cell(2, 1).text = "E-mail:"
    table.cell(2, 2).text = "li@example.cn"
    table.cell(3, 1).text = "电 话"
    table.cell(3, 2).text = "027-88886666"
    doc.add_paragraph("联系人：李雷  手机号码:13900001111")
    doc.add_paragraph("统一社会信用代码 ：91420100MA4K00001U")
    path = tmp_path / "申报书.docx"
    doc.save(str(path))
    facts = read_form(path)
    assert facts.fields == {
        "project_name": "智慧园区平台",
        "applicant": "湖北某科技有限公司",
        "email": "li@example.cn",
        "phone": "027-88886666",
        "contact_name": "李雷",
        "mobile": "13900001111",
        "uscc": "91420100MA4K00001U",
    }
    assert facts.positions["project_name"] == "表1 R1C3"


def test_header_style_table_takes_values_below(tmp_path: Path) -> None:
    doc = Document()
    table = doc.add_table(rows=2, cols=3)
    for c, (lab, val) in enumerate(
        [("项目类别和方向", "工厂类/5G全连接工厂"), ("联系人", "赵六"), ("邮箱", "z@x.cn")]
    ):
        table.cell(0, c).text = lab
        table.cell(1, c).text = val
    path = tmp_path / "申报书.docx"
    doc.save(str(path))
    facts = read_form(path)
    assert facts.fields == {
        "category_direction": "工厂类/5G全连接工厂",
        "contact_name": "赵六",
        "email": "z@x.cn",
    }
    assert facts.positions["contact_name"] == "表1 R2C2"


def test_blank_value_cell_is_not_filled_from_elsewhere(tmp_path: Path) -> None:
    doc = Document()
    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "项目名称"
    table.cell(1, 0).text = "统一社会信用代码"
    table.cell(1, 1).text = "91420100MA4K00001U"
    path = tmp_path / "申报书.docx"
    doc.save(str(path))
    assert read_form(path).fields == {"uscc": "91420100MA4K00001U"}


def test_priority_claims_in_form_text(tmp_path: Path) -> None:
    data = FormData(
        priority_text="项目位于国家新型工业化产业示范基地，已完成工业互联网创新发展工程验收，在安全生产方面成效显著。"
    )
    facts = read_form(make_form_docx(tmp_path / "申报书.docx", data))
    assert facts.priority == ["demo_base", "innovation_accepted", "notable_results"]


@pytest.mark.parametrize(
    ("text", "claims"),
    [
        ("☑革命老区 □国家新型工业化产业示范基地", ["old_revolutionary_area"]),
        ("本项目不属于革命老区。", []),
        ("工业互联网创新发展工程项目已通过验收", ["innovation_accepted"]),
        ("在绿色低碳、国际合作方面成效明显", ["notable_results"]),
    ],
)
def test_priority_claim_wording(text: str, claims: list[str]) -> None:
    assert priority_claims(text) == claims


def test_docm_is_still_read(tmp_path: Path) -> None:
    path = make_docm(make_form_docx(tmp_path / "a.docx"), tmp_path / "申报书.docm")
    facts = read_form(path, kind="docm")
    assert (facts.readable, facts.fields["project_name"]) == (True, EXPECTED["project_name"])


@pytest.mark.parametrize("kind", ["doc", "wps"])
def test_legacy_form_without_libreoffice_asks_for_docx(tmp_path: Path, kind: str, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without LibreOffice
    path = ole2_with_stream(tmp_path / f"申报书.{kind}", "WordDocument")
    facts = read_form(path, kind=kind)
    assert (facts.readable, facts.problem) == (False, "unsupported")
    assert ".docx" in facts.detail


@pytest.mark.skipif(
    not (shutil.which("soffice") or shutil.which("libreoffice")) and os.environ.get("CI") != "true",
    reason="needs LibreOffice (installed by tools/install-system-deps.sh; required in CI)",
)
def test_legacy_doc_is_converted(tmp_path: Path) -> None:
    import subprocess

    from parsers.office_convert import convert_to_docx, find_soffice

    src = make_form_docx(tmp_path / "src.docx")
    subprocess.run(
        [find_soffice(), "--headless", "--convert-to", "doc", "--outdir", str(tmp_path), str(src)],
        check=True,
        timeout=120,
        capture_output=True,
    )
    assert convert_to_docx  # the module is importable with LibreOffice present
    facts = read_form(tmp_path / "src.doc", kind="doc", convert_timeout_s=120)
    assert (facts.readable, facts.converted_from, facts.fields["uscc"]) == (
        True,
        ".doc",
        EXPECTED["uscc"],
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "empty"), (b"PK\x03\x04broken", "corrupt"), (b"not a document at all", "corrupt")],
)
def test_unreadable_forms_are_facts(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "申报书.docx"
    path.write_bytes(content)
    facts = read_form(path)
    assert (facts.readable, facts.problem) == (False, problem)


def test_password_protected_docx_is_encrypted(tmp_path: Path) -> None:
    path = ole2_with_stream(tmp_path / "申报书.docx", "EncryptedPackage")
    facts = read_form(path, kind="docx")
    assert (facts.readable, facts.problem) == (False, "encrypted")


def _repack(src: Path, out: Path, rename: dict[str, str], replace: dict[str, tuple[bytes, bytes]]) -> Path:
    """``src`` with members renamed and bytes replaced in named members (a hand-edited package)."""
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename in replace:
                data = data.replace(*replace[info.filename])
            zout.writestr(rename.get(info.filename, info.filename), data)
    return out


def test_main_part_is_found_by_its_relationship(tmp_path: Path) -> None:
    """GIVEN a form whose main part is not word/document.xml (WPS and converters name it
    otherwise) WHEN read THEN it is found through _rels/.rels and its fields are read."""
    src = make_form_docx(tmp_path / "src.docx")
    path = _repack(
        src, tmp_path / "申报书.docx",
        rename={"word/document.xml": "word/document2.xml", "word/_rels/document.xml.rels": "word/_rels/document2.xml.rels"},
        replace={"_rels/.rels": (b"word/document.xml", b"/word/document2.xml"),
                 "[Content_Types].xml": (b"/word/document.xml", b"/word/document2.xml")},
    )  # fmt: skip
    facts = read_form(path)
    assert (facts.readable, facts.problem, facts.fields) == (True, None, EXPECTED)


@pytest.mark.parametrize(
    ("content_type", "readable"),
    [
        (b"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml", True),
        (b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", False),
    ],
    ids=["dotx", "a-workbook-named-docx"],
)
def test_main_part_content_type_decides(tmp_path: Path, content_type: bytes, readable: bool) -> None:
    """GIVEN a package whose main part declares a template (.dotx) or a workbook WHEN read as a
    form THEN the template is read; the workbook is ``corrupt``, as python-docx says."""
    src = make_form_docx(tmp_path / "src.docx")
    main = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    path = _repack(src, tmp_path / "申报书.docx", rename={},
                   replace={"[Content_Types].xml": (main, content_type)})
    facts = read_form(path)
    assert (facts.readable, facts.problem) == ((True, None) if readable else (False, "corrupt"))
    assert bool(facts.fields) is readable


def test_package_without_main_relationship_is_corrupt(tmp_path: Path) -> None:
    src = make_form_docx(tmp_path / "src.docx")
    path = _repack(src, tmp_path / "申报书.docx", rename={},
                   replace={"_rels/.rels": (b"relationships/officeDocument", b"relationships/nothing")})
    facts = read_form(path)
    assert (facts.readable, facts.problem) == (False, "corrupt")
