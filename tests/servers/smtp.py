"""A real SMTP server on loopback for tests (aiosmtpd): captures mail, fails on demand, can go down.

Use the ``smtp_server`` fixture (plain, no auth) or build your own ``SmtpTestServer(...)``:

- ``server.messages``: every accepted message (:class:`Captured`: envelope sender, recipients,
  exact bytes, parsed ``email.message.EmailMessage``);
- ``server.fail_next("451 4.3.0 try later", times=2, stage="data")``: answer the next ``times``
  MAIL/RCPT/DATA commands with that line instead of accepting;
- ``server.stop()`` / ``server.start()``: an outage (same port again after the restart);
- ``users={"bot": "pw"}``: AUTH PLAIN/LOGIN required with these passwords (allowed without TLS,
  loopback only); ``tls=(cert.pem, key.pem)`` with ``implicit_tls=False`` offers and requires
  STARTTLS, with ``implicit_tls=True`` speaks TLS from the first byte (port 465 style);
- ``on_message``: a callable ``(Captured) -> str | None`` run before accepting (e.g. piping to
  dovecot-lda); a returned status line (``"451 …"``) is answered instead of ``250``.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Captured:
    """One message the server accepted."""

    mail_from: str
    rcpts: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=email_policy.default)  # type: ignore[return-value]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Handler:
    def __init__(self, server: SmtpTestServer) -> None:
        self.server = server

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: ANN001
        if (line := self.server._take_failure("mail")) is not None:
            return line
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001
        if (line := self.server._take_failure("rcpt")) is not None:
            return line
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        if (line := self.server._take_failure("data")) is not None:
            return line
        captured = Captured(
            envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content)
        )
        if self.server.on_message is not None and (line := self.server.on_message(captured)):
            return line
        with self.server._lock:
            self.server.messages.append(captured)
        return "250 2.0.0 OK queued"


class SmtpTestServer:
    """An aiosmtpd ``Controller`` on ``127.0.0.1:<port>`` in its own thread (see module docstring)."""

    def __init__(
        self,
        *,
        port: int | None = None,
        users: dict[str, str] | None = None,
        tls: tuple[Path, Path] | None = None,
        implicit_tls: bool = False,
        on_message: Callable[[Captured], str | None] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.users = users
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.on_message = on_message
        self.messages: list[Captured] = []
        self.auth_attempts: list[str] = []
        self._failures: deque[tuple[str, str]] = deque()
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def fail_next(self, line: str, *, times: int = 1, stage: str = "data") -> None:
        """Answer the next ``times`` commands of ``stage`` (``mail``|``rcpt``|``data``) with ``line``."""
        with self._lock:
            self._failures.extend([(stage, line)] * times)

    def _take_failure(self, stage: str) -> str | None:
        with self._lock:
            if self._failures and self._failures[0][0] == stage:
                return self._failures.popleft()[1]
        return None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        self.auth_attempts.append(user)
        ok = self.users is not None and self.users.get(user) == auth_data.password.decode(
            "utf-8", "replace"
        )
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self.tls is None:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
        return ctx

    def start(self) -> SmtpTestServer:
        """Start listening (again, on the same port). Returns ``self``."""
        if self._controller is not None:
            return self
        kwargs: dict[str, object] = {}
        if self.users is not None:
            # implicit TLS is not "TLS" to aiosmtpd's auth_require_tls check (only STARTTLS is)
            starttls = self.tls is not None and not self.implicit_tls
            kwargs.update(
                authenticator=self._authenticate, auth_required=True, auth_require_tls=starttls
            )
        ctx = self._ssl_context()
        if ctx is not None and self.implicit_tls:
            kwargs["ssl_context"] = ctx
        elif ctx is not None:
            kwargs.update(tls_context=ctx, require_starttls=True)
        controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            ready_timeout=5.0,
            **kwargs,
        )
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening: new connections are refused until :meth:`start`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A plain SMTP server without auth on a free loopback port, stopped after the test."""
    server = SmtpTestServer().start()
    try:
        yield server
    finally:
        server.stop()
