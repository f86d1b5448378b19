"""Spreadsheet cells that are never formulas (docs/exports.md): every XLSX or CSV the shop writes
(the county's exports, an organisation's statement) puts its cells through `csv_cell` / `append_row`.
Text a spreadsheet would run as a formula (starting with `= + - @` or a control character, e.g. a
product an operator named `=HYPERLINK(...)`) is written as text — prefixed with `'` in CSV, a string
cell with the quote prefix in XLSX."""

from __future__ import annotations

#: First characters that make Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@")


def is_formula_like(value) -> bool:
    """Text a spreadsheet would evaluate: starts with `= + - @` or a control character (tab, CR, LF …)."""
    return (
        isinstance(value, str)
        and bool(value)
        and (value.startswith(FORMULA_STARTS) or value[0] < " " or value[0] == "\x7f")
    )


def csv_cell(value) -> str:
    """A value as CSV text; formula-like text gets a leading `'` so it is shown, never run. Numbers stay numbers."""
    text = str(value)
    return "'" + text if is_formula_like(value) else text


def append_row(sheet, values) -> None:
    """Append a row to an openpyxl sheet; formula-like text is stored as a string cell (with the quote prefix
    that keeps it text when edited), never as a formula. Control characters XLSX cannot hold are dropped."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cleaned = [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values]
    sheet.append(cleaned)
    for cell, value, text in zip(sheet[sheet.max_row], values, cleaned):
        if is_formula_like(value) or is_formula_like(text):
            cell.value = text
            cell.data_type = "s"
            cell.quotePrefix = True
