"""The base of every error the rules layer raises (a campaign profile or list that cannot be used)."""

from __future__ import annotations


class RulesError(Exception):
    """Base of the rules' errors; the message names the file or key."""
