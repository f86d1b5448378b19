"""Jinja filters: money and time at the edges."""
from __future__ import annotations

from datetime import date, datetime

from flask import Flask

from shop.money import format_yuan
from shop.timeutil import to_local


def local_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return to_local(value).strftime(fmt)


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return value.isoformat()


def register_filters(app: Flask) -> None:
    app.add_template_filter(format_yuan, "yuan")
    app.add_template_filter(local_dt, "local_dt")
    app.add_template_filter(local_date, "local_date")
    app.add_template_global(lambda name: name in app.view_functions, "has_endpoint")
