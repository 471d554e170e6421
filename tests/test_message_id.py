"""One Message-ID reader: the IMAP watcher, the store and the MIME parser agree, folded or not."""

from __future__ import annotations

import pytest

from parsers.message_id import message_id_of, normalise_message_id
from parsers.mime import parse_message

HEADERS = {
    "plain": b"Message-ID: <a.b@example.com>\r\n",
    "folded after the colon": b"Message-ID:\r\n <a.b@example.com>\r\n",
    "folded inside the brackets": b"Message-ID: <a.b\r\n @example.com>\r\n",
    "folded twice, tab, lower case": b"message-id:\r\n\t<a.b\r\n\t@example.com>\r\n",
    "bare LF, trailing comment": b"Message-ID: <a.b@example.com>\n (sent by x)\n",
}


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_every_reader_gives_the_same_id(name: str) -> None:
    eol = b"\n" if b"\r\n" not in HEADERS[name] else b"\r\n"
    raw = (b"From: <a@example.com>" + eol + HEADERS[name] + b"Subject: x" + eol + eol + b"body" + eol)
    assert message_id_of(raw) == "<a.b@example.com>"  # the store and the IMAP watcher
    assert parse_message(raw).message_id == "<a.b@example.com>"  # the MIME parser


def test_no_message_id():
    assert message_id_of(b"From: <a@example.com>\r\n\r\nMessage-ID: <in@body>\r\n") is None
    assert normalise_message_id("  ") is None
    assert normalise_message_id("<>") is None
    assert normalise_message_id(" id-without-brackets ") == "id-without-brackets"
