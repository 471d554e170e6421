"""Resubmissions find their dossier (one finder: bot/processing/threading_rules.thread_key) from
the subject tag, the Message-IDs of ours they cite, or the sender and project name."""

from __future__ import annotations

import pytest

from bot.processing.threading_rules import thread_claim, thread_key
from bot.store.database import Store
from outbox.delivery import queue
from outbox.mail.compose import compose_defect_notice
from outbox.mail.headers import to_bytes
from outbox.mail.threads import has_reply_prefix, strip_reply_prefixes
from parsers.facts import DossierFacts
from parsers.mime import parse_message
from tests.outbox_builders import NOW, TRACKING, make_ctx, make_dossier, video_finding

PROJECT = "基于工业互联网平台的智能工厂建设项目"


@pytest.fixture
def store(tmp_path):
    """A real store holding dossier TRACKING and our defect notice about it (queued)."""
    s = Store.open(tmp_path / "s.sqlite3", tmp_path / "archive")
    input_id = s.accept_mail(b"From: <wangxm@example.com>\r\n\r\nx\r\n", account="a", folder="INBOX",
                             uidvalidity=1, uid=1, received_at=NOW)
    with s.transaction():
        s.save_version(int(input_id), 0, TRACKING, make_dossier(), [video_finding()], "defective", NOW)
    notice = compose_defect_notice(make_ctx(), make_dossier(), [video_finding()], TRACKING,
                                   to="wangxm@example.com", message_id="<IIP2023-420100-0017-8.abc@intake.example.org>")
    queue.enqueue(s.conn, notice, kind="defect_notice", tracking=TRACKING, dedupe_key="d:1", now=NOW)
    yield s
    s.close()


def reply(subject: str, extra: str = "", sender: str = "wangxm@example.com") -> DossierFacts:
    raw = (f"From: <{sender}>\r\nTo: <shenbao-intake@example.org>\r\nSubject: {subject}\r\n{extra}"
           f"Message-ID: <r1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n新视频见附件\r\n")
    return DossierFacts(source="mail:<r1@example.com>", mail=parse_message(raw.encode()),
                        project_name="另一个项目")


@pytest.mark.parametrize(
    "prefix", ["Re: ", "RE: ", "回复：", "答复：", "转发：", "Fwd: ", "回复: RE: ", "RE[2]: "]
)
def test_reply_to_our_notice_finds_the_dossier_by_its_tag(store, prefix: str) -> None:
    """GIVEN our defect notice WHEN the clerk replies with any prefix THEN the tag leads to the dossier."""
    notice = parse_message(to_bytes(compose_defect_notice(
        make_ctx(), make_dossier(), [video_finding()], TRACKING, to="a@example.com")))
    facts = reply(f"{prefix}{notice.subject}")
    assert has_reply_prefix(facts.mail.subject)
    assert strip_reply_prefixes(facts.mail.subject) == f"【补正通知】{PROJECT} [{TRACKING}]"
    assert thread_key(facts, store) == TRACKING
    # The same tag from a stranger is a claim, never honoured (bot/store/trust.py).
    stranger = reply(f"{prefix}{notice.subject}", sender="someone@example.net")
    claim = thread_claim(stranger, store)
    assert claim is not None and claim.tracking == TRACKING and not claim.honoured
    assert thread_key(stranger, store) is None


def test_subject_without_tag_falls_back_to_the_message_ids_it_cites(store) -> None:
    cites = ("In-Reply-To: <IIP2023-420100-0017-8.abc@intake.example.org>\r\n"
             "References: <x@example.com> <IIP2023-420100-0017-8.abc@intake.example.org>\r\n")
    assert thread_key(reply("补正材料", cites), store) == TRACKING
    assert thread_key(reply("补正材料", cites, sender="someone@example.net"), store) is None
    assert thread_key(reply("补正材料", "References: <x@example.com>\r\n"), store) is None
    assert thread_key(reply("补正材料"), store) is None


def test_same_sender_and_project_continue_the_dossier(store) -> None:
    facts = reply("补正材料", sender="wangxm@example.com")
    facts.project_name = PROJECT
    assert thread_key(facts, store) == TRACKING
    assert not has_reply_prefix("【补正通知】x")
