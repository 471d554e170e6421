"""A refused login says which setting to fill (issue 17, item 8)."""

from __future__ import annotations

import pytest

from bot.sources.imap.connect import ImapLoginRefused, login_hint, open_mailbox
from tests.servers.dovecot import Dovecot, dovecot, imap_user  # noqa: F401


def test_an_empty_password_names_the_environment_variable(dovecot: Dovecot, imap_user) -> None:  # noqa: F811
    """GIVEN a real Dovecot and an account configured without a password
    WHEN the bot logs in
    THEN the error names INTAKE_IMAP__PASSWORD and the 授权码."""
    with pytest.raises(ImapLoginRefused) as exc:
        open_mailbox(host=dovecot.host, port=dovecot.port, security="plain", username=imap_user[0],
                     password="", timeout_s=10)
    assert "INTAKE_IMAP__PASSWORD" in str(exc.value) and "授权码" in str(exc.value)


def test_netease_hosts_are_told_about_the_authorisation_code() -> None:
    assert "授权码" in login_hint("imap.163.com", "wrong")
    assert login_hint("imap.example.org", "wrong") == ""
    assert login_hint("imap.163.com", "", oauth2_token="t") == ""
