"""Attacks on the round-2 parts: bounces, cloud-drive links, OFD scans, the seal search, the archive
behind ``intake fetched`` (tests/robustness/README.md, rows B*, L*, F*, G*).

Inputs that used to run for minutes or hours run here in a child interpreter with a generous
``timeout`` (60 s: the fixed code takes well under a second), so a regression fails instead of
hanging the suite; the assertions are on the outcome, not on the time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT_S = 60


def _child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line as its last output."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT, check=True, timeout=LIMIT_S)
    return json.loads(proc.stdout.strip().splitlines()[-1])


_BOUNCE = r"""
import json
from email.message import EmailMessage
from outbox.mail.bounces import read_bounce
from parsers.mime import parse_message
m = EmailMessage()
m["From"] = "someone@example.com"; m["To"] = "intake@example.org"; m["Subject"] = "hello"
m["X-Failed-Recipients"] = "x"
m.set_content("a" * 400_000)
raw = m.as_bytes()
b = read_bounce(parse_message(raw), raw)
print(json.dumps({"rcpt": b.rcpt, "message_id": b.message_id}))
"""


def test_b1_free_text_bounce_without_addresses_is_read_quickly() -> None:
    """B1: a "bounce" (any sender can add X-Failed-Recipients) whose body is one 400 KB word.
    The recipient search's address regex was quadratic (≈ hours, in the daemon's own process,
    inside a transaction): now linear. It quotes nothing of ours, so nothing is recorded."""
    out = _child(_BOUNCE)
    assert out == {"rcpt": None, "message_id": None}


_LINK_TEXT = r"""
import json
from parsers.cloud_links import find_cloud_links
gap = " " * 200_000
text = ("视频链接 https://pan.baidu.com/s/1abcDEF 提取码" + gap + "! 有效期" + gap + "! 有效期至" + gap
        + "! 2030年1月1日" + gap + "!")
links = find_cloud_links(["https://pan.baidu.com/s/1abcDEF"], text, sent_at=None)
print(json.dumps([[l.provider, l.code, l.expires_at] for l in links]))
"""


def test_l1_cloud_link_words_then_long_blanks_are_read_quickly() -> None:
    """L1: 提取码 / 有效期 / 有效期至 each followed by 200,000 blanks. ``\\s*[:：]?\\s*`` was
    quadratic (≈ 25 min for this text); the gaps are bounded now and nothing is read."""
    assert _child(_LINK_TEXT) == [["baidu", None, None]]


def test_l2_ten_thousand_cloud_links_are_capped() -> None:
    """L2: a mail with 10,000 distinct Baidu links: at most ``MAX_CLOUD_LINKS`` are kept (each
    one is listed in the 回执, the digest and ``intake links``), each with its own code."""
    from email.message import EmailMessage

    from parsers.cloud_links import MAX_CLOUD_LINKS, find_cloud_links
    from parsers.mime import parse_message

    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "a@example.com", "intake@example.org", "申报"
    m.set_content("\n".join(f"https://pan.baidu.com/s/1abc{i:06d}xyz 提取码: c{i % 1000:03d}"
                            for i in range(10_000)))
    mail = parse_message(m.as_bytes())
    links = find_cloud_links(mail.links, mail.body_text, sent_at=None)
    assert 1 <= len(links) == MAX_CLOUD_LINKS <= 50
    assert [link.code for link in links[:3]] == ["c000", "c001", "c002"]


_OFD = r"""
import io, json, resource, sys, zipfile
from pathlib import Path
from PIL import Image
from parsers.ofd import read_ofd
side, pages = int(sys.argv[2]), int(sys.argv[3])
buf = io.BytesIO()
Image.new("RGB", (side, side), (255, 255, 255)).save(buf, "PNG", compress_level=9)
ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
parts = {
    "OFD.xml": f'<ofd:OFD {ns}><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>',
    "Doc_0/Document.xml": f'<ofd:Document {ns}><ofd:CommonData><ofd:DocumentRes>DocumentRes.xml'
        '</ofd:DocumentRes></ofd:CommonData><ofd:Pages>'
        + "".join(f'<ofd:Page ID="{n}" BaseLoc="Pages/P/Content.xml"/>' for n in range(pages))
        + "</ofd:Pages></ofd:Document>",
    "Doc_0/DocumentRes.xml": f'<ofd:Res {ns} BaseLoc="Res"><ofd:MultiMedias><ofd:MultiMedia ID="5" '
        'Type="Image"><ofd:MediaFile>big.png</ofd:MediaFile></ofd:MultiMedia></ofd:MultiMedias></ofd:Res>',
    "Doc_0/Pages/P/Content.xml": f'<ofd:Page {ns}><ofd:Content><ofd:Layer>'
        + '<ofd:ImageObject ResourceID="5" Boundary="0 0 210 297"/>' * 8 + "</ofd:Layer></ofd:Content></ofd:Page>",
    "Doc_0/Res/big.png": buf.getvalue(),
}
path = Path(sys.argv[1])
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
    for name, data in parts.items():
        z.writestr(name, data)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
