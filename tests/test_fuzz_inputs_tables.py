"""Fuzzing (Hypothesis) of read_table, parse_message, extract_archive and read_input on random folders:
any bytes in, facts out; no exception escapes and nothing is written outside the work folder."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tests.robustness.profiles  # noqa: F401  (loads the quick or the fuzz profile)
from parsers.archives import ArchiveLimits, extract_archive
from parsers.facts import DossierFacts, MailFacts, TableFacts
from parsers.inputs import read_input
from parsers.materials import ParseOptions
from parsers.mime import parse_message
from parsers.tables import read_table
from tests.factories import make_summary_xlsx
from tests.robustness import hostile as H

pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore:Duplicate name")]

CASES = Path(__file__).parent / "cases"


def _seed_tables() -> list[bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        xlsx = make_summary_xlsx(Path(tmp) / "t.xlsx", [("项目", "工厂类-5G全连接工厂", "单位", "张三", "13800000000")],
                                 unit="某区经信局").read_bytes()
    csv = "序号,项目名称,项目类别和方向,申报单位名称,联系人,联系方式（手机与邮箱）\n1,项目,类,单位,张三,13800000000\n"
    html = "<html><table><tr><td>序号</td><td>项目名称</td></tr><tr><td>1</td><td>项目</td></tr></table></html>"
    return [xlsx, csv.encode("utf-8"), csv.encode("gb18030"), html.encode()]


TABLES = _seed_tables()
MAILS = [p.read_bytes() for p in sorted(CASES.glob("C0*/input/*.eml"))] + [
    H.mail_hostile_names(), H.mail_bad_charsets(), *H.mail_bad_boundaries(), H.mail_deep_rfc822(12),
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed with bytes flipped, slices cut or repeated, or truncated."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 8))):
        if not data:
            break
        op = draw(st.sampled_from(["flip", "cut", "dup", "truncate", "insert"]))
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[i : i + draw(st.integers(1, 256))]
        elif op == "dup":
            data[i:i] = data[i : i + draw(st.integers(1, 256))]
        elif op == "insert":
            data[i:i] = draw(st.sampled_from([b"\x00", b"\r\n\r\n", b"--", b"=?gbk?B?", b"<!DOCTYPE x [", b"PK\x03\x04"]))
        else:
            del data[i:]
    return bytes(data)


def _xlsx_member_mutated(draw: st.DrawFn) -> bytes:
    """The seed xlsx with one of its XML parts mutated (the zip stays valid, the XML does not)."""
    src = zipfile.ZipFile(io.BytesIO(TABLES[0]))
    names = src.namelist()
    target = draw(st.sampled_from(names))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for n in names:
            data = src.read(n)
            zf.writestr(n, draw(mutated([data])) if n == target else data)
    return out.getvalue()


xlsx_parts = st.composite(lambda draw: _xlsx_member_mutated(draw))()


@given(st.one_of(mutated(TABLES), xlsx_parts, st.binary(max_size=2048)),
       st.sampled_from(["汇总表.xlsx", "汇总表.xls", "汇总表.csv"]))
def test_read_table_never_raises(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        facts = read_table(path)
        assert isinstance(facts, TableFacts)
        assert facts.readable or facts.problem
        assert sorted(p.name for p in Path(tmp).iterdir()) == [name]


@given(mutated(MAILS))
def test_parse_message_on_mutated_hostile_mails_never_raises(raw: bytes) -> None:
    facts = parse_message(raw)
    assert isinstance(facts, MailFacts)
    assert all(a.size == len(a.data) for a in facts.attachments)


@given(st.lists(st.tuples(st.sampled_from(H.TRAVERSAL_NAMES + ("a.txt", "材料/申报书.docx", "x/../y", "")),
                          st.binary(max_size=64)), max_size=8))
def test_extract_archive_with_random_member_names_stays_inside(members: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in members:
                info = zipfile.ZipInfo("p")
                info.filename = info.orig_filename = name or "_"
                zf.writestr(info, data)
        (root / "in.zip").write_bytes(buf.getvalue())
        dest = root / "work"
        result = extract_archive(root / "in.zip", dest, limits=ArchiveLimits(max_members=20))
        written = [p for p in root.rglob("*") if p.is_file() and p.name != "in.zip"]
        assert all(p.resolve().is_relative_to(dest.resolve()) for p in written)
        assert len(result.members) == len(written)


# A random dossier folder: names from the hostile set and the real ones, contents from the seeds.
_NAMES = st.sampled_from(["申报书.docx", "全套扫描件.pdf", "项目视频.mp4", "汇总表.xlsx", "材料.zip", "mail.eml",
                          "说明.txt", "a/b/c.docx", "深/层/目/录/x.pdf", ".hidden", "__MACOSX/._x", "Thumbs.db",
                          "申" * 60 + ".docx", "dup.pdf", "DUP.PDF"])
_CONTENTS = st.one_of(st.binary(max_size=512), mutated(TABLES), mutated(MAILS[:4]),
                      st.sampled_from([b"%PDF-1.4\n%%EOF", b"PK\x05\x06" + b"\0" * 18, b"MZ", b"#!/bin/sh\n"]))


@given(st.dictionaries(_NAMES, _CONTENTS, min_size=1, max_size=6))
def test_read_input_on_random_folders_gives_one_dossier_and_writes_only_in_work(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "dossier"
        for rel, data in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        before = {p for p in root.rglob("*")}
        work = root / "work"
        dossiers = read_input(folder, work, options=ParseOptions(probe_timeout_s=10))
        assert len(dossiers) == 1 and isinstance(dossiers[0], DossierFacts)
        new = {p for p in root.rglob("*")} - before
        assert all(p.is_relative_to(work) for p in new)
        assert all(m.name and m.sha256 for m in dossiers[0].materials)
