"""Builders of DossierFacts for the rules tests: a valid dossier and small, named variations."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from parsers.facts import (
    Contact,
    DossierFacts,
    FormFacts,
    IntakeProblem,
    Material,
    ScanFacts,
    SealFound,
    TableFacts,
    TableRecord,
    VideoFacts,
)
from tests.factories import make_uscc

USCC = make_uscc("91420100MA4K00001")
USCC_B = make_uscc("91420100MA4K00002")
DATA = Path(__file__).parent / "rules_data"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def form_material(
    fields: dict[str, str], name: str = "申报书.docx", kind: str = "docx"
) -> Material:
    return Material(
        name=name,
        path=None,
        sha256=_sha(repr(sorted(fields.items()))),
        size=20_000,
        role="application_form",
        kind=kind,
        form=FormFacts(readable=True, fields=dict(fields)),
    )


def scan_material(name: str = "全套扫描件.pdf", *, seals: list[SealFound] | None = None) -> Material:
    return Material(
        name=name,
        path=None,
        sha256=_sha(name + "scan"),
        size=90_000,
        role="scanned_copy",
        kind="pdf",
        scan=ScanFacts(readable=True, pages=12, image_pages=12, seals=list(seals or []),
                       seal_pages_checked=12 if seals is not None else 0),
    )


def video_material(
    duration_s: float | None = 372.0, name: str = "项目视频.mp4", **facts: object
) -> Material:
    video = VideoFacts(readable=True, duration_s=duration_s, codec="h264", container="mp4")
    video = replace(video, **facts)
    return Material(
        name=name,
        path=None,
        sha256=_sha(f"{name}{duration_s}{facts}"),
        size=4_000_000,
        role="video",
        kind="mp4",
        video=video,
    )


def default_fields(**over: str) -> dict[str, str]:
    fields = {
        "project_name": "基于工业互联网平台的智能工厂建设项目",
        "applicant": "武汉示例智能制造有限公司",
        "uscc": USCC,
        "category": "工厂类",
        "direction": "5G全连接工厂",
        "contact_name": "王小明",
        "mobile": "13800138000",
        "email": "wangxm@example.com",
    }
    fields.update(over)
    return {k: v for k, v in fields.items() if v}


def dossier(
    source: str = "mail:<d1@example.com>",
    *,
    fields: dict[str, str] | None = None,
    materials: list[Material] | None = None,
    extra: list[Material] | None = None,
    assembled: bool = False,
    **facts: object,
) -> DossierFacts:
    """A valid dossier (form, scan, 372 s video); ``assembled`` copies the fields to the top level."""
    f = default_fields() if fields is None else fields
    mats = (
        materials
        if materials is not None
        else [form_material(f), scan_material(), video_material()]
    )
    d = DossierFacts(source=source, materials=[*mats, *(extra or [])])
    if assembled:
        d.project_name, d.applicant, d.uscc = (
            f.get("project_name"),
            f.get("applicant"),
            f.get("uscc"),
        )
        d.category, d.direction = f.get("category"), f.get("direction")
        d.contact = Contact(f.get("contact_name"), f.get("mobile"), f.get("email"))
    for k, v in facts.items():
        setattr(d, k, v)
    return d


def project(
    name: str,
    *,
    applicant: str = "武汉示例智能制造有限公司",
    uscc: str = USCC,
    category: str = "工厂类",
    direction: str = "5G全连接工厂",
    source: str | None = None,
    video_s: float = 372.0,
) -> DossierFacts:
    """A valid dossier for one project of one applicant (for the cross-dossier rules)."""
    f = default_fields(
        project_name=name, applicant=applicant, uscc=uscc, category=category, direction=direction
    )
    return dossier(
        source or f"mail:<{_sha(name + applicant)[:8]}@example.com>",
        fields=f,
        materials=[form_material(f), scan_material(), video_material(video_s)],
    )


def table(rows: list[dict[str, str]], **over: object) -> TableFacts:
    """A summary table (附件3 layout, header on row 3) whose records start on worksheet row 4."""
    cols = {
        "seq": "A",
        "project_name": "B",
        "category_direction": "C",
        "applicant": "D",
        "contact_name": "E",
        "contact": "F",
    }
    recs = [
        TableRecord(
            row=i,
            sheet="汇总表",
            excel_row=3 + i,
            cells={"seq": str(i), **r},
            positions={k: f"{c}{3 + i}" for k, c in cols.items()},
        )
        for i, r in enumerate(rows, 1)
    ]
    t = TableFacts(
        readable=True,
        sheet="汇总表",
        title="2023年工业互联网试点示范推荐项目汇总表",
        header_row=3,
        columns=cols,
        records=recs,
        real_format="xlsx",
    )
    for k, v in over.items():
        setattr(t, k, v)
    return t


def table_row(d: DossierFacts, **over: str) -> dict[str, str]:
    """The 汇总表 row that matches dossier ``d``'s form."""
    f = d.materials[0].form.fields  # type: ignore[union-attr]
    row = {
        "project_name": f["project_name"],
        "category_direction": f"{f['category']}-{f['direction']}",
        "applicant": f["applicant"],
        "contact_name": f["contact_name"],
        "contact": f"{f['mobile']} {f['email']}",
    }
    row.update(over)
    return row


def at(y: int, mo: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi)


__all__ = [
    "DATA",
    "USCC",
    "USCC_B",
    "IntakeProblem",
    "at",
    "default_fields",
    "dossier",
    "form_material",
    "project",
    "scan_material",
    "table",
    "table_row",
    "video_material",
]
