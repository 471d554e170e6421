"""Applicant text as a spreadsheet cell: always a string cell, never a formula (issue 14).

openpyxl stores any string that starts with ``=`` as a formula, so a project name
``=HYPERLINK("http://…","点击")`` or ``=cmd|' /C calc'!A0`` (DDE) would run in the officer's or the
ministry's spreadsheet program; ``+``, ``-`` and ``@`` start formulas when a sheet is re-typed or
exported to CSV (OWASP "CSV injection"). Characters XML 1.0 forbids (most C0 controls) make
openpyxl raise ``IllegalCharacterError`` and the whole 汇总表 fail.

So every applicant value is written with :func:`put_text`: XML-illegal characters removed, the
cell typed ``s`` (a shared string, whatever its first character), and marked quote-prefixed
(Excel and LibreOffice then keep it text when the cell is edited).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # openpyxl is loaded by whoever writes a sheet, not by importing this
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


# openpyxl's ILLEGAL_CHARACTERS_RE: what it refuses to write (XML 1.0: C0 controls but tab,
# newline and carriage return).
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def clean_text(value: str) -> str:
    """``value`` without the characters XML 1.0 does not allow (C0 controls but tab/newline/CR)."""
    return _ILLEGAL.sub("", value)


def put_text(ws: Worksheet, row: int, column: int, value: object) -> Cell:
    """Write ``value`` at (row, column): numbers as they are, anything else as a string cell."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, int | float) and not isinstance(value, bool):
        cell.value = value
        return cell
    text = clean_text("" if value is None else str(value))
    cell.value = text
    cell.data_type = "s"  # never "f", whatever the first character is
    if text.startswith(FORMULA_LEADS):
        cell.quotePrefix = True
    return cell
