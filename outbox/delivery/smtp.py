"""The SMTP transport (aiosmtplib): SSL, STARTTLS or plain on loopback, with optional AUTH.

aiosmtplib's errors are translated here, once: 4xx answers and connection problems become
:class:`TemporaryFailure` (retry later), 5xx answers :class:`PermanentFailure` (RFC 5321 §4.2.1).
An authentication failure (535) is temporary for us: it is a configuration problem of our own
account, and the replies must wait for the fix rather than be dropped.
"""

from __future__ import annotations

import logging
import ssl
from typing import Literal

import aiosmtplib

from outbox.errors import OutboxError

log = logging.getLogger("intake.smtp")

Security = Literal["ssl", "starttls", "plain"]


class DeliveryFailure(OutboxError):
    """A message was not accepted; ``code`` is the SMTP reply code (0 without one)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class TemporaryFailure(DeliveryFailure):
    """Try again later: a 4xx answer, a refused or dropped connection, a timeout, a TLS problem."""


class PermanentFailure(DeliveryFailure):
    """Do not retry: a 5xx answer to the sender, a recipient or the data."""


class SmtpTransport:
    """Sends raw messages to one SMTP server.

    ``security``: ``ssl`` (implicit TLS, port 465), ``starttls`` (587, upgrade required) or
    ``plain`` (loopback only). ``timeout_s`` bounds each network step, seconds. ``tls_context``
    overrides certificate checks (e.g. a test CA); certificates are verified by default.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 60.0,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if security not in ("ssl", "starttls", "plain"):
            raise ValueError(f"security must be ssl, starttls or plain, not {security!r}")
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.timeout_s = timeout_s
        self.tls_context = tls_context
        self.local_hostname = local_hostname

    async def send(self, raw: bytes, mail_from: str, rcpts: list[str]) -> str:
        """Send ``raw`` to ``rcpts``; return the server's final answer (``"250 …"``).

        Raises :class:`TemporaryFailure` or :class:`PermanentFailure`. When only some recipients
        are refused the message counts as sent to the others (the refusals are logged).
        """
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout_s,
            use_tls=self.security == "ssl",
            start_tls=True if self.security == "starttls" else False,
            tls_context=self.tls_context,
            local_hostname=self.local_hostname,
        )
        try:
            await client.connect()
            if self.username:
                await client.login(self.username, self.password or "")
            refused, answer = await client.sendmail(mail_from, rcpts, raw)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [e.code for e in exc.recipients]
            text = "; ".join(f"{e.recipient}: {e.code} {e.message}" for e in exc.recipients)
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentFailure(f"all recipients refused: {text}", codes[0]) from exc
            raise TemporaryFailure(f"recipients refused: {text}", codes[0] if codes else 0) from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise TemporaryFailure(
                f"authentication failed: {exc.code} {exc.message}", exc.code
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            cls = PermanentFailure if 500 <= exc.code < 600 else TemporaryFailure
            raise cls(f"{exc.code} {exc.message}", exc.code) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ssl.SSLError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
        for rcpt, (code, message) in refused.items():
            log.warning("recipient %s refused: %s %s", rcpt, code, message)
        return str(answer)

    async def deliver(self, raw: bytes, *, mail_from: str, rcpts: list[str], msg_id: str) -> str:
        """The sender's common interface (see ``outbox.delivery.sender``)."""
        answer = await self.send(raw, mail_from, rcpts)
        log.info("sent %s to %s: %s", msg_id, ",".join(rcpts), answer)
        return answer
