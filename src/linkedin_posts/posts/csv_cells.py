"""Cells a spreadsheet would run as formulas, and how the CSV export and import agree on them.

Excel, LibreOffice and Google Sheets take a cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return for a formula, so an exported post could run one on the machine of whoever opens
the file (CSV injection). The export writes such a cell after a `'`, which spreadsheets show as
text; the import takes one `'` off a cell that starts with `'` and then such a character. A cell
that already starts with `'`s before one gets one more, so every text comes back as it was.
"""

import re

_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")


def as_text(cell: str) -> str:
    """The cell as the export writes it."""
    return "'" + cell if _FORMULA_START.match(cell) else cell


def from_text(cell: str) -> str:
    """The cell as it was before `as_text`."""
    return cell[1:] if cell[:1] == "'" and _FORMULA_START.match(cell, 1) else cell
