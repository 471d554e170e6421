"""Hostile Office files: entity tricks, bombs, macros and type lies end as findings, bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.robustness import hostile as H
from tests.robustness.harness import judge
from tests.robustness.isolated import baseline_mib, read_isolated

SECRET = "TOPSECRET-XXE-7f3a"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


def test_billion_laughs_in_a_docx_is_not_expanded(tmp_path: Path) -> None:
    """GIVEN a 申报书.docx whose document.xml defines 10^9 'lol's
    THEN lxml refuses it (python-docx parses with resolve_entities=False): FILE_UNREADABLE."""
    got = judge(H.docx_billion_laughs(tmp_path / "in"), tmp_path)
    (m,) = got.dossier.materials
    assert (m.role, m.problem) == ("application_form", "corrupt")
    assert got.where("FILE_UNREADABLE") == [m.name]


def test_external_entity_in_a_docx_reads_no_local_file(tmp_path: Path, secret_file: Path) -> None:
    got = judge(H.docx_external_entity(tmp_path / "in", secret_file), tmp_path)
    (m,) = got.dossier.materials
    assert m.form is not None and m.form.readable
    assert SECRET not in m.form.text and SECRET not in repr(got.dossier)
    assert m.form.fields["project_name"]  # the rest of the form is still read


def test_billion_laughs_in_an_xlsx_is_refused(tmp_path: Path) -> None:
    got = judge(H.xlsx_billion_laughs(tmp_path / "in"), tmp_path)
    (m,) = got.dossier.materials
    assert (m.role, m.problem) == ("summary_table", "corrupt")
    assert "invalid XML" in (m.detail or "")  # openpyxl wraps defusedxml's EntitiesForbidden
    assert got.where("FILE_UNREADABLE") == [m.name]


def test_external_entity_in_an_xlsx_is_refused(tmp_path: Path, secret_file: Path) -> None:
    got = judge(H.xlsx_external_entity(tmp_path / "in", secret_file), tmp_path)
    (m,) = got.dossier.materials
    assert m.problem == "corrupt" and SECRET not in repr(got.dossier)


def test_decompression_bomb_inside_a_docx_is_refused_by_its_declared_size(tmp_path: Path) -> None:
    """GIVEN a form whose document.xml declares 300 MiB (300 KB packed)
    WHEN read in a fresh process
    THEN it is unreadable and the reader never held it in memory."""
    out = read_isolated(H.docx_bomb(tmp_path / "in"), tmp_path / "work")
    assert [m[2:] for m in out["materials"]] == [["application_form", "corrupt"]]
    assert out["peak_mib"] < baseline_mib() + 100


def test_cell_bomb_and_far_cell_in_an_xlsx_are_too_large(tmp_path: Path) -> None:
    """GIVEN a sheet of 3.2 million cells (under 1 MB packed) and a table with one cell at XFD1048576
    THEN both are too_large before openpyxl builds a grid (this used to take 2 GB, and to hang)."""
    cells = read_isolated(H.xlsx_cell_bomb(tmp_path / "a"), tmp_path / "wa")
    far = read_isolated(H.xlsx_far_cell(tmp_path / "b"), tmp_path / "wb")
    assert [m[3] for m in cells["materials"]] == ["too_large"]
    assert [m[3] for m in far["materials"]] == ["too_large"]
    assert cells["peak_mib"] < baseline_mib() + 150


def test_macro_enabled_form_and_table_are_forbidden(tmp_path: Path) -> None:
    docm = judge(H.docm_with_macro(tmp_path / "in"), tmp_path)
    xlsm = judge(H.xlsm_with_macro(tmp_path / "in2"), tmp_path)
    assert docm.where("FILE_FORBIDDEN") == ["申报书.docm"]
    assert xlsm.where("FILE_FORBIDDEN") == ["汇总表.xlsm"]


def test_files_that_claim_one_type_and_are_another(tmp_path: Path) -> None:
    """GIVEN a PDF named .docx, an executable named .pdf, a zip named .mp4, HTML named .xlsx, a script
    THEN the bytes decide: the executable and the script are forbidden, the fake form is unreadable,
    the zip is opened as an archive, the HTML is read as a table."""
    folder = tmp_path / "in" / "dossier"
    H.type_liars(folder)
    got = judge(folder, tmp_path)
    kinds = {m.name: (m.kind, m.problem) for m in got.dossier.materials}
    assert kinds["全套扫描件.pdf"] == ("executable", "forbidden")
    assert kinds["说明.txt"] == ("script", "forbidden")
    assert kinds["汇总表.xlsx"][0] == "html"
    assert kinds["申报书.docx"][0] == "pdf"
    assert "项目视频.mp4" not in kinds and "a.txt" in kinds  # the zip was opened
    assert sorted(got.where("FILE_FORBIDDEN")) == ["全套扫描件.pdf", "说明.txt"]
