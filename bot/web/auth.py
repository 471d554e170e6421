"""Who is asking: officers' passwords (argon2id), the session, the proxy's user header, CSRF.

Passwords: ``intake web passwd NAME`` stores an argon2id hash (argon2-cffi, RFC 9106 defaults) in
``<data_dir>/web/passwords.json`` (0600, ``{officer name: hash}``); ``--print`` prints the hash for
``password_hash`` of the officer's ``[[office.officers]]`` entry instead. The stored hash wins
over the configured one. The session is Starlette's signed cookie (HttpOnly, SameSite=Strict,
Secure when ``[web] secure_cookie``); its key is ``<data_dir>/web/secret`` (made on first start).
It holds the officer's name, re-checked against the configuration on every request, so removing
an officer from the config ends their sessions.

CSRF: every form carries the session's random token (``csrf``), compared in constant time on
every POST; SameSite=Strict keeps the cookie off cross-site requests as a second guard.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import secrets
import threading
import time
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request

from bot.config.model import Officer, Settings

log = logging.getLogger("intake.web")

_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password")
MIN_PASSWORD_CHARS = 8


MAX_FAILURES = 10  # wrong passwords per login name within FAILURE_WINDOW_S before a pause
FAILURE_WINDOW_S = 15 * 60


class LoginThrottle:
    """Refuses a login name for ``FAILURE_WINDOW_S`` seconds after ``MAX_FAILURES`` wrong
    passwords within that window (in memory: a restart forgets), so a password cannot be guessed
    at the speed of the network."""

    def __init__(self) -> None:
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(key, []) if now - t < FAILURE_WINDOW_S]
        self._failures[key] = kept
        return kept

    def blocked(self, name: str) -> bool:
        with self._lock:
            return len(self._recent(name.strip().lower(), time.monotonic())) >= MAX_FAILURES

    def failed(self, name: str) -> None:
        with self._lock:
            self._recent(name.strip().lower(), time.monotonic()).append(time.monotonic())

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name.strip().lower(), None)


class AuthError(Exception):
    """A password cannot be set (unknown officer, too short); the message says which."""


def web_dir(settings: Settings) -> Path:
    """``<data_dir>/web``: the session key and the password file (owner-only)."""
    path = settings.store.data_dir / "web"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def password_file(settings: Settings) -> Path:
    return web_dir(settings) / "passwords.json"


def session_secret(settings: Settings) -> str:
    """The key that signs session cookies: read from ``<data_dir>/web/secret``, made (0600) when absent."""
    path = web_dir(settings) / "secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def find_officer(settings: Settings, who: str | None) -> Officer | None:
    """The configured officer whose name or email is ``who`` (email case-insensitive)."""
    who = (who or "").strip()
    if not who:
        return None
    for o in settings.office.officers:
        if who == o.name or who.lower() == o.email.strip().lower():
            return o
    return None


def _stored_hashes(settings: Settings) -> dict[str, str]:
    path = password_file(settings)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.error("%s is unreadable: stored web passwords ignored", path)
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``. Raises AuthError when it is shorter than 8 characters."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise AuthError(f"password too short: at least {MIN_PASSWORD_CHARS} characters")
    return _hasher.hash(password)


def set_password(settings: Settings, name: str, password: str) -> Path:
    """Store ``name``'s password hash in the password file (atomically, 0600); returns the file.

    Raises AuthError for an officer not in ``[office] officers`` or a too-short password.
    """
    officer = find_officer(settings, name)
    if officer is None:
        raise AuthError(f"no officer named {name!r} in [office] officers")
    hashes = _stored_hashes(settings)
    hashes[officer.name] = hash_password(password)
    path = password_file(settings)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(hashes, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def check_password(settings: Settings, name: str, password: str) -> Officer | None:
    """The officer when ``name`` (name or email) and ``password`` match, else None."""
    officer = find_officer(settings, name)
    stored = _stored_hashes(settings).get(officer.name, "") if officer else ""
    hashed = stored or (officer.password_hash if officer else "")
    try:
        ok = _hasher.verify(hashed or _DUMMY_HASH, password or "") and bool(hashed)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        log.warning("web login refused for %r", name[:64])
        return None
    return officer


def _from_trusted_proxy(settings: Settings, request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    for item in settings.web.user_header_from:
        try:
            if addr in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


def current_officer(settings: Settings, request: Request) -> Officer | None:
    """The logged-in officer: from the proxy's header (``[web] user_header``, trusted addresses
    only), else from the session; None when nobody is logged in."""
    header = settings.web.user_header
    if header and _from_trusted_proxy(settings, request):
        named = request.headers.get(header)
        if named:
            return find_officer(settings, named)
    return find_officer(settings, request.session.get("officer"))


def log_in(request: Request, officer: Officer) -> None:
    """Start a fresh session for ``officer`` (a new CSRF token; nothing of the old session kept)."""
    request.session.clear()
    request.session["officer"] = officer.name
    request.session["csrf"] = secrets.token_urlsafe(32)


def log_out(request: Request) -> None:
    request.session.clear()


def csrf_token(request: Request) -> str:
    """This session's CSRF token (made when absent)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """True when the form's token equals the session's (constant-time)."""
    expected = request.session.get("csrf") or ""
    return bool(expected) and hmac.compare_digest(expected, submitted or "")
