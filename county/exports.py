"""XLSX and CSV of any county table: `columns` is [(key, heading)], rows are dicts (already masked).

Headings are msgids (`_()` in a view, `_l()` in module constants), so a download from a page is in the
reader's language; files written by tasks and commands are in the default locale.

Every cell goes through `csv_cell` / `append_row`: text a spreadsheet would run as a formula (starting with
`= + - @` or a control character, e.g. a product an operator named `=HYPERLINK(...)`) is written as text —
prefixed with `'` in CSV, a string cell with the quote prefix in XLSX (docs/exports.md)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from flask import Response
from flask_babel import gettext as _

from shop.exports import FORMULA_STARTS, append_row, csv_cell, is_formula_like  # noqa: F401  (county's importers)
from shop.money import fen_to_decimal


def _value(key: str, value):
    if key.endswith("_fen") and isinstance(value, int):
        return fen_to_decimal(value)
    if value is None:
        return ""
    return value


def _heading(key: str, heading) -> str:
    return _("%(heading)s(元)", heading=heading) if key.endswith("_fen") else str(heading)


def to_csv(columns: list[tuple[str, str]], rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(_heading(k, h)) for k, h in columns])
    for row in rows:
        writer.writerow([csv_cell(_value(k, row.get(k))) for k, _h in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel opens Chinese CSV correctly


def to_xlsx(columns: list[tuple[str, str]], rows: list[dict], *, title: str = "Sheet1") -> bytes:
    # openpyxl only while a workbook is made or read, never in every web worker (tests/bench/test_worker_footprint.py)
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31] or "Sheet1"
    append_row(sheet, [_heading(k, h) for k, h in columns])
    for row in rows:
        values = []
        for key, _h in columns:
            value = _value(key, row.get(key))
            values.append(float(value) if isinstance(value, Decimal) else value)
        append_row(sheet, values)
    for index, (key, _h) in enumerate(columns, start=1):
        if key.endswith("_fen"):
            for cell in sheet.iter_cols(min_col=index, max_col=index, min_row=2):
                for c in cell:
                    c.number_format = "#,##0.00"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_response(fmt: str, name: str, columns: list[tuple[str, str]], rows: list[dict]) -> Response:
    if fmt == "csv":
        body, mime = to_csv(columns, rows), "text/csv"  # werkzeug adds "; charset=utf-8" to a text/ type
    else:
        fmt = "xlsx"
        body = to_xlsx(columns, rows, title=name)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, mimetype=mime)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
