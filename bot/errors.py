"""The base of every error the intake desk (bot/) raises itself."""

from __future__ import annotations


class IntakeError(Exception):
    """Base of bot/'s errors (configuration, store, sources, officers' decisions, packets)."""
