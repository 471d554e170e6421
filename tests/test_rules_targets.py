"""evaluate(..., targets=): only the targets are judged, with exactly the findings a full run gives."""

from __future__ import annotations

import random

import pytest

from rules.campaign import load_campaign
from rules.engine import evaluate
from tests.rules_builders import (
    USCC,
    USCC_B,
    default_fields,
    dossier,
    project,
    scan_material,
    video_material,
)

IIP = load_campaign()


def test_new_duplicate_is_judged_against_the_background_only_on_the_target() -> None:
    """GIVEN 50 current dossiers, one of them the same project of the same applicant as a new one
    WHEN only the new dossier is the target
    THEN it carries PROJECT_DUPLICATE pointing to the earlier one (by its date of receipt, never by
    its source: a server path or another sender's name, issue 14); the background gets no findings."""
    background = [
        project(f"项目{k}", applicant=f"单位{k}有限公司", uscc="", source=f"old{k}") for k in range(50)
    ]
    new = project("项目 7", applicant="单位7有限责任公司", uscc="", source="new")
    ev = evaluate([*background, new], IIP, targets=[50])
    assert ev.per_dossier[:50] == [[]] * 50
    (f,) = [f for f in ev.per_dossier[50] if f.code == "PROJECT_DUPLICATE"]
    assert "另见 此前收到的申报" in f.message and "项目名称和申报单位相同" in f.message
    assert "old7" not in f.message


def test_reason_is_that_of_the_first_duplicate_in_order() -> None:
    """GIVEN a and b sharing one 申报书 file, and c the same project of the same applicant in its
    own file WHEN b, then c, is the target THEN b's reason is the shared file, c's the same name."""
    a = project("甲项目", source="a")
    b = dossier("b", materials=[a.materials[0], scan_material(), video_material()])
    own = default_fields(project_name="甲项目", mobile="13900139000")
    c = dossier("c", fields=own)
    ev = evaluate([a, b, c], IIP, targets=[1, 2])
    assert ev.per_dossier[0] == []
    found = ev.per_dossier[1] + ev.per_dossier[2]
    assert [(f.code, f.message) for f in found if f.code == "PROJECT_DUPLICATE"] == [
        ("PROJECT_DUPLICATE", "项目「甲项目」重复申报（申报书文件完全相同，另见 此前收到的申报），要求同一项目不能重复申报"),
        ("PROJECT_DUPLICATE", "项目「甲项目」重复申报（项目名称和申报单位相同，另见 此前收到的申报），要求同一项目不能重复申报"),
    ]


def test_target_outside_the_list_is_an_error() -> None:
    with pytest.raises(IndexError):
        evaluate([project("甲项目")], IIP, targets=[1])


@pytest.mark.parametrize("seed", range(6))
def test_each_target_gets_exactly_its_findings_of_a_full_evaluation(seed: int) -> None:
    """GIVEN random intakes where names, USCCs, categories and form files collide
    WHEN each dossier alone is the target THEN its findings equal those of the full evaluation."""
    rnd = random.Random(seed)
    applicants = ["甲公司有限责任公司", "甲公司有限公司", "乙股份有限公司", "丙"]
    kinds = [("工厂类", "5G全连接工厂"), ("工厂类", "智能工厂"), ("园区类", "园区"), ("平台类", "")]
    ds = []
    for k in range(30):
        category, direction = rnd.choice(kinds)
        d = project(
            rnd.choice(["项目A", "项目 A", "项目B", "项目C"]),
            applicant=rnd.choice(applicants),
            uscc=rnd.choice([USCC, USCC_B, ""]),
            category=category,
            direction=direction,
            source=f"d{k}",
        )
        if ds and rnd.random() < 0.2:  # the very same 申报书 file as an earlier dossier
            d.materials[0] = rnd.choice(ds).materials[0]
        ds.append(d)
    full = evaluate(ds, IIP)
    codes = {f.code for fs in full.per_dossier for f in fs}
    assert {"PROJECT_DUPLICATE", "APPLICANT_OVER_LIMIT"} <= codes
    for i in range(len(ds)):
        assert evaluate(ds, IIP, targets=[i]).per_dossier[i] == full.per_dossier[i]


@pytest.mark.parametrize("seed", range(6))
def test_a_new_dossier_judged_among_its_neighbours_gets_its_findings_among_all(seed: int) -> None:
    """GIVEN random intakes where names, USCCs, senders, categories and form files collide, as
    they arrive WHEN each new dossier is judged among its ``Neighbours`` only (kept across
    arrivals, some earlier dossiers no longer current) THEN its findings equal those it gets
    judged among every current dossier, and the neighbours are fewer than all."""
    from rules.cross_dossier import Neighbours

    rnd = random.Random(100 + seed)
    applicants = ["甲公司有限责任公司", "甲公司有限公司", "乙股份有限公司", "丙", "丁有限公司", "戊"]
    kinds = [("工厂类", "5G全连接工厂"), ("工厂类", "智能工厂"), ("园区类", "园区"), ("平台类", "")]
    index = Neighbours(IIP)
    current: list[int] = []
    ds = []
    smaller = 0
    for k in range(60):
        category, direction = rnd.choice(kinds)
        d = project(rnd.choice(["项目A", "项目 A", "项目B", "项目C", f"项目{k}"]),
                    applicant=rnd.choice(applicants), uscc=rnd.choice([USCC, USCC_B, "", ""]),
                    category=category, direction=direction, source=f"d{k}")
        d.sender = rnd.choice(["a@corp.example.cn", "b@corp.example.cn", "x@other.example.cn", None])
        if ds and rnd.random() < 0.2:  # the very same 申报书 file as an earlier dossier
            d.materials[0] = rnd.choice(ds).materials[0]
        ds.append(d)
        if current and rnd.random() < 0.1:  # a dossier replaced or rejected: no longer current
            current.remove(rnd.choice(current))
        for i in current:
            index.add(i, ds[i])
        near = index.around([d], set(current))
        others = [ds[i] for i in current]
        full = evaluate([*others, d], IIP, targets=[len(others)]).per_dossier[-1]
        subset = [ds[i] for i in current if i in near]
        assert evaluate([*subset, d], IIP, targets=[len(subset)]).per_dossier[-1] == full
        smaller += len(subset) < len(others)
        current.append(k)
    assert smaller >= 5
