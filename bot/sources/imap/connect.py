"""Opening an IMAP session the way Chinese providers need it: TLS verified, login, then ``ID``.

imap-tools and imaplib errors are translated here, once: callers see ``ImapConnectionLost`` (retry
with backoff) or ``ImapLoginRefused`` (configuration or password problem; retry slowly).
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
from pathlib import Path

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError, MailboxLoginError

log = logging.getLogger("intake.imap")

# imaplib refuses commands it does not know in a given state; ID (RFC 2971) is valid in all.
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))

# What we tell the server in ID. NetEase 163/126/yeah.net refuse SELECT ("Unsafe Login") until a
# client has sent ID after LOGIN (reference/mail-in-china.md); the values are free-form.
CLIENT_ID = {"name": "dossier-intake", "version": "0.1.0", "vendor": "dossier-intake"}

SECURITY_MODES = ("ssl", "starttls", "plain")


class ImapError(Exception):
    """Any failure talking to the IMAP server."""


class ImapConnectionLost(ImapError):
    """The connection failed, timed out, or the server hung up: reconnect with backoff."""


class ImapLoginRefused(ImapError):
    """The server refused the credentials (or the ID/SELECT that follows login)."""


# Providers whose IMAP login takes a 授权码 (a client authorisation code made in the web mail's
# settings), never the account's login password.
AUTH_CODE_DOMAINS = ("163.com", "126.com", "yeah.net", "qq.com", "foxmail.com", "sina.com", "sohu.com")


def login_hint(host: str, password: str, oauth2_token: str | None = None) -> str:
    """``"; hint: …"`` naming the setting to fill after a refused login, or ``""``."""
    if oauth2_token:
        return ""
    if not password:
        return ("; hint: imap.password is empty: set INTAKE_IMAP__PASSWORD in the environment or "
                "the env file (for 163.com/126.com/QQ mail: the 授权码 from the web mail's settings)")
    if host.lower().rstrip(".").endswith(AUTH_CODE_DOMAINS):
        return (f"; hint: {host} takes the 授权码 (设置 → POP3/SMTP/IMAP → 授权码), not the login "
                "password, in INTAKE_IMAP__PASSWORD")
    return ""


TRANSIENT = (OSError, socket.timeout, ssl.SSLError, imaplib.IMAP4.abort, EOFError)


def id_arguments(values: dict[str, str]) -> str:
    """The ID command's parenthesised list: ``("name" "dossier-intake" ...)`` (RFC 2971 §3.3)."""

    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "(" + " ".join(f"{q(k)} {q(v)}" for k, v in values.items()) + ")"


def open_mailbox(
    *,
    host: str,
    port: int,
    security: str,
    username: str,
    password: str,
    oauth2_token: str | None = None,
    timeout_s: float = 60.0,
    ca_file: Path | None = None,
) -> BaseMailBox:
    """Connect, authenticate and send ``ID``; no folder is selected yet.

    ``security`` is ``"ssl"`` (implicit TLS, port 993), ``"starttls"`` or ``"plain"`` (loopback and
    tests only). TLS certificates are verified (imap-tools verifies nothing without a context),
    against ``ca_file`` when given. ``timeout_s`` bounds every socket read, so a dead peer is
    noticed. Uses XOAUTH2 when ``oauth2_token`` is set, else LOGIN (AUTHENTICATE PLAIN for a
    non-ASCII password). Raises ``ImapLoginRefused`` or ``ImapConnectionLost``.
    """
    if security not in SECURITY_MODES:
        raise ValueError(f"security must be one of {SECURITY_MODES}, not {security!r}")
    try:
        if security == "plain":
            mailbox: BaseMailBox = MailBoxUnencrypted(host, port, timeout=timeout_s)
        else:
            context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
            if security == "ssl":
                mailbox = MailBox(host, port, timeout=timeout_s, ssl_context=context)
            else:
                mailbox = MailBoxStartTls(host, port, timeout=timeout_s, ssl_context=context)
    except TRANSIENT as e:
        raise ImapConnectionLost(f"connect {host}:{port} ({security}): {e}") from e
    except ImapToolsError as e:
        raise ImapConnectionLost(f"connect {host}:{port} ({security}): {e}") from e
    try:
        # initial_folder=None: NetEase refuses SELECT before ID.
        if oauth2_token:
            mailbox.xoauth2(username, oauth2_token, initial_folder=None)
        elif password.isascii():
            mailbox.login(username, password, initial_folder=None)
        else:
            mailbox.login_utf8(username, password, initial_folder=None)
        _refresh_capabilities(mailbox)
        send_id(mailbox)
    except MailboxLoginError as e:
        close_quietly(mailbox)
        hint = login_hint(host, password, oauth2_token)
        raise ImapLoginRefused(f"login as {username} at {host}:{port} refused: {e}{hint}") from e
    except (imaplib.IMAP4.error, ImapToolsError) as e:
        close_quietly(mailbox)
        if isinstance(e, imaplib.IMAP4.abort):
            raise ImapConnectionLost(f"{host}:{port}: {e}") from e
        hint = login_hint(host, password, oauth2_token)
        raise ImapLoginRefused(f"login as {username} at {host}:{port}: {e}{hint}") from e
    except TRANSIENT as e:
        close_quietly(mailbox)
        raise ImapConnectionLost(f"{host}:{port}: {e}") from e
    log.info("connected to %s:%s as %s (%s)", host, port, username, security)
    return mailbox


def send_id(mailbox: BaseMailBox, values: dict[str, str] | None = None) -> None:
    """Send ``ID`` (RFC 2971); a server that does not know ID answers BAD, which is fine."""
    typ, data = mailbox.client._simple_command("ID", id_arguments(values or CLIENT_ID))  # noqa: SLF001
    if typ != "OK":
        log.debug("server answered ID with %s %r", typ, data)


def _refresh_capabilities(mailbox: BaseMailBox) -> None:
    """Capabilities change after login (IDLE, MOVE, UIDPLUS may appear only then)."""
    typ, data = mailbox.client.capability()
    if typ == "OK" and data and data[-1]:
        mailbox.client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())


def has_capability(mailbox: BaseMailBox, name: str) -> bool:
    """True when the server announced capability ``name`` (e.g. ``"IDLE"``, ``"MOVE"``)."""
    return name.upper() in mailbox.client.capabilities


def close_quietly(mailbox: BaseMailBox | None) -> None:
    """Close the socket without LOGOUT: for a connection already known to be dead or stuck."""
    if mailbox is None:
        return
    try:
        mailbox.client.shutdown()
    except Exception:  # noqa: BLE001 - the connection is being thrown away
        pass


def logout_politely(mailbox: BaseMailBox) -> None:
    """LOGOUT (bounded by the socket timeout), then close; never raises."""
    try:
        mailbox.client.logout()
    except Exception:  # noqa: BLE001 - shutting down anyway
        close_quietly(mailbox)
