"""Tracking numbers: layout, ISO/IEC 7064 MOD 37,36 check character, finding them in subjects."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outbox.mail.tracking import check_char, is_valid_tracking, make_tracking, parse_tracking


def test_layout_and_known_value() -> None:
    assert make_tracking("IIP2023", "420100", 17) == "IIP2023-420100-0017-8"
    assert make_tracking("iip2023", "420100", 12345) == "IIP2023-420100-12345-" + check_char(
        "IIP202342010012345"
    )


@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(["420100", "420000", "000000", "420102"]),
)
def test_round_trip_through_a_subject(seq: int, level: str) -> None:
    t = make_tracking("IIP2023", level, seq)
    assert is_valid_tracking(t)
    assert parse_tracking(f"回复：【补正通知】智能工厂 [{t}]") == t
    assert parse_tracking(f"Re: x [{t.lower()}]") == t


@given(st.integers(min_value=0, max_value=9999), st.integers(min_value=0, max_value=20), st.data())
def test_every_single_character_error_is_caught(seq: int, pos: int, data: st.DataObject) -> None:
    t = make_tracking("IIP2023", "420100", seq)
    positions = [i for i, c in enumerate(t) if c != "-"]
    idx = positions[pos % len(positions)]
    alphabet = "0123456789" if t[idx].isdigit() else "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    wrong = data.draw(st.sampled_from([c for c in alphabet if c != t[idx]]))
    typo = t[:idx] + wrong + t[idx + 1 :]
    assert not is_valid_tracking(typo)


def test_adjacent_transposition_is_caught() -> None:
    t = make_tracking("IIP2023", "420100", 17)  # IIP2023-420100-0017-8
    assert not is_valid_tracking("IIP2023-420100-0071-8")
    assert not is_valid_tracking("IIP2023-421000-0017-8")
    assert is_valid_tracking(t)


def test_parse_skips_invalid_and_finds_later_valid() -> None:
    good = make_tracking("IIP2023", "420100", 3)
    assert parse_tracking(f"[IIP2023-420100-0017-0] 与 [{good}]") == good
    assert parse_tracking("关于报送2024年度项目的函") is None
    assert parse_tracking(None) is None
    assert not is_valid_tracking(None) and not is_valid_tracking(f" x{good}")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("I", "420100", 1), "campaign"),
        (("IIP2023", "4201", 1), "level"),
        (("IIP2023", "420100", -1), "negative"),
    ],
)
def test_bad_parts_raise(args: tuple[str, str, int], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        make_tracking(*args)
