"""Public cases C01, C03 and C06 read through parse_message (expected values from expected.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parsers.mime import parse_message

CASES = Path(__file__).parent / "cases"


def _expected(case: str) -> dict:
    return json.loads((CASES / case / "expected.json").read_text(encoding="utf-8"))


def test_c01_raw_gbk_filename_decodes_as_gb18030() -> None:
    """GIVEN a .docx whose name= and filename= are bare GBK bytes with no charset label
    WHEN the mail is parsed
    THEN the name is the Chinese original, with no U+FFFD or '?', and the bytes are unchanged."""
    exp = _expected("C01")
    facts = parse_message((CASES / "C01" / "input" / exp["message"]).read_bytes())
    assert facts.subject == exp["subject"]
    assert [(a.name, a.sha256) for a in facts.attachments] == [
        (a["filename"], a["sha256"]) for a in exp["attachments"]
    ]
    for ch in exp["forbidden_filename_chars"]:
        assert ch not in facts.attachments[0].name
    assert facts.from_name == "赵老师" and facts.from_addr == "kyc_zhao@example.com"
    assert "\ufffd" not in facts.body_text and "项目申报书" in facts.body_text
    assert facts.problems == []


def test_c03_rfc2231_continuation_split_inside_characters() -> None:
    """GIVEN filename*0*/1*/2* sections cut inside GBK characters, charset only in section 0, and
    an underscore placeholder in name=
    WHEN the mail is parsed
    THEN the joined, whole-decoded filename* wins."""
    exp = _expected("C03")
    facts = parse_message((CASES / "C03" / "input" / exp["message"]).read_bytes())
    assert [(a.name, a.sha256) for a in facts.attachments] == [
        (a["filename"], a["sha256"]) for a in exp["attachments"]
    ]
    assert facts.attachments[0].name != exp["must_not_be_named"]


@pytest.mark.parametrize("message", _expected("C06")["messages"])
def test_c06_forwarded_as_attachment_7bit_and_base64(message: str) -> None:
    """GIVEN a county office forwarding the applicant's mail as message/rfc822 (7bit or base64)
    WHEN the mail is parsed
    THEN both inner files are attachments exactly once, the .eml container is not, and the inner
    From (李明) is kept beside the outer sender who gets the reply."""
    exp = _expected("C06")["per_message"]
    facts = parse_message((CASES / "C06" / "input" / message).read_bytes())
    assert [(a.name, a.sha256, a.from_forwarded) for a in facts.attachments] == [
        (a["filename"], a["sha256"], True) for a in exp["attachments"]
    ]
    assert all(not a.name.endswith(".eml") for a in facts.attachments)
    assert facts.inner_from_name == exp["applicant_name"]
    assert facts.inner_from_addr == "liming.apply@example.com"
    assert facts.from_addr == exp["reply_to"]
    assert facts.problems == []
