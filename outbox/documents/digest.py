"""Rendering the officers' digest: plain text, HTML, and a bar chart (PNG) inline by Content-ID.

The chart shows dossiers per category, stacked by verdict (matplotlib, Agg backend, no display).
Category names are drawn with a CJK font when one is installed (Noto CJK, WenQuanYi, SimHei,
Source Han…); without one the bars are labelled ``C1``…``C7`` and the HTML gives the legend, so
rendering never fails for want of fonts. The mail is multipart/alternative with the HTML part
inside multipart/related (RFC 2387), the image referenced as ``cid:`` (RFC 2392).
"""

from __future__ import annotations

import html as html_mod
import io
from email.message import EmailMessage
from email.utils import make_msgid
from functools import cache
from pathlib import Path

from outbox.documents.digest_data import DigestData
from outbox.mail.finish import finish
from outbox.mail.headers import COMPOSE_POLICY
from outbox.mail.template_files import load_template, subject
from rules.wording import in_zone, time_text

LEVEL_LABELS = {"district": "区级", "city": "市级", "province": "省级", "ministry": "部级"}
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
                "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "AR PL UMing CN", "Droid Sans Fallback")
CJK_FILES = ("NotoSansCJK-Regular.ttc", "NotoSerifCJK-Regular.ttc", "wqy-zenhei.ttc", "wqy-microhei.ttc",
             "simhei.ttf", "DroidSansFallbackFull.ttf", "SourceHanSansSC-Regular.otf")
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")


@cache
def cjk_font() -> str | None:
    """The family name of an installed CJK font matplotlib can use, or None."""
    import logging

    from matplotlib import font_manager

    # "findfont: Failed to find font weight normal for WenQuanYi Zen Hei, now using 500": the
    # font has one weight, which is what is wanted; not a warning for the person running demo.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in names:
            return family
    for root in FONT_DIRS:
        if not root.is_dir():
            continue
        for file in CJK_FILES:
            for path in root.rglob(file):
                try:
                    font_manager.fontManager.addfont(str(path))
                    return font_manager.FontProperties(fname=str(path)).get_name()
                except (OSError, RuntimeError, ValueError):
                    continue
    return None


