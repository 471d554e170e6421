"""A throw-away dossier-intake instance for a benchmark: its folders and its config.toml.

The config is written as a TOML file (not only kept in memory) so the same instance can be run
as a subprocess (``intake --config … run``), which is what latency and memory measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.config.model import Settings, load_settings

# Inside the notice's window (the deadline rules would otherwise mark every dossier late).
PINNED_NOW = "2023-11-29T10:00:00+08:00"


@dataclass
class Instance:
    """Folders under ``root``: ``store/``, ``dropbox/``, ``outbox/`` and ``config.toml``."""

    root: Path
    config: Path

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def dropbox(self) -> Path:
        return self.root / "dropbox"

    def settings(self) -> Settings:
        return load_settings(self.config)


def _q(value: str | Path) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_instance(
    root: Path,
    *,
    imap: tuple[str, int, str, str] | None = None,
    smtp: tuple[str, int] | None = None,
    pinned_clock: bool = True,
    resync_s: float = 60.0,
) -> Instance:
    """Write ``root/config.toml``: SQLite store, one drop folder, a file outbox (or ``smtp``).

    ``imap``: (host, port, user, password) of a loopback plain-IMAP server to watch (INBOX,
    post-action ``seen``); ``smtp``: (host, port) of a plain relay, replacing the file outbox.
    Every sender may get many replies a day (the bench mails come from distinct senders anyway).
    """
    root.mkdir(parents=True, exist_ok=True)
    lines = [
        "[store]", f"data_dir = {_q(root / 'store')}",
        "[drop]", f"folders = [{_q(root / 'dropbox')}]", f"processed_dir = {_q(root / 'processed')}",
        "settle_s = 0.0",
        "[outbox]", f"transport = {_q('smtp' if smtp else 'file')}", f"folder = {_q(root / 'outbox')}",
        "replies_per_sender_per_day = 100000", "replies_per_hour = 100000",
        "[campaign]",
    ]  # fmt: skip
    if pinned_clock:
        lines.append(f"now = {PINNED_NOW}")
    if imap:
        host, port, user, password = imap
        lines += [
            "[imap]", "enabled = true", f"host = {_q(host)}", f"port = {port}", 'security = "plain"',
            f"username = {_q(user)}", f"password = {_q(password)}", f"resync_s = {resync_s}",
            "max_message_bytes = 104857600",
        ]  # fmt: skip
    if smtp:
        host, port = smtp
        lines += ["[smtp]", f"host = {_q(host)}", f"port = {port}", 'security = "plain"']
    config = root / "config.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "dropbox").mkdir(exist_ok=True)
    return Instance(root, config)
