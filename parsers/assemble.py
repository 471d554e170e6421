"""Materials in, one DossierFacts out: the applicant, project and contacts come from the 申报书."""

from __future__ import annotations

import re
from datetime import datetime

from parsers.cloud_links import find_cloud_links
from parsers.facts import Contact, DossierFacts, IntakeProblem, MailFacts, Material
from parsers.mime import CLOUD_DRIVE_HOSTS

# "工厂类-5G全连接工厂", "工厂类：…", "工厂类/…", "工厂类（…）", "工厂类 …"
_CATEGORY_DIRECTION = re.compile(
    r"^\s*(?P<cat>[^\s\-—–:：/／、，,（(]{1,8}?类)\s*[-—–:：/／、，,（(\s]*\s*(?P<dir>.*?)\s*[)）]?\s*$"
)


def split_category_direction(text: str) -> tuple[str | None, str | None]:
    """Split a 项目类别和方向 value into (category, direction); either may be None.

    ``"工厂类-5G全连接工厂"`` → ``("工厂类", "5G全连接工厂")``; a value without a ``…类`` head is
    taken as the direction alone.
    """
    text = (text or "").strip()
    if not text:
        return None, None
    m = _CATEGORY_DIRECTION.match(text)
    if not m:
        return None, text
    return m.group("cat"), (m.group("dir") or None)


def assemble_dossier(
    source: str,
    materials: list[Material],
    *,
    problems: list[IntakeProblem] | None = None,
    mail: MailFacts | None = None,
    links: list[str] | None = None,
    received_at: datetime | None = None,
) -> DossierFacts:
    """Build the dossier from its materials: fields from the first readable application form.

    When a form does not name the applicant, the forwarded original's sender (or the mail's
    sender) stands in for display; the rules still judge the form's own fields.
    """
    dossier = DossierFacts(
        source=source,
        materials=materials,
        problems=list(problems or []),
        links=list(links or []),
        received_at=received_at,
        mail=mail,
    )
    form = next(
        (m.form for m in materials if m.role == "application_form" and m.form and m.form.readable),
        None,
    )
    fields = form.fields if form else {}
    dossier.project_name = fields.get("project_name")
    dossier.applicant = fields.get("applicant")
    dossier.uscc = fields.get("uscc")
    dossier.category = fields.get("category")
    dossier.direction = fields.get("direction")
    if fields.get("category_direction") and not (dossier.category and dossier.direction):
        cat, direction = split_category_direction(fields["category_direction"])
        dossier.category = dossier.category or cat
        dossier.direction = dossier.direction or direction
    dossier.contact = Contact(
        name=fields.get("contact_name"),
        mobile=fields.get("mobile"),
        email=fields.get("email"),
        phone=fields.get("phone"),
    )
    if form:
        dossier.priority = list(form.priority)
    for m in materials:
        if m.form and m.form.text:
            dossier.links.extend(_links_in(m.form.text))
    if mail is not None:
        # The From address: a Reply-To is the sender's to write and names nobody (issue 14).
        dossier.sender = mail.from_addr or None
        dossier.links.extend(mail.links)
        person = mail.inner_from_name or mail.from_name or None
        if not dossier.contact.name and person:
            dossier.contact.name = person
        if not dossier.applicant and person:
            dossier.applicant = person
    dossier.links = list(dict.fromkeys(dossier.links))
    texts = [m.form.text for m in materials if m.form and m.form.text]
    if mail is not None:
        texts.insert(0, mail.body_text or "")
    dossier.cloud_links = find_cloud_links(
        dossier.links, "\n".join(texts), sent_at=mail.date if mail is not None else None,
        other_hosts=CLOUD_DRIVE_HOSTS,
    )
    tables = [m.table for m in materials if m.role == "summary_table" and m.table and m.table.readable]
    if tables:
        dossier.table = tables[0]
    return dossier


_URL = re.compile(r"https?://[^\s<>\"'，。；）)]+", re.IGNORECASE)


def _links_in(text: str) -> list[str]:
    return _URL.findall(text)
