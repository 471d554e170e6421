"""USCC (GB 32100-2015), contact and name validators used by the rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.campaign import load_campaign
from rules.contacts import find_email, find_mobile, has_mobile, has_phone, is_email, is_landline
from rules.dossier_view import split_category_direction
from rules.names import normalise_name
from rules.uscc import ALPHABET, check_char, is_valid_uscc, uscc_problem
from tests.factories import break_uscc, make_uscc


@pytest.mark.parametrize(
    "body", ["91420100MA4K00001", "A1110000MB0123456", "N2320200MJ0000001", "Y1420100MA4K00003"]
)
def test_valid_uscc_including_a_n_y_starts(body: str) -> None:
    assert is_valid_uscc(make_uscc(body))


def test_known_public_uscc_and_blanks_fullwidth_folded() -> None:
    code = make_uscc("91110000100000000")
    assert is_valid_uscc(code)
    spaced = " ".join(code[i : i + 6] for i in range(0, 18, 6)).lower()
    assert is_valid_uscc(spaced)
    assert is_valid_uscc("".join(chr(ord(c) + 0xFEE0) for c in code))


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91420100MA4K0000", "应为 18 位，实为 16 位"),
        ("91420100MA4K0000I" + "1", "含有不允许的字符「I」（不使用 I、O、S、V、Z）"),
    ],
)
def test_uscc_problem_says_why(code: str, why: str) -> None:
    assert uscc_problem(code) == why


def test_uscc_wrong_check_names_expected() -> None:
    good = make_uscc("91420100MA4K00001")
    assert uscc_problem(break_uscc(good)) == f"校验位应为 {good[-1]}，实为 {break_uscc(good)[-1]}"


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17))
def test_check_char_roundtrip(body: str) -> None:
    code = body + check_char(body)
    assert is_valid_uscc(code)
    assert not is_valid_uscc(break_uscc(code))


@pytest.mark.parametrize(
    "text",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 13800138000",
        "0086-13800138000",
        "１３８００１３８０００",
    ],
)
def test_mobile_accepted(text: str) -> None:
    assert has_mobile(text)


@pytest.mark.parametrize("text", ["1380013800", "12800138000", "010-66022790", "13800138000.0", ""])
def test_mobile_rejected(text: str) -> None:
    assert not has_mobile(text)


def test_landline_accepted_only_where_a_phone_is_asked() -> None:
    assert is_landline("010-66022790") and is_landline("027-85316953转8001")
    assert has_phone("010-66022790") and not has_mobile("010-66022790")
    assert not has_phone("85316953")  # no area code


def test_email_and_free_text_contact() -> None:
    assert (
        is_email("liuchuan@cntcitic.com.cn")
        and not is_email("liuchuan@cntcitic")
        and not is_email("a b@x.cn")
    )
    assert find_email("手机13800138000，邮箱wangxm@example.com") == "wangxm@example.com"
    assert find_mobile("手机 138 0013 8000 / wangxm@example.com") == "13800138000"


def test_name_normalisation() -> None:
    assert normalise_name(" 武汉示例（集团）有限责任公司　") == normalise_name(
        "武汉示例(集团)有限公司"
    )
    assert normalise_name("ＡＢＣ股份有限公司") == normalise_name("abc股份公司")
    assert normalise_name("智能 工厂") == "智能工厂"
    assert normalise_name(None) == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("工厂类-5G全连接工厂", ("工厂类", "5G全连接工厂")),
        ("工厂类：5G全连接工厂", ("工厂类", "5G全连接工厂")),
        ("工厂类（5G-全连接工厂）", ("工厂类", "5G-全连接工厂")),
        ("平台 工业互联网平台+安全", ("平台类", "工业互联网平台+安全")),
        ("未知类/某方向", ("未知类", "某方向")),
    ],
)
def test_split_category_direction(text: str, expected: tuple[str, str]) -> None:
    assert split_category_direction(text, load_campaign()) == expected
