"""Rules on what the application form (申报书) says: fields, USCC, contacts, category, direction."""

from __future__ import annotations

from collections.abc import Iterator

from parsers.facts import DossierFacts
from rules.contacts import has_mobile, has_phone, is_email, parts
from rules.context import Context
from rules.dossier_view import form_fields, form_material
from rules.rule import Hit, Rule
from rules.uscc import uscc_problem


def _form(d: DossierFacts, ctx: Context) -> tuple[str, dict[str, str]] | None:
    """(where, fields) of the dossier's readable form; ``None`` when FORM_MISSING applies."""
    m = form_material(d, ctx.campaign)
    if m is None:
        return None
    return m.name, form_fields(d, ctx.campaign)


def check_field_missing(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    got = _form(d, ctx)
    if got is None:
        return
    where, fields = got
    for key, label in ctx.campaign.form.required_fields.items():
        if key == "mobile" and fields.get("phone") and has_mobile(fields["phone"]):
            continue  # the form put the mobile under 联系电话
        if not fields.get(key):
            yield {"where": where, "field": label, "key": key}


def check_uscc(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    got = _form(d, ctx)
    if got is None or not got[1].get("uscc"):
        return
    where, fields = got
    why = uscc_problem(fields["uscc"])
    if why:
        yield {"where": where, "actual": fields["uscc"], "why": why}


def check_mobile(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    got = _form(d, ctx)
    if got is None:
        return
    where, fields = got
    if fields.get("mobile") and not has_mobile(fields["mobile"]):
        yield {
            "where": where,
            "field": "手机",
            "actual": fields["mobile"],
            "expected": "11 位手机号码",
        }
    if fields.get("phone") and not has_phone(fields["phone"]):
        yield {
            "where": where,
            "field": "联系电话",
            "actual": fields["phone"],
            "expected": "手机号码或带区号的座机号码（如 010-66022790）",
        }


def check_email(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    got = _form(d, ctx)
    if got is None or not got[1].get("email"):
        return
    where, fields = got
    if not any(is_email(p) for p in parts(fields["email"])):
        yield {"where": where, "actual": fields["email"]}


def check_category(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    got = _form(d, ctx)
    if got is None or not got[1].get("category"):
        return
    where, fields = got
    if ctx.campaign.category(fields["category"]) is None:
        yield {
            "where": where,
            "actual": fields["category"],
            "count": len(ctx.campaign.categories),
            "expected": ctx.campaign.category_names(),
        }


def check_direction(d: DossierFacts, ctx: Context) -> Iterator[Hit]:
    got = _form(d, ctx)
    if got is None or not got[1].get("direction"):
        return
    where, fields = got
    category = ctx.campaign.category(fields.get("category"))
    if category is None or category.knows_direction(fields["direction"]):
        return  # an unknown category is CATEGORY_UNKNOWN; an empty list accepts any direction
    yield {
        "where": where,
        "actual": fields["direction"],
        "category": category.name,
        "expected": "、".join(category.directions),
    }


RULES: tuple[Rule, ...] = (
    Rule(
        "FORM_FIELD_MISSING",
        "附件2（申报书）",
        "error",
        "申报书缺少必填项",
        "申报书未填写「{field}」",
        "请在申报书中填写「{field}」后重新发送申报书",
        check_field_missing,
    ),
    Rule(
        "USCC_INVALID",
        "二（一）；GB 32100-2015",
        "error",
        "统一社会信用代码无效",
        "统一社会信用代码「{actual}」无效：{why}；要求 18 位有效代码（GB 32100-2015）",
        "请核对营业执照上的统一社会信用代码，改正后重新发送申报书",
        check_uscc,
    ),
    Rule(
        "MOBILE_INVALID",
        "附件3（联系方式：手机与邮箱）",
        "error",
        "联系人手机号码无效",
        "{field}「{actual}」无效，要求{expected}",
        "请填写联系人的有效{expected}后重新发送申报书",
        check_mobile,
    ),
    Rule(
        "EMAIL_INVALID",
        "附件3（联系方式：手机与邮箱）",
        "error",
        "联系人邮箱无效",
        "联系人邮箱「{actual}」无效，要求有效的电子邮箱地址（如 name@example.com）",
        "请填写联系人的有效电子邮箱后重新发送申报书",
        check_email,
    ),
    Rule(
        "CATEGORY_UNKNOWN",
        "一",
        "error",
        "项目类别不在本次申报范围内",
        "项目类别「{actual}」不在本次申报的 {count} 大类中（{expected}）",
        "请从 {expected} 中选择项目类别，改正后重新发送申报书",
        check_category,
    ),
    Rule(
        "DIRECTION_UNKNOWN",
        "一；附件1",
        "error",
        "项目方向不在该类别的方向中",
        "项目方向「{actual}」不是「{category}」的申报方向（{expected}）",
        "请按《试点示范内容》（附件1）填写「{category}」下的方向名称后重新发送申报书",
        check_direction,
    ),
)
