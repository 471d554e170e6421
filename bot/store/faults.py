"""Faults of the store's medium: a full disk, an I/O error, a lock held too long. Not an input's fault.

Such an error says nothing about the input being processed: counting it as a failed attempt would
quarantine good mail while the disk is full. The pipeline turns it into :class:`StoreUnavailable`,
and the daemon rolls back, waits with backoff and tries again (bot/health/faults.py).
"""

from __future__ import annotations

import errno
import sqlite3

# OSError numbers that are the medium's fault, not the data's.
_MEDIUM_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS}
# SQLite's words for the same (sqlite3.OperationalError carries no code before Python 3.11's
# sqlite_errorcode, and that is absent for some paths): SQLITE_BUSY/LOCKED, FULL, IOERR, READONLY.
_SQLITE_WORDS = ("database is locked", "database table is locked", "disk is full",
                 "disk i/o error", "readonly database", "unable to open database file")


class StoreUnavailable(Exception):
    """The store cannot be written now (disk full, I/O error, locked); retry later, count nothing."""


def is_store_fault(exc: BaseException) -> bool:
    """True when ``exc`` (or an exception it was raised from) is a fault of the medium."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, StoreUnavailable):
            return True
        if isinstance(e, sqlite3.OperationalError) and any(w in str(e).lower() for w in _SQLITE_WORDS):
            return True
        if isinstance(e, OSError) and e.errno in _MEDIUM_ERRNOS:
            return True
        e = e.__cause__ or e.__context__
    return False