f = read_ofd(path)
print(json.dumps({"size": path.stat().st_size, "readable": f.readable, "pages": f.pages,
                  "seals": len(f.seals),
                  "extra_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024 - base}))
"""


def test_g1_ofd_with_a_giant_page_image_drawn_on_every_page(tmp_path: Path) -> None:
    """G1: a 9,000 × 9,000 white PNG (81 Mpx, just under Pillow's bomb warning) drawn 8 times on
    each of 60 pages: a 3 KB .ofd. Each drawing was decoded in full (≈ 1 GB, ≈ 13 s each:
    ≈ 13 min for the file); now an image over ``MAX_IMAGE_PIXELS`` is not decoded, and each
    image is decoded at most once per file."""
    out = _child(_OFD, str(tmp_path / "bomb.ofd"), "9000", "60")
    assert out["size"] < 20_000
    assert (out["readable"], out["pages"], out["seals"]) == (True, 60, 0)
    assert out["extra_mib"] < 150


def test_g2_ofd_with_sixty_distinct_big_page_images(tmp_path: Path) -> None:
    """G2: 60 pages, each drawing its own 5,000 × 5,000 PNG (25 Mpx, under the per-image cap):
    the pixels decoded for one file stop at ``MAX_PIXELS_PER_FILE``; the file stays readable."""
    code = _OFD.replace('"Doc_0/Res/big.png": buf.getvalue(),', "").replace(
        "path = Path(sys.argv[1])",
        "path = Path(sys.argv[1])\n"
        "parts['Doc_0/DocumentRes.xml'] = f'<ofd:Res {ns} BaseLoc=\"Res\"><ofd:MultiMedias>' + ''.join("
        "f'<ofd:MultiMedia ID=\"{100 + n}\"><ofd:MediaFile>p{n}.png</ofd:MediaFile></ofd:MultiMedia>'"
        " for n in range(pages)) + '</ofd:MultiMedias></ofd:Res>'\n"
        "for n in range(pages):\n"
        "    parts[f'Doc_0/Pages/P{n}/Content.xml'] = f'<ofd:Page {ns}><ofd:Content><ofd:Layer>"
        "<ofd:ImageObject ResourceID=\"{100 + n}\" Boundary=\"0 0 210 297\"/></ofd:Layer></ofd:Content></ofd:Page>'\n"
        "    parts[f'Doc_0/Res/p{n}.png'] = buf.getvalue()\n"
        "parts['Doc_0/Document.xml'] = parts['Doc_0/Document.xml'].replace('Pages/P/Content.xml', 'X')\n"
        "import re\n"
        "k = iter(range(pages))\n"
        "parts['Doc_0/Document.xml'] = re.sub('BaseLoc=\"X\"', lambda m: f'BaseLoc=\"Pages/P{next(k)}/Content.xml\"', parts['Doc_0/Document.xml'])\n",
    )
    out = _child(code, str(tmp_path / "many.ofd"), "5000", "60")
    assert (out["readable"], out["pages"], out["seals"]) == (True, 60, 0)
    assert out["extra_mib"] < 250


def _striped_pdf(path: Path, side_pt: int, pages: int) -> Path:
    """``pages`` pages of ``side_pt`` points square sharing one content stream: red stripes 1 pt
    wide every 3 pt (a pattern the seal search's grid joins into one red area)."""
    content = b"1 0 0 rg " + b"".join(b"%d 0 1 %d re " % (x, side_pt) for x in range(0, side_pt, 3)) + b"f"
    kids = " ".join(f"{4 + i} 0 R" for i in range(pages))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"]
    objs += [f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {side_pt} {side_pt}] /Contents 3 0 R >>".encode()
             for _ in range(pages)]
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for n, obj in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(bytes(out))
    return path


_SCAN = r"""
import json, resource, sys
from pathlib import Path
from parsers.scans import read_scan
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
f = read_scan(Path(sys.argv[1]))
print(json.dumps({"readable": f.readable, "pages": f.pages, "checked": f.seal_pages_checked,
                  "seals": len(f.seals),
                  "extra_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024 - base}))
"""


def test_g3_pdf_page_of_two_hundred_inches(tmp_path: Path) -> None:
    """G3: one 14,400 × 14,400 pt page (the largest MediaBox PDF allows) of red stripes, 88 KB:
    rendered at 36 dpi it was a 52 Mpx bitmap (≈ 1 GB with the numpy copies) walked cell by cell
    in Python. Now a page is rendered at most ``SEAL_MAX_PIXELS`` large, and a page that red is
    not walked."""
    out = _child(_SCAN, str(_striped_pdf(tmp_path / "huge.pdf", 14_400, 1)))
    assert (out["readable"], out["pages"], out["checked"], out["seals"]) == (True, 1, 1, 0)
    assert out["extra_mib"] < 150


def test_g4_sixty_striped_a4_pages(tmp_path: Path) -> None:
    """G4: 60 A4 pages sharing one striped content stream (10 KB): every red grid cell was walked
    in Python (≈ 0.2 s a page); such a page is now skipped, and the search has a time budget."""
    out = _child(_SCAN, str(_striped_pdf(tmp_path / "stripes.pdf", 595, 60)))
    assert (out["readable"], out["pages"], out["seals"]) == (True, 60, 0)
    assert 1 <= out["checked"] <= 60


_PUT = r"""
import json, sys
from datetime import UTC, datetime
from pathlib import Path
from bot.store.archive import ArchiveError
from bot.store.database import Store
from bot.store.nofollow import UnsafeEntry
store = Store.open(Path(sys.argv[1]) / "intake.sqlite3", Path(sys.argv[1]) / "archive")
out = {}
for name in sys.argv[2:]:
    try:
        store.accept_path(Path(name), taken_at=datetime.now(UTC))
        out[Path(name).name] = "archived"
    except (ArchiveError, UnsafeEntry):
        out[Path(name).name] = "refused"
print(json.dumps(out))
"""


def test_f1_fetched_file_swapped_for_a_fifo_or_symlink_after_the_check(tmp_path: Path) -> None:
    """F1: ``intake fetched T FILE`` checks "regular file, not a link" and then archives the path
    (``Store.accept_path``); a FIFO or a symlink put there in between blocked the command forever
    or archived the link's target (/etc/passwd). The path is now opened with O_NOFOLLOW and
    O_NONBLOCK and only a regular file is read (``bot/store/nofollow.py``); ``intake fetched``
    exits 1 with the reason."""
    import os

    fifo = tmp_path / "video.mp4"
    os.mkfifo(fifo)
    link = tmp_path / "link.mp4"
    link.symlink_to("/etc/passwd")
    real = tmp_path / "real.mp4"
    real.write_bytes(b"\x00" * 100)
    (tmp_path / "store").mkdir()
    out = _child(_PUT, str(tmp_path / "store"), str(fifo), str(link), str(real))
    assert out == {"video.mp4": "refused", "link.mp4": "refused", "real.mp4": "archived"}


def _ofd_zip(path: Path, parts: dict[str, bytes | str]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


_NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'
_ROOT = f'<ofd:OFD {_NS}><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>'


def test_g5_ofd_entities_traversal_and_bombs_are_unreadable_not_followed(tmp_path: Path) -> None:
    """G5 (held before): an OFD whose OFD.xml is a billion-laughs entity bomb, one naming an
    external entity, one whose DocRoot climbs out of the package (``../../etc/passwd``), and one
    whose Document.xml is 200 MB of zeros packed to 200 KB: each is ``corrupt``, nothing outside the
    package is read, nothing big is inflated."""
    laughs = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
              + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
              + f']><ofd:OFD {_NS}><ofd:DocBody><ofd:DocRoot>&i;</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
    xxe = (f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY s SYSTEM "file:///etc/passwd">]>'
           f'<ofd:OFD {_NS}><ofd:DocBody><ofd:DocRoot>&s;</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
    climb = _ROOT.replace("Doc_0/Document.xml", "../../etc/passwd")
    from parsers.ofd import read_ofd

    cases = {
        "laughs": {"OFD.xml": laughs},
        "xxe": {"OFD.xml": xxe},
        "climb": {"OFD.xml": climb},
        "bomb": {"OFD.xml": _ROOT, "Doc_0/Document.xml": b"\0" * 200_000_000},
    }
    for name, parts in cases.items():
        facts = read_ofd(_ofd_zip(tmp_path / f"{name}.ofd", parts))
        assert (facts.readable, facts.problem) == (False, "corrupt"), name
        assert "root:" not in (facts.detail or ""), name


def test_b3_a_bounce_reason_never_carries_a_clickable_link_to_officers() -> None:
    """B3: an applicant (who knows their receipt's Message-ID) forges a bounce whose "server
    answer" is a phishing line. The 退信提醒 the bureau sends its officers quoted it with a live
    link; links in the reason are now defanged (``http[:]//``) in both parts."""
    from outbox.mail.bounce_mail import BounceAlert, compose_bounce_alert
    from tests.outbox_builders import TRACKING, make_ctx

    alert = BounceAlert(tracking=TRACKING, applicant="示例有限公司", project_name="示例项目",
                        contact_name="王", phone="13800000000", rcpt="wang@example.com",
                        reply_kind="receipt", sent_at="2023年11月20日 09:30", cause="对方邮件服务器拒收",
                        reason="550 邮箱异常，请立即登录 https://evil.example/verify 重新验证")
    msg = compose_bounce_alert(make_ctx(), [("张科长", "zhang@bureau.example.org")], alert)
    bodies = [part.get_content() for part in msg.walk() if part.get_content_maintype() == "text"]
    assert len(bodies) == 2
    assert all("https://evil" not in b and "https[:]//evil.example/verify" in b for b in bodies)
