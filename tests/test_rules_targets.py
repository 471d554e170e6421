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
