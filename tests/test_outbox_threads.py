"""Resubmissions find their dossier from the subject tag or the Message-IDs they cite."""

from __future__ import annotations

import pytest

from outbox.mail.compose import compose_defect_notice
from outbox.mail.headers import to_bytes
from outbox.mail.threads import strip_reply_prefixes, thread_tracking
from parsers.mime import parse_message
from tests.outbox_builders import TRACKING, make_ctx, make_dossier, video_finding


@pytest.mark.parametrize(
    "prefix", ["Re: ", "RE: ", "回复：", "答复：", "转发：", "Fwd: ", "回复: RE: "]
)
def test_reply_to_our_notice_finds_the_tracking_number(prefix: str) -> None:
    """GIVEN our defect notice WHEN the clerk replies with any prefix THEN the tag leads to the dossier."""
    notice = parse_message(
        to_bytes(
            compose_defect_notice(
                make_ctx(), make_dossier(), [video_finding()], TRACKING, to="a@example.com"
            )
        )
    )
    reply = (
        f"From: <wangxm@example.com>\r\nTo: <shenbao-intake@example.org>\r\nSubject: {prefix}{notice.subject}\r\n"
        f"Message-ID: <r1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n新视频见附件\r\n"
    ).encode()
    facts = parse_message(reply)
    assert thread_tracking(facts, lambda _id: None) == TRACKING
    assert (
        strip_reply_prefixes(facts.subject)
        == f"【补正通知】基于工业互联网平台的智能工厂建设项目 [{TRACKING}]"
    )


def test_subject_without_tag_falls_back_to_in_reply_to() -> None:
    raw = (
        b"From: <wangxm@example.com>\r\nSubject: =?utf-8?B?6KGl5q2j5p2Q5paZ?=\r\n"
        b"In-Reply-To: <IIP2023-420100-0017-8.abcdef@intake.example.org>\r\n"
        b"References: <x@example.com> <IIP2023-420100-0017-8.abcdef@intake.example.org>\r\n\r\nbody\r\n"
    )
    facts = parse_message(raw)
    assert thread_tracking(facts, {"<x@example.com>": "IIP2023-420100-0003-0"}.get) == TRACKING
    assert thread_tracking(facts, lambda _id: None) == TRACKING
    facts.in_reply_to, facts.references = None, ["<x@example.com>"]
    assert (
        thread_tracking(facts, {"<x@example.com>": "IIP2023-420100-0003-0"}.get)
        == "IIP2023-420100-0003-0"
    )
    assert thread_tracking(facts, lambda _id: None) is None
