"""Query-string arguments of HTML views: a clear 400 for a malformed value, never a 500."""
from __future__ import annotations

from datetime import date

from flask import abort, request


def int_arg(name: str, *, minimum: int = 0, maximum: int = 10**12) -> int | None:
    """`?name=` as a whole number in [minimum, maximum], None when absent."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 12 or not minimum <= int(value) <= maximum:
        abort(400, f"{name} must be a whole number")
    return int(value)


def date_arg(name: str) -> date | None:
    """`?name=YYYY-MM-DD` as a date, None when absent."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, f"{name} must be a date YYYY-MM-DD")
