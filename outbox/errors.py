"""The base of every error the outbox raises (a mail not delivered, a packet not built)."""

from __future__ import annotations


class OutboxError(Exception):
    """Base of the outbox's errors; the message says which mail or file."""
