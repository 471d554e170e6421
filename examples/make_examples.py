"""Write the bundled sample input: dossier folders, a zip and two mails, all made-up.

Usage: ``python examples/make_examples.py [OUT_DIR]`` (default ``examples/sample-input``, committed).
Needs ffmpeg for the tiny videos. Every name, number and address is invented (example.com).

What each sample is for (the demo prints the result of each):
- 01: a complete, valid dossier (申报书.docx with the basic-information table, scan PDF, 6-min video)
- 02: a 4-minute video (VIDEO_TOO_SHORT)
- 03: no scanned copy (SCAN_MISSING)
- 04: a 统一社会信用代码 with a wrong check character (USCC_INVALID)
- 05a/05b/05c: one applicant with three projects (APPLICANT_OVER_LIMIT)
- 06: a zip (Windows-style GBK member names) of a valid dossier
- 07 (.eml): a valid dossier sent by mail
- 08 (.eml): a mail whose video is only a cloud-drive link (VIDEO_LINK_ONLY: the officer must fetch and check it)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.factories import (  # noqa: E402
    FormData,
    break_uscc,
    make_dossier_dir,
    make_form_docx,
    make_scan_pdf,
    make_submission_eml,
    make_uscc,
    zip_folder,
)

CST = timezone(timedelta(hours=8))


def make_examples(out: Path) -> list[Path]:
    """Write the samples into ``out``; return the paths written (one per input)."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def form(n: int, **kw) -> FormData:
        base = dict(
            project_name=f"示例项目{n}",
            applicant=f"武汉示例{n}号科技有限公司",
            uscc=make_uscc(f"91420100MA4K0{n:04d}"),
            contact_name="王小明",
            mobile=f"1380013{n:04d}",
            email=f"contact{n}@example.com",
        )
        base.update(kw)
        return FormData(**base)

    written.append(make_dossier_dir(
        out / "01-武汉示例智能制造-完整材料",
        form(1, project_name="基于5G的离散制造智能工厂建设项目", applicant="武汉示例智能制造有限公司",
             category="工厂类", direction="5G全连接工厂"),
        video_s=372,
    ))
    written.append(make_dossier_dir(
        out / "02-江城示例数据-视频过短",
        form(2, project_name="工业互联网标识解析二级节点应用项目", applicant="江城示例数据科技有限公司",
             category="网络类", direction="标识解析"),
        video_s=240,
    ))
    written.append(make_dossier_dir(
        out / "03-汉阳示例装备-缺扫描件",
        form(3, project_name="装备制造行业工业互联网平台项目", applicant="汉阳示例装备股份有限公司",
             category="平台类", direction="行业平台"),
        video_s=400, scan=False,
    ))
    written.append(make_dossier_dir(
        out / "04-光谷示例安全-信用代码错误",
        form(4, project_name="工业控制系统安全监测项目", applicant="光谷示例安全技术有限公司",
             uscc=break_uscc(make_uscc("91420100MA4K00004")), category="安全类", direction="安全监测"),
        video_s=330,
    ))
    same = dict(applicant="东湖示例集团有限公司", uscc=make_uscc("91420100MA4K00055"))
    for suffix, cat, direction, title in (
        ("a", "工厂类", "智能工厂", "东湖集团智能工厂项目"),
        ("b", "平台类", "企业平台", "东湖集团企业级平台项目"),
        ("c", "安全类", "安全防护", "东湖集团安全防护项目"),
    ):
        written.append(make_dossier_dir(
            out / f"05{suffix}-东湖示例集团-项目{suffix.upper()}",
            form(5, project_name=title, category=cat, direction=direction, **same),
            video_s=360,
        ))

    with tempfile.TemporaryDirectory() as tmp:
        folder = make_dossier_dir(
            Path(tmp) / "江夏示例新材料-申报材料",
            form(6, project_name="新材料行业数字化车间项目", applicant="江夏示例新材料有限公司",
                 category="工厂类", direction="数字化车间"),
            video_s=420,
        )
        written.append(zip_folder(folder, out / "06-江夏示例新材料-申报材料.zip"))

        mail_dir = Path(tmp) / "mail7"
        make_dossier_dir(
            mail_dir,
            form(7, project_name="园区工业互联网公共服务平台项目", applicant="新洲示例园区运营有限公司",
                 category="园区类", direction="园区平台", email="apply7@example.com"),
            video_s=500,
        )
        eml7 = make_submission_eml(
            sorted(mail_dir.iterdir()),
            sender="apply7@example.com", sender_name="新洲示例园区 张三",
            subject="新洲示例园区运营有限公司-工业互联网试点示范申报材料",
            message_id="<sample07@mail.example.com>",
            date=datetime(2023, 11, 27, 10, 15, tzinfo=CST),
        )
        p7 = out / "07-新洲示例园区-邮件申报.eml"
        p7.write_bytes(eml7)
        written.append(p7)

        mail_dir8 = Path(tmp) / "mail8"
        make_form_docx(mail_dir8 / "申报书.docx", form(
            8, project_name="工业互联网新技术融合应用项目", applicant="蔡甸示例信息技术有限公司",
            category="新技术类", direction="5G+工业互联网", email="apply8@example.com"))
        make_scan_pdf(mail_dir8 / "申报书扫描件.pdf")
        eml8 = make_submission_eml(
            sorted(mail_dir8.iterdir()),
            sender="apply8@example.com", sender_name="蔡甸示例信息 李四",
            subject="申报材料（视频较大，已上传网盘）",
            body=("您好，视频文件较大，已上传百度网盘：\n"
                  "链接：https://pan.baidu.com/s/1ExampleOnly?pwd=abcd 提取码：abcd\n"
                  "--来自百度网盘超级会员V2的分享（有效期至2023年12月20日）"),
            message_id="<sample08@mail.example.com>",
            date=datetime(2023, 11, 28, 16, 40, tzinfo=CST),
        )
        p8 = out / "08-蔡甸示例信息-视频为网盘链接.eml"
        p8.write_bytes(eml8)
        written.append(p8)
    return written


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "examples" / "sample-input"
    if out.exists():
        shutil.rmtree(out)
    for p in make_examples(out):
        print(p.relative_to(out.parent) if p.is_relative_to(out.parent) else p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

