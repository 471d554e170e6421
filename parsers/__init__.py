"""Parsers: pure functions from bytes and files to facts; they never decide pass/fail."""
