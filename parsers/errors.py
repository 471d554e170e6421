"""The base of every error the parsers raise (an input that cannot be read as asked)."""

from __future__ import annotations


class ParseError(Exception):
    """Base of the parsers' errors; the message names the input."""
