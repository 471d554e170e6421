"""Decoded names become safe file names on disk by one rule, in every place that writes them."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.store.database import Store
from parsers.safe_names import MAX_NAME_BYTES, safe_file_name


def test_safe_file_name_rules():
    assert safe_file_name("申报书.docx") == "申报书.docx"
    assert safe_file_name("../../x.docx") == "_.._x.docx"
    assert safe_file_name("C:\\x") == "C__x"
    assert safe_file_name(".hidden") == "hidden"
    assert safe_file_name("a\x00b?.pdf") == "a_b_.pdf"
    assert safe_file_name("...", "附件") == "附件"
    long = safe_file_name("项" * 1000 + ".mp4")
    assert long.endswith(".mp4") and len(long.encode("utf-8")) <= MAX_NAME_BYTES


def test_store_materialises_a_folder_with_a_very_long_chinese_name(tmp_path):
    """GIVEN a dossier folder whose name and file name are 300 CJK characters (900 bytes, beyond
    the 255-byte limit of a file name) WHEN it is taken and copied back for processing
    THEN the copy succeeds under safe names, with the bytes unchanged."""
    store = Store.open(tmp_path / "s.sqlite3", tmp_path / "archive")
    folder = tmp_path / ("申" * 80)
    folder.mkdir()
    (folder / ("报" * 80 + ".docx")).write_bytes(b"form")
    row = store.get_input(int(store.accept_path(folder, taken_at=datetime.now(UTC))))
    object.__setattr__(row, "name", "申" * 300)
    row.manifest[0][0] = "报" * 300 + ".docx"
    work = store.materialise(row, tmp_path / "work")
    (copied,) = list(work.iterdir())
    assert copied.read_bytes() == b"form" and copied.suffix == ".docx"
    assert len(work.name.encode()) <= MAX_NAME_BYTES
    store.close()
