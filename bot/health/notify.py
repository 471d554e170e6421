"""systemd's notify protocol (sd_notify(3)): READY=1 at start, WATCHDOG=1 while the loop turns.

No dependency: one datagram to ``$NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract namespace).
Without the variable (not under systemd, tests) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("intake.health")


def sd_notify(state: str) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``, ``"WATCHDOG=1"``); True when sent."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode("ascii"))
    except OSError as e:
        log.warning("sd_notify(%s) failed: %s", state, e)
        return False
    return True


def watchdog_interval_s() -> float | None:
    """Half of systemd's ``WatchdogSec`` (``$WATCHDOG_USEC``), in seconds; None when not asked."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2e6
