"""The queue, the file transport and SMTP delivery against a real aiosmtpd server on loopback."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store.schema import migrate
from outbox.delivery import queue
from outbox.delivery.sender import Backoff, deliver_pending
from outbox.delivery.smtp import PermanentFailure, SmtpTransport, TemporaryFailure
from outbox.delivery.transport import FileTransport
from outbox.mail.compose import compose_receipt
from tests.outbox_builders import NOW, TRACKING, make_ctx, make_dossier
from tests.servers.smtp import SmtpTestServer, free_port, smtp_server  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
BACKOFF = Backoff(first_s=60, factor=2, max_s=600, give_up_after_s=3600)


def db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    migrate(conn)
    return conn


def receipt(to: str = "wangxm@example.com") -> object:
    return compose_receipt(make_ctx(), make_dossier(), [], TRACKING, to=to)


def plain(server: SmtpTestServer) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", server.port, security="plain", timeout_s=5)


def status(conn: sqlite3.Connection, out_id: int) -> tuple[str, str | None, int]:
    item = queue.get(conn, out_id)
    assert item is not None
    return item.status, item.failure, item.attempts


def test_enqueue_is_idempotent_on_dedupe_key() -> None:
    conn = db()
    first = queue.enqueue(
        conn, receipt(), kind="receipt", tracking=TRACKING, dedupe_key="receipt:x:v1", now=NOW
    )
    again = queue.enqueue(
        conn, receipt(), kind="receipt", tracking=TRACKING, dedupe_key="receipt:x:v1", now=NOW
    )
    other = queue.enqueue(
        conn, receipt(), kind="receipt", tracking=TRACKING, dedupe_key="receipt:x:v2", now=NOW
    )
    assert (first, again, other) == (1, 1, 2)
    assert [p.id for p in queue.pending(conn, NOW)] == [1, 2]
    assert queue.pending(conn, NOW)[0].rcpts == ["wangxm@example.com"]
    assert queue.pending(conn, NOW)[0].mail_from == "shenbao-intake@example.org"


def test_daily_cap_counts_per_recipient_and_day() -> None:
    conn = db()
    for i in range(3):
        queue.enqueue(
            conn,
            receipt("A@Example.com"),
            kind="receipt",
            tracking=TRACKING,
            dedupe_key=f"k{i}",
            now=NOW,
        )
    queue.enqueue(
        conn, receipt("b@example.com"), kind="receipt", tracking=TRACKING, dedupe_key="kb", now=NOW
    )
    queue.enqueue(
        conn,
        receipt("a@example.com"),
        kind="receipt",
        tracking=TRACKING,
        dedupe_key="k9",
        now=NOW + timedelta(days=1),
    )
    assert queue.sent_today(conn, "a@example.com", NOW.date()) == 3
    assert queue.sent_today(conn, "a@example.com", (NOW + timedelta(days=1)).date()) == 1
    assert queue.sent_today(conn, "b@example.com", NOW.date()) == 1


def test_file_transport_is_atomic_and_idempotent(tmp_path: Path) -> None:
    conn = db()
    queue.enqueue(conn, receipt(), kind="receipt", tracking=TRACKING, dedupe_key="r1", now=NOW)
    item = queue.pending(conn, NOW)[0]
    transport = FileTransport(tmp_path / "outbox")
    path = transport.send(item.raw, msg_id=item.message_id)
    again = transport.send(b"other bytes", msg_id=item.message_id)
    assert path == again and path.read_bytes() == item.raw
    assert path.name.startswith(f"{TRACKING}.") and path.suffix == ".eml"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    report = asyncio.run(deliver_pending(conn, transport, now=NOW))
    assert report.sent == [1] and status(conn, 1) == ("sent", None, 1)


def test_smtp_250_marks_sent_and_never_resends(smtp_server: SmtpTestServer) -> None:  # noqa: F811
    conn = db()
    queue.enqueue(conn, receipt(), kind="receipt", tracking=TRACKING, dedupe_key="r1", now=NOW)
    report = asyncio.run(deliver_pending(conn, plain(smtp_server), now=NOW))
    again = asyncio.run(deliver_pending(conn, plain(smtp_server), now=NOW + timedelta(hours=1)))
    assert (report.sent, again.sent) == ([1], [])
    assert [(m.mail_from, m.rcpts) for m in smtp_server.messages] == [
        ("shenbao-intake@example.org", ["wangxm@example.com"])
    ]
    assert smtp_server.messages[0].message["X-Intake-Tracking"] == TRACKING


def test_smtp_4xx_retries_with_backoff_then_recovers(smtp_server: SmtpTestServer) -> None:  # noqa: F811
    """GIVEN a server that answers 451 twice WHEN the sender runs at each retry time THEN it is
    delivered on the third attempt, exactly once, after waits of 60 s and 120 s."""
    conn = db()
    smtp_server.fail_next("451 4.3.0 Try again later", times=2)
    queue.enqueue(conn, receipt(), kind="receipt", tracking=TRACKING, dedupe_key="r1", now=NOW)
    r1 = asyncio.run(deliver_pending(conn, plain(smtp_server), now=NOW, backoff=BACKOFF))
    assert r1.retrying == [1] and "451" in r1.errors[1]
    assert (
        asyncio.run(deliver_pending(conn, plain(smtp_server), now=NOW + timedelta(seconds=59))).sent
        == []
    )
    r2 = asyncio.run(
        deliver_pending(conn, plain(smtp_server), now=NOW + timedelta(seconds=60), backoff=BACKOFF)
    )
    assert r2.retrying == [1]
    assert queue.pending(conn, NOW + timedelta(seconds=179)) == []
    r3 = asyncio.run(
        deliver_pending(conn, plain(smtp_server), now=NOW + timedelta(seconds=180), backoff=BACKOFF)
    )
    assert r3.sent == [1] and status(conn, 1) == ("sent", None, 3)
    assert len(smtp_server.messages) == 1


def test_smtp_5xx_is_recorded_as_permanent(smtp_server: SmtpTestServer) -> None:  # noqa: F811
    conn = db()
    smtp_server.fail_next("550 5.1.1 No such user", stage="rcpt")
    queue.enqueue(
        conn,
        receipt("gone@example.com"),
        kind="receipt",
        tracking=TRACKING,
        dedupe_key="r1",
        now=NOW,
    )
    queue.enqueue(
        conn, receipt("ok@example.com"), kind="receipt", tracking=TRACKING, dedupe_key="r2", now=NOW
    )
    report = asyncio.run(deliver_pending(conn, plain(smtp_server), now=NOW))
    assert (report.failed, report.sent) == ([1], [2])
    assert status(conn, 1) == ("failed", "perm", 1)
    assert [f.id for f in queue.failures(conn)] == [1] and "550" in (
        queue.failures(conn)[0].last_error or ""
    )
    assert [m.rcpts for m in smtp_server.messages] == [["ok@example.com"]]
    assert queue.sent_today(conn, "gone@example.com", NOW.date()) == 0


def test_server_down_then_back_delivers_each_exactly_once() -> None:
    """GIVEN three replies queued while the SMTP server is down
    WHEN the sender runs during the outage and again after the server is back
    THEN each reply reaches the server exactly once, and nothing is resent afterwards."""
    server = SmtpTestServer(port=free_port())
    conn = db()
    for i in range(3):
        queue.enqueue(
            conn,
            receipt(f"u{i}@example.com"),
            kind="receipt",
            tracking=TRACKING,
            dedupe_key=f"r{i}",
            now=NOW,
        )
    down = asyncio.run(deliver_pending(conn, plain(server), now=NOW, backoff=BACKOFF))
    assert down.retrying == [1, 2, 3] and down.sent == []
    server.start()
    try:
        later = NOW + timedelta(seconds=60)
        up = asyncio.run(deliver_pending(conn, plain(server), now=later, backoff=BACKOFF))
        after = asyncio.run(
            deliver_pending(conn, plain(server), now=later + timedelta(hours=1), backoff=BACKOFF)
        )
        assert (up.sent, after.sent) == ([1, 2, 3], [])
        assert sorted(m.rcpts[0] for m in server.messages) == [
            "u0@example.com",
            "u1@example.com",
            "u2@example.com",
        ]
    finally:
        server.stop()


def test_outage_longer_than_give_up_period_expires() -> None:
    conn = db()
    queue.enqueue(conn, receipt(), kind="receipt", tracking=TRACKING, dedupe_key="r1", now=NOW)
    closed = SmtpTransport("127.0.0.1", free_port(), security="plain", timeout_s=2)
    report = asyncio.run(
        deliver_pending(conn, closed, now=NOW + timedelta(seconds=3600), backoff=BACKOFF)
    )
    assert report.expired == [1] and status(conn, 1) == ("failed", "expired", 1)


def test_error_translation() -> None:
    async def send(transport: SmtpTransport) -> None:
        await transport.send(b"Subject: x\r\n\r\nx\r\n", "a@example.org", ["b@example.com"])

    with pytest.raises(TemporaryFailure) as exc:
        asyncio.run(send(SmtpTransport("127.0.0.1", free_port(), security="plain", timeout_s=2)))
    assert exc.value.code == 0
    server = SmtpTestServer().start()
    try:
        server.fail_next("554 5.7.1 Rejected as spam")
        with pytest.raises(PermanentFailure) as perm:
            asyncio.run(send(plain(server)))
        assert perm.value.code == 554
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(d / "key.pem"),
            "-out",
            str(d / "cert.pem"),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return d / "cert.pem", d / "key.pem"


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_and_auth(cert: tuple[Path, Path], security: str) -> None:
    import ssl

    server = SmtpTestServer(
        users={"bot": "s3cret"}, tls=cert, implicit_tls=security == "ssl"
    ).start()
    try:
        ctx = ssl.create_default_context(cafile=str(cert[0]))
        good = SmtpTransport(
            "127.0.0.1",
            server.port,
            security=security,
            username="bot",
            password="s3cret",
            timeout_s=5,
            tls_context=ctx,
        )  # type: ignore[arg-type]
        answer = asyncio.run(
            good.send(b"Subject: t\r\n\r\nbody\r\n", "a@example.org", ["b@example.com"])
        )
        assert answer.startswith("2.0.0") or "OK" in answer
        bad = SmtpTransport(
            "127.0.0.1",
            server.port,
            security=security,
            username="bot",
            password="wrong",
            timeout_s=5,
            tls_context=ctx,
        )  # type: ignore[arg-type]
        with pytest.raises(TemporaryFailure, match="authentication failed"):
            asyncio.run(bad.send(b"Subject: t\r\n\r\nbody\r\n", "a@example.org", ["b@example.com"]))
        untrusted = SmtpTransport("127.0.0.1", server.port, security=security, timeout_s=5)  # type: ignore[arg-type]
        with pytest.raises(TemporaryFailure):
            asyncio.run(
                untrusted.send(b"Subject: t\r\n\r\nbody\r\n", "a@example.org", ["b@example.com"])
            )
        assert len(server.messages) == 1 and server.auth_attempts[:2] == ["bot", "bot"]
    finally:
        server.stop()
