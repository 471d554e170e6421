"""A throw-away Dovecot IMAP server on loopback for the tests (``reference/test-servers.md``).

One instance per test session: its own config (``dovecot -F -c CONF``, nothing else is read),
plaintext auth on loopback, users from a passwd-file (uid nobody), Maildir storage. Each test takes
a fresh user from a pre-created pool (Dovecot re-reads the passwd file at most once a second).
Skipped with the reason when Dovecot is missing, but failed when ``CI=true``.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
LDA = "/usr/lib/dovecot/dovecot-lda"
POOL = 40  # users created before start: one per test that wants its own mailbox

CONFIG = """\
instance_name = test-{tag}
base_dir = {d}/run
state_dir = {d}/state
protocols = imap
listen = 127.0.0.1
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
imap_id_log = *
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
  default_fields = uid=nobody gid=nogroup home={d}/mail/%u
}}
mail_location = maildir:~/Maildir
postmaster_address = postmaster@example.test
protocol imap {{
  mail_max_userip_connections = 100
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _missing(reason: str) -> None:
    """Skip outside CI; in CI a missing server is a failure (issue 5, "Real servers in tests")."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class Dovecot:
    """A running test instance: ``host``/``port`` for plain IMAP, ``dir`` with its config and log."""

    dir: Path
    conf: Path
    port: int
    proc: subprocess.Popen[bytes]
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self._pool = itertools.count(1)

    # -- users ---------------------------------------------------------------------------------

    def new_user(self) -> tuple[str, str]:
        """A fresh (username, password) with an empty mailbox, from the pre-created pool."""
        n = next(self._pool)
        if n > POOL:
            raise RuntimeError(f"the Dovecot fixture's pool of {POOL} users is used up")
        return f"user{n:02d}", f"pw{n:02d}"

    def add_user(self, name: str, password: str, *, wait_s: float = 5.0) -> None:
        """Add a user after start; waits (≤ ``wait_s`` seconds) until Dovecot accepts the login."""
        with (self.dir / "passwd").open("a") as f:
            f.write(f"{name}:{{PLAIN}}{password}::::::\n")
        deadline = time.monotonic() + wait_s
        while True:
            try:
                with MailBoxUnencrypted(self.host, self.port, timeout=5).login(
                    name, password, None
                ):
                    return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    # -- mail ----------------------------------------------------------------------------------

    def deliver(
        self,
        user: str,
        raw: bytes,
        *,
        sender: str = "applicant@example.com",
        folder: str | None = None,
    ) -> None:
        """Deliver as a real MTA would, through ``dovecot-lda`` (wakes IDLE clients)."""
        cmd = [LDA, "-c", str(self.conf), "-d", user, "-f", sender]
        if folder:
            cmd += ["-m", folder]
        subprocess.run(cmd, input=raw, check=True, capture_output=True, timeout=30)

    def append(
        self,
        user: str,
        password: str,
        raw: bytes,
        *,
        folder: str = "INBOX",
        flags: tuple[str, ...] = (),
    ) -> None:
        """IMAP APPEND into ``folder`` (created when missing)."""
        with MailBoxUnencrypted(self.host, self.port, timeout=10).login(user, password, None) as mb:
            if not mb.folder.exists(folder):
                mb.folder.create(folder)
            mb.append(raw, folder, flag_set=list(flags) or None)

    def doveadm(self, *args: str) -> str:
        """Run ``doveadm -c CONF ARGS`` and return its stdout (raises on failure)."""
        out = subprocess.run(
            [DOVEADM, "-c", str(self.conf), *args], check=True, capture_output=True, timeout=30
        )
        return out.stdout.decode("utf-8", "replace")

    def renumber(self, user: str, password: str, folder: str = "INBOX") -> tuple[int, int]:
        """Recreate ``folder`` with the same messages under a new UIDVALIDITY (a server migration).

