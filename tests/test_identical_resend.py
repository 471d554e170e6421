"""An identical mail sent again (issue 17, item 17): the new version's reply says nothing changed."""

from __future__ import annotations

import email
from email import policy

from bot.daemon import Intake
from tests.conftest import SAMPLES, make_settings

MAIL = SAMPLES / "07-新洲示例园区-邮件申报.eml"


def _bodies(folder) -> list[str]:
    msgs = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in folder.glob("*.eml")]
    return [m.get_body(("plain",)).get_content() for m in msgs]


def test_the_same_files_again_are_version_2_said_to_be_unchanged(tmp_path):
    """GIVEN a mailed dossier, then the same mail again (new Message-ID and Date, same files)
    WHEN both are processed
    THEN the second reply is 第 2 版 and says it is the same as 第 1 版; the first says nothing."""
    settings = make_settings(tmp_path)
    drop = settings.drop.folders[0]
    raw = MAIL.read_bytes()
    (drop / "first.eml").write_bytes(raw)
    intake = Intake(settings)
    try:
        intake.run_once()
        (first,) = _bodies(settings.outbox.folder)
        again = raw.replace(b"<sample07@mail.example.com>", b"<sample07-again@mail.example.com>")
        again = again.replace(b"Date: Mon, 27 Nov 2023 10:15:00", b"Date: Mon, 27 Nov 2023 11:15:00")
        (drop / "again.eml").write_bytes(again)
        intake.run_once()
        (d,) = intake.store.dossiers()
        assert d.current_version == 2
    finally:
        intake.close()
    (second,) = [b for b in _bodies(settings.outbox.folder) if b != first]
    assert "未作改动" not in first
    assert "第 2 版（与第 1 版相同，未作改动）" in second
