"""The one validated path for untrusted numbers, dates and query arguments (docs/input-validation.md).

Whatever a visitor types — a query argument, a form field, a cell of an imported sheet, a JSON value —
becomes an int or a date here or is refused with a clear message, never a 500:

- integers are ASCII digits only (`str.isdigit()` and `int()` take `٣` and `३` as 3, `²` is a digit to
  `isdigit()` that `int()` refuses) and bounded to the column they are meant for (`MAX_ID` for BIGINT ids,
  `MAX_INT` for INTEGER columns), so the database never overflows; what a Chinese input method types in
  full-width mode (`３`, `－３`, `１２．５`) is read as the ASCII it stands for (`half_width`), any other
  script's digits are refused like any text that is no number;
- dates are ISO `YYYY-MM-DD` within [`MIN_DATE`, `MAX_DATE`], so adding days or a year to one never
  leaves `date`'s range (year 9999 + 1 day is an OverflowError);
- links are built from a named list of arguments (`link_args`), never by splatting `request.args` into
  `url_for` (which reads `endpoint`, `_method`, `_external`, … as its own parameters).

HTML views use `int_arg` / `date_arg` (a 400 page) or `int_or_none`, forms use `shop.forms.DayField`,
`shop.forms.WholeNumberField` (never WTForms' `IntegerField`) and `coerce_id`,
the JSON API uses the pydantic types `ApiId`, `ApiInt`, `ApiDate` (a 422 in the error envelope). A page
that has a default day, month or year (today, every date, this month, this year) reads it with
`page_date_arg` / `page_month_arg` / `page_year_arg`: a date typed wrong by hand into its URL shows the
page itself with its default, the reason flashed, status 422 — never a 400 page.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from flask import abort, flash, request
from flask_babel import gettext as _
from pydantic import Field
from werkzeug.routing import IntegerConverter

#: The largest value of a BIGINT column (every id).
MAX_ID = 2**63 - 1
#: The largest value of an INTEGER column (quantities, weights, counts).
MAX_INT = 2**31 - 1
#: Dates accepted anywhere: far enough for any real booking, report or harvest, and days can be added.
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2099, 12, 31)

_INTEGER = re.compile(r"-?[0-9]{1,19}")
#: The full-width forms of ASCII (U+FF01…U+FF5E: ０-９, －, ．, ，, ：) and of ¥ (￥) that a Chinese input method
#: types in full-width mode, and its ideographic space, as the characters they stand for.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0xFFE5: ord("¥"), 0x3000: ord(" ")}


def half_width(text: str) -> str:
    """`text` as typed on a Chinese keyboard in full-width mode (`１２．５`, `－３`, `￥８`) made ASCII (`¥`):
    the one reading every number a person types goes through before its ASCII-only check (whole numbers,
    typed yuan, a session's time, a place's degrees). Nothing else changes: other scripts' digits (`٣`,
    `३`), superscripts (`²`) and circled numbers (`①`) stay as they are, and are refused there as text."""
    return text.translate(_HALF_WIDTH)


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def parse_int(text, *, minimum: int = 0, maximum: int = MAX_INT) -> int:
    """`text` (str or int) as an int in [minimum, maximum]: ASCII digits (full-width ones made ASCII), an
    optional leading `-`. Raises ValueError otherwise (`٣`, `²`, `1e3`, `1_000`, `+1`)."""
    if isinstance(text, bool):
        raise ValueError("not a whole number")
    if isinstance(text, int):
        value = text
    else:
        text = half_width(str(text)).strip()
        if not _INTEGER.fullmatch(text):
            raise ValueError("not a whole number")
        value = int(text)
    if not minimum <= value <= maximum:
        raise ValueError("out of range")
    return value


_DIGITS = re.compile(r"-?[0-9]+")


def parse_count(text, *, limit: int = MAX_INT) -> int:
    """A count a person typed (a quantity, guests, rooms) as an int: as `parse_int` within [-limit, limit], except
    that a whole number too large to hold (12 digits typed into 数量) is read as `limit` (too small: -limit), so
    the service's own range check says the range (数量必须在 1 到 999 之间) rather than 请输入整数 of a whole
    number. Raises ValueError for anything but ASCII digits with an optional leading `-`."""
    try:
        return parse_int(text, minimum=-limit, maximum=limit)
    except ValueError:
        raw = half_width(text).strip() if isinstance(text, str) else ""
        if len(raw) <= 4000 and _DIGITS.fullmatch(raw):
            return -limit if raw.startswith("-") else limit
        raise


def int_or_none(text, *, minimum: int = 0, maximum: int = MAX_INT) -> int | None:
    """`text` as `parse_int` reads it, or None for anything else (nothing, `abc`, `٣`, out of range): for a
    number a page or form may leave out, where a bad one is as good as none (a pre-selected product, a
    page number)."""
    try:
        return parse_int(text, minimum=minimum, maximum=maximum)
    except ValueError:
        return None


def check_date(day: date) -> date:
    """`day` if within [MIN_DATE, MAX_DATE]; ValueError otherwise."""
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueError("date out of range")
    return day


def parse_date(text: str) -> date:
    """`YYYY-MM-DD` (ASCII digits) as a date within [MIN_DATE, MAX_DATE]; ValueError otherwise."""
    text = str(text).strip()
    if not _DATE.fullmatch(text):
        raise ValueError("not a date")
    return check_date(date.fromisoformat(text))


def coerce_id(value) -> int:
    """`coerce=` of a WTForms SelectField holding a row id (0: "none" choices): a bad or oversized id is an
    invalid choice, not a database overflow."""
    return parse_int(value, minimum=0, maximum=MAX_ID)


def int_arg(name: str, *, minimum: int = 0, maximum: int = 10**12) -> int | None:
    """`?name=` as a whole number in [minimum, maximum], None when absent; a 400 otherwise."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return parse_int(value, minimum=minimum, maximum=maximum)
    except ValueError:
        abort(400, _("%(name)s 须为 %(min)s 到 %(max)s 的整数", name=name, min=minimum, max=maximum))


