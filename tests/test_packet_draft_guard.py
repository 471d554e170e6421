"""``packet send`` does not mail a 推荐报告 that is still a draft (issue 17, item 9)."""

from __future__ import annotations

import json

from docx import Document

from outbox.documents.recommendation_report import unfilled
from tests.test_cli_packets import city, intake  # noqa: F401


def _complete(report) -> None:
    doc = Document(str(report))
    for p in doc.paragraphs:
        if "【请填写" in p.text or p.text.endswith("（草稿）"):
            p.text = p.text.replace("【请填写】", "").replace("（草稿）", "") or "经处务会审议。"
    doc.save(str(report))


def test_send_refuses_a_report_with_blanks_unless_draft_and_sends_it_once_completed(city, tmp_path):  # noqa: F811
    """GIVEN a built packet whose 推荐报告.docx still has 【请填写】 blanks and the （草稿） title
    WHEN ``intake packet send`` runs
    THEN it exits 1 naming the report and --draft, and sends nothing; after the officers complete
    the report it sends; ``--draft`` sends a draft on purpose."""
    config, settings, _, _ = city
    res = intake(config, "packet", "build", "--out", str(tmp_path / "packets"))
    assert res.exit_code == 0, res.output
    (report,) = (tmp_path / "packets").glob("*/推荐报告.docx")
    assert unfilled(report)
    outbox = settings.outbox.folder
    before = set(outbox.glob("*.eml")) if outbox.is_dir() else set()
    res = intake(config, "packet", "send", "--packet", str(report.parent))
    assert res.exit_code == 1
    assert "推荐报告.docx is still a draft" in res.stderr and "--draft" in res.stderr
    assert (set(outbox.glob("*.eml")) if outbox.is_dir() else set()) == before
    _complete(report)
    assert unfilled(report) == []
    res = intake(config, "packet", "send", "--packet", str(report.parent))
    assert res.exit_code == 0, res.output
    assert set(outbox.glob("*.eml")) - before


def test_draft_flag_sends_the_draft_on_purpose(city, tmp_path):  # noqa: F811
    config, _settings, _, _ = city
    assert intake(config, "packet", "build", "--out", str(tmp_path / "p")).exit_code == 0
    (report,) = (tmp_path / "p").glob("*/推荐报告.docx")
    res = intake(config, "packet", "send", "--packet", str(report.parent), "--draft")
    assert res.exit_code == 0, res.output


def test_building_again_with_nothing_changed_makes_no_new_packet(city, tmp_path):  # noqa: F811
    """Issue 17, item 17: a second ``packet build`` with the same content says so and returns the
    first packet; a changed order builds a new one; ``--new`` forces one."""
    config, _settings, _, _ = city
    out = tmp_path / "packets"
    assert intake(config, "packet", "build", "--out", str(out)).exit_code == 0
    (first,) = out.iterdir()
    order = [d["tracking"] for d in json.loads((first / "manifest.json").read_text("utf-8"))["dossiers"]]
    res = intake(config, "packet", "build", "--out", str(out))
    assert res.exit_code == 0 and "nothing changed since" in res.output
    assert len(list(out.iterdir())) == 1
    assert intake(config, "rank", *reversed(order)).exit_code == 0
    res = intake(config, "packet", "build", "--out", str(out))
    assert res.exit_code == 0 and "nothing changed" not in res.output
    assert len(list(out.iterdir())) == 2
    assert intake(config, "packet", "build", "--out", str(out), "--new").exit_code == 0
    assert len(list(out.iterdir())) == 3
