"""Spreadsheet cells that are never formulas (docs/exports.md): every XLSX or CSV the shop writes
(the county's exports, an organisation's statement) puts its cells through `csv_cell` / `append_row`.
Text a spreadsheet would run as a formula (starting with `= + - @` or a control character, e.g. a
product an operator named `=HYPERLINK(...)`) is written as text — prefixed with `'` in CSV, a string
cell with the quote prefix in XLSX."""

from __future__ import annotations

import csv
import io

from flask_babel import gettext as _

from shop.money import fen_to_decimal

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
    that keeps it text when edited), never as a formula. Control characters XLSX cannot hold are dropped.

    The cells are built before they are appended (`Worksheet.append` takes `Cell` objects): looking the row
    up again afterwards (`sheet[sheet.max_row]`) scans every cell of the sheet, row after row (figures in
    bench/README.md, "Figures behind rules in the code")."""
    # openpyxl only while a workbook is made or read, never in every web worker (tests/bench/test_worker_footprint.py)
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

    row = []
    for value in values:
        text = ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value
        if is_formula_like(value) or is_formula_like(text):
            cell = Cell(sheet)
            cell.value = text
            cell.data_type = "s"
            cell.quotePrefix = True
            row.append(cell)
        else:
            row.append(text)
    sheet.append(row)


def cell_value(key: str, value):
    """A row's value as a spreadsheet shows it: fen (a key ending `_fen`) as yuan, None as empty."""
    if key.endswith("_fen") and isinstance(value, int):
        return fen_to_decimal(value)
    if value is None:
        return ""
    return value


def heading(key: str, text) -> str:
    """A column's heading in the reader's language (a msgid); a `_fen` column says it is in 元."""
    return _("%(heading)s(元)", heading=text) if key.endswith("_fen") else str(text)


def to_csv(columns: list[tuple[str, str]], rows: list[dict]) -> bytes:
    """A CSV of `rows` (dicts) under `columns` ([(key, heading)]), UTF-8 with a BOM (Excel then opens Chinese
    text correctly), every cell through `csv_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(heading(k, h)) for k, h in columns])
    for row in rows:
        writer.writerow([csv_cell(cell_value(k, row.get(k))) for k, _h in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel opens Chinese CSV correctly