def date_arg(name: str) -> date | None:
    """`?name=YYYY-MM-DD` as a date, None when absent; a 400 otherwise."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return parse_date(value)
    except ValueError:
        abort(
            400,
            _(
                "%(name)s 须为 %(min)s 到 %(max)s 之间的日期（YYYY-MM-DD）",
                name=name,
                min=MIN_DATE.isoformat(),
                max=MAX_DATE.isoformat(),
            ),
        )


def parse_month(text: str) -> tuple[int, int]:
    """`YYYY-MM` (ASCII digits) as (year, month), the month within [MIN_DATE, MAX_DATE]; ValueError otherwise."""
    text = str(text).strip()
    if not _MONTH.fullmatch(text):
        raise ValueError("not a month")
    year, month = int(text[:4]), int(text[5:])
    check_date(date(year, month, 1))  # a month 13 is a ValueError too
    return year, month


def _typed_wrong(label: str, value: str, *, expected: str, low: str, high: str, instead: str) -> None:
    flash(
        _(
            "%(label)s「%(value)s」无效：应为 %(low)s 至 %(high)s 之间的%(expected)s；%(instead)s",
            label=label,
            value=value[:20],
            expected=expected,
            low=low,
            high=high,
            instead=instead,
        ),
        "error",
    )


def page_date_arg(name: str, *, label: str, instead: str) -> tuple[date | None, int]:
    """`?name=YYYY-MM-DD` read by an HTML page that has a default when it is absent: (the date or None, 200).
    A date typed wrong by hand into the URL (2026-13-45) is (None, 422) with the reason flashed — `label`
    names the field as the page does, `instead` says what the page shows instead — so the page answers as
    usual with its default and the message on top."""
    value = request.args.get(name, "").strip()
    if not value:
        return None, 200
    try:
        return parse_date(value), 200
    except ValueError:
        _typed_wrong(
            label,
            value,
            expected=_("日期（YYYY-MM-DD）"),
            low=MIN_DATE.isoformat(),
            high=MAX_DATE.isoformat(),
            instead=instead,
        )
        return None, 422


def page_month_arg(name: str, *, label: str, instead: str) -> tuple[tuple[int, int] | None, int]:
    """`?name=YYYY-MM` as (year, month) for a page with a default month, as `page_date_arg` reads a day:
    ((year, month) or None, 200), or (None, 422) with the reason flashed when typed wrong."""
    value = request.args.get(name, "").strip()
    if not value:
        return None, 200
    try:
        return parse_month(value), 200
    except ValueError:
        _typed_wrong(
            label,
            value,
            expected=_("月份（YYYY-MM）"),
            low=MIN_DATE.isoformat()[:7],
            high=MAX_DATE.isoformat()[:7],
            instead=instead,
        )
        return None, 422


def page_int_arg(name: str, *, label: str, instead: str, low: int, high: int) -> tuple[int | None, int]:
    """`?name=` as a whole number from `low` to `high` for a page that has a default when it is absent, as
    `page_date_arg` reads a day: (the number or None, 200), or (None, 422) with the reason flashed when it is
    typed wrong by hand into the URL (0, abc, 99999) — the page answers as usual with its default, not a 400."""
    value = request.args.get(name, "").strip()
    if not value:
        return None, 200
    number = int_or_none(value, minimum=low, maximum=high)
    if number is not None:
        return number, 200
    _typed_wrong(label, value, expected=_("整数"), low=str(low), high=str(high), instead=instead)
    return None, 422


def page_year_arg(name: str, *, label: str, instead: str, low: int, high: int) -> tuple[int | None, int]:
    """`?name=YYYY` for a page with a default year (this one), as `page_date_arg` reads a day: (the year
    or None, 200), or (None, 422) with the reason flashed when it is not a year from `low` to `high`
    (99999, abc)."""
    value = request.args.get(name, "").strip()
    if not value:
        return None, 200
    year = int_or_none(value, minimum=low, maximum=high) if len(half_width(value)) == 4 else None
    if year is not None:
        return year, 200
    _typed_wrong(label, value, expected=_("年份（YYYY）"), low=str(low), high=str(high), instead=instead)
    return None, 422


MAX_QUERY_TEXT = 100  # characters of a search box's query (the boxes' maxlength)


def query_text(name: str = "q") -> str:
    """`?name=` as text typed into a search box: control characters (a NUL) dropped, outer spaces
    stripped, at most MAX_QUERY_TEXT characters. Spaces alone are no query. The search pages and the
    header's search box read it, so nothing they echo holds what no one can type."""
    raw = request.args.get(name, "")
    return "".join(ch for ch in raw if ch.isprintable() or ch.isspace()).strip()[:MAX_QUERY_TEXT]


def link_args(*names: str) -> dict[str, str]:
    """The named query arguments this request carries, to build a link to a page keeping them:
    `url_for(endpoint, **link_args("from", "to"))`. Only names the page reads, never all of `request.args`."""
    return {name: request.args[name] for name in names if request.args.get(name)}


class IdConverter(IntegerConverter):
    """The app's `<int:…>` URL converter: ASCII digits only — Werkzeug's own (`\\d+`) matches any script's
    digits, and `int()` reads `/products/٣` as product 3 — so any other digits are an unknown path, a 404;
    full-width ones too (links are built by `url_for`, never typed). An id past BIGINT (`MAX_ID`) becomes 0,
    an id no row has, so the view answers its usual 404 and never hands the database a number it overflows
    on. (Refusing the match instead would turn into a 405 where another method's rule has the same path.)"""

    regex = r"[0-9]+"

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= MAX_ID else 0


#: pydantic types of the API's query strings and bodies (bounds show in the OpenAPI spec).
ApiId = Annotated[int, Field(ge=1, le=MAX_ID)]
ApiInt = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]
ApiDate = Annotated[date, Field(ge=MIN_DATE, le=MAX_DATE)]
