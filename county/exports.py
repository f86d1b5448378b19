"""XLSX and CSV of any county table: `columns` is [(key, heading)], rows are dicts (already masked).

Headings are msgids (`_()` in a view, `_l()` in module constants), so a download from a page is in the
reader's language; files written by tasks and commands are in the default locale.

Every cell goes through `csv_cell` / `append_row`: text a spreadsheet would run as a formula (starting with
`= + - @` or a control character, e.g. a product an operator named `=HYPERLINK(...)`) is written as text —
prefixed with `'` in CSV, a string cell with the quote prefix in XLSX (docs/exports.md)."""

from __future__ import annotations

import io
from decimal import Decimal

from flask import Response

from shop.exports import (  # noqa: F401  (county's importers)
    FORMULA_STARTS,
    append_row,
    cell_value,
    csv_cell,
    heading,
    is_formula_like,
    to_csv,
)


def to_xlsx(columns: list[tuple[str, str]], rows: list[dict], *, title: str = "Sheet1") -> bytes:
    # openpyxl only while a workbook is made or read, never in every web worker (tests/bench/test_worker_footprint.py)
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31] or "Sheet1"
    append_row(sheet, [heading(k, h) for k, h in columns])
    for row in rows:
        values = []
        for key, _h in columns:
            value = cell_value(key, row.get(key))
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