        Reads every message's exact bytes over IMAP, expunges them all, raises UIDVALIDITY and
        appends the same bytes again (so every message gets a new UID). Returns (old, new).
        """
        old = self.uidvalidity(user, folder)
        with MailBoxUnencrypted(self.host, self.port, timeout=10).login(
            user, password, folder
        ) as mb:
            raws = [
                data[0][1]
                for uid in mb.uids("ALL", charset=None)
                if (data := mb.client.uid("FETCH", uid, "(BODY.PEEK[])")[1])
                and isinstance(data[0], tuple)
            ]
        self.doveadm("expunge", "-u", user, "mailbox", folder, "all")
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(old + 1000), folder)
        with MailBoxUnencrypted(self.host, self.port, timeout=10).login(user, password, None) as mb:
            for raw in raws:
                mb.append(raw, folder)
        return old, self.uidvalidity(user, folder)

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        out = self.doveadm("-f", "flow", "mailbox", "status", "-u", user, "uidvalidity", folder)
        return int(out.split("=")[1])

    def log(self) -> str:
        """Everything Dovecot has logged so far."""
        path = self.dir / "dovecot.log"
        return path.read_text("utf-8", "replace") if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM the whole process group: a plain SIGTERM leaves ``imap`` processes serving."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def start_dovecot(extra_config: str = "") -> Dovecot:
    """Start an instance in a short 0755 temp folder; raises RuntimeError when it does not come up.

    ``extra_config`` is appended to the config (e.g. ``imap_capability = …`` to play a server
    without IDLE or MOVE). Raises FileNotFoundError when Dovecot is not installed.
    """
    if not Path(DOVECOT).exists() or not Path(LDA).exists():
        raise FileNotFoundError("dovecot (Debian package dovecot-imapd) is not installed")
    d = Path(tempfile.mkdtemp(prefix="dc"))
    d.chmod(0o755)
    nobody = pwd.getpwnam("nobody")
    (d / "mail").mkdir()
    os.chown(d / "mail", nobody.pw_uid, nobody.pw_gid)
    passwd = d / "passwd"
    passwd.write_text(
        "".join(f"user{n:02d}:{{PLAIN}}pw{n:02d}::::::\n" for n in range(1, POOL + 1))
    )
    passwd.chmod(0o644)
    port = _free_port()
    conf = d / "dovecot.conf"
    conf.write_text(CONFIG.format(d=d, port=port, tag=d.name) + extra_config + "\n")
    proc = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(conf)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=(d / "stderr.log").open("wb"),
    )
    server = Dovecot(dir=d, conf=conf, port=port, proc=proc)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(64).startswith(b"* OK"):
                    return server
        except OSError:
            time.sleep(0.05)
    err = (d / "stderr.log").read_text("utf-8", "replace") + server.log()
    server.stop()
    raise RuntimeError(f"dovecot did not start: {err[-2000:]}")


def running_dovecot(extra_config: str = "") -> Iterator[Dovecot]:
    """Generator for fixtures: start, yield, stop and remove (skips or fails when absent)."""
    try:
        server = start_dovecot(extra_config)
    except FileNotFoundError as e:
        _missing(str(e))
        raise  # unreachable: _missing skips or fails
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A running Dovecot for the session; skipped (or failed when ``CI=true``) when absent."""
    yield from running_dovecot()


@pytest.fixture(scope="session")
def dovecot_plain_imap4() -> Iterator[Dovecot]:
    """A second Dovecot announcing neither IDLE nor MOVE: polling and COPY+EXPUNGE paths."""
    yield from running_dovecot("imap_capability = IMAP4rev1 LITERAL+ UIDPLUS ID")


@pytest.fixture(scope="session")
def dovecot_tls() -> Iterator[tuple[Dovecot, Path]]:
    """A Dovecot offering STARTTLS with a self-signed EC P-256 certificate for 127.0.0.1.

    Yields (server, path of the certificate to trust as a CA file).
    """
    if shutil.which("openssl") is None:
        _missing("openssl is not installed")
    certs = Path(tempfile.mkdtemp(prefix="dccert"))
    certs.chmod(0o755)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(certs / "key.pem"), "-out", str(certs / "cert.pem"), "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    (certs / "key.pem").chmod(0o644)
    extra = f"ssl = yes\nssl_cert = <{certs}/cert.pem\nssl_key = <{certs}/key.pem"
    try:
        for server in running_dovecot(extra):
            yield server, certs / "cert.pem"
    finally:
        shutil.rmtree(certs, ignore_errors=True)


@pytest.fixture
def imap_user(dovecot: Dovecot) -> tuple[str, str]:
    """A fresh (username, password) with an empty mailbox on the session's Dovecot."""
    return dovecot.new_user()