def chart_png(counts: dict[str, tuple[int, int]], *, font: str | None = None) -> tuple[bytes, dict[str, str]]:
    """Bar chart of ``{category: (accepted, defective)}`` as PNG bytes, plus the label legend
    (``{"C1": "新技术类"}`` when no CJK font is given, else empty)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    cats = list(counts)
    legend = {} if font else {f"C{i}": c for i, c in enumerate(cats, 1)}
    labels = cats if font else list(legend)
    accepted = [counts[c][0] for c in cats]
    defective = [counts[c][1] for c in cats]
    fig = Figure(figsize=(7.2, 3.2), dpi=100)
    ax = fig.add_subplot()
    xs = range(len(cats))
    ax.bar(xs, accepted, color="#4c9a5f", label="受理" if font else "accepted")
    ax.bar(xs, defective, bottom=accepted, color="#d9822b", label="需补正" if font else "defective")
    ax.set_xticks(list(xs), labels, fontfamily=font or "DejaVu Sans", fontsize=9)
    ax.set_ylabel("项目数" if font else "dossiers", fontfamily=font or "DejaVu Sans")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(prop={"family": font or "DejaVu Sans", "size": 9}, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue(), legend


def render(data: DigestData, *, inline_cid: str | None, png_name: str = "digest.png") -> tuple[str, str, bytes]:
    """(plain text, HTML, chart PNG) of ``data``. The HTML's image is ``cid:<inline_cid>`` when
    given (mail), else ``png_name`` (a file beside the HTML)."""
    png, legend = chart_png({c: (n.accepted, n.defective) for c, n in data.counts.items()},
                            font=cjk_font())
    now_text = time_text(data.now, data.timezone, zone=True)
    if data.deadline is None:
        deadline_line = "本级截止日期：未设定"
    elif data.days_left and data.days_left > 0:
        deadline_line = f"本级截止日期：{data.deadline}，还剩 {data.days_left} 天"
    elif data.days_left == 0:
        deadline_line = f"本级截止日期：{data.deadline}，今天截止"
    else:
        deadline_line = f"本级截止日期：{data.deadline}，已过 {-(data.days_left or 0)} 天"
    sections = {
        "tasks": data.tasks,
        "changes": data.changes,
        "defects": [f"[{t}] {p}（{a}）：" + "；".join(e or ["见补正通知"]) for t, p, a, e in data.defects],
        "limits": [f"[{t}] {a}：{m}" for t, a, m in data.limits],
        "quota": ([f"{data.quota[2]}推荐名额 {data.quota[1]} 个，本单位（全部类别）已受理 {data.quota[0]} 个"
                   + ("，超出名额的按排序列为不推荐" if data.quota[0] > data.quota[1] else "")]
                  if data.quota else ["本单位推荐名额未设定（请系统管理员在配置中填写本单位类型）"]),
        "bounces": [f"{t}：{e}" for t, e in data.bounces],
        "quarantined": [f"输入 {i}（{n}）：{e}（intake reprocess {i}）" for i, n, e in data.quarantined],
        "decisions": data.decisions,
        "links": data.links,
        "alerts": data.alerts,
    }
    common = {
        "unit": data.unit, "scope": data.scope, "campaign_name": data.campaign_name,
        "level_label": LEVEL_LABELS.get(data.level, data.level), "now_text": now_text,
        "deadline_line": deadline_line,
    }
    total = data.total
    rows = [(c, n) for c, n in data.counts.items()] + [("合计", total)]
    text_counts = "".join(
        f"  {c}：收到 {n.received}，受理 {n.accepted}，需补正 {n.defective}，等待补正 {n.awaiting}，逾期 {n.late}\n"
        for c, n in rows)
    text = load_template("digest.txt").substitute(
        common, counts=text_counts,
        **{k: "".join(f"  - {x}\n" for x in v) or "  无\n" for k, v in sections.items()},
    )
    esc = {k: html_mod.escape(v) for k, v in common.items()}
    html_counts = "".join(
        load_template("digest_count_row.html").substitute(
            cls="total" if c == "合计" else "", category=html_mod.escape(c), received=n.received,
            accepted=n.accepted, defective=n.defective, awaiting=n.awaiting, late=n.late)
        for c, n in rows)
    items = {
        k: "".join(load_template("digest_item.html").substitute(text=html_mod.escape(x)) for x in v)
        or '<li class="none">无</li>'
        for k, v in sections.items()
    }
    legend_html = ("<p class=\"meta\">图例：" + "，".join(
        f"{html_mod.escape(k)} = {html_mod.escape(v)}" for k, v in legend.items()) + "</p>") if legend else ""
    page = load_template("digest.html").substitute(
        esc, counts=html_counts, chart_src=f"cid:{inline_cid}" if inline_cid else png_name,
        chart_legend=legend_html, **items,
    )
    return text, page, png


def compose_digest(
    data: DigestData, from_name: str, from_addr: str, domain: str, to_name: str, to_addr: str,
    loop_value: str,
) -> EmailMessage:
    """The digest mail to one officer: text + HTML with the chart inline (Content-ID)."""
    cid = make_msgid(idstring="chart", domain=domain)[1:-1]
    text, page, png = render(data, inline_cid=cid)
    msg = EmailMessage(policy=COMPOSE_POLICY)
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(page, subtype="html", charset="utf-8")
    html_part = msg.get_payload()[1]
    html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>", filename="chart.png")
    local = in_zone(data.now, data.timezone)
    title = subject("digest", unit=data.unit, month=local.month, day=local.day, scope=data.scope)
    return finish(
        msg,
        sender=(from_name, from_addr),
        to=[(to_name, to_addr)],
        subject=title,
        now=data.now,
        message_id=make_msgid(idstring="digest", domain=domain),
        auto="auto-generated",
        loop_value=loop_value,
        suppress_auto_replies=False,
    )
