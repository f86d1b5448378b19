"""Prices of tourism unit types per night or day: holiday, then weekend, then the base price.

Weekend nights are Friday and Saturday nights (the guest leaves on Saturday or Sunday); a ticket or
an experience on a Saturday or Sunday is a weekend day. All amounts are integer fen.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from shop.extensions import db
from tourism.models import Holiday, ListingKind, UnitType


def holidays_between(start: date, end: date) -> set[date]:
    """Holiday dates in [start, end)."""
    rows = db.session.scalars(
        sa.select(Holiday.holiday_date).where(Holiday.holiday_date >= start, Holiday.holiday_date < end)
    )
    return set(rows)


def is_weekend(day: date, kind: str) -> bool:
    if kind == ListingKind.STAY:
        return day.weekday() in (4, 5)  # Friday and Saturday nights
    return day.weekday() in (5, 6)


def price_for_day(unit_type: UnitType, day: date, *, kind: str, holidays: set[date]) -> int:
    """The price of one unit (stay) or one person (experience, ticket) on `day`."""
    if day in holidays and unit_type.holiday_price_fen is not None:
        return unit_type.holiday_price_fen
    if is_weekend(day, kind) and unit_type.weekend_price_fen is not None:
        return unit_type.weekend_price_fen
    return unit_type.price_fen


def stay_total_fen(
    unit_type: UnitType, check_in: date, check_out: date, units: int, *, holidays: set[date] | None = None
) -> int:
    """Sum of nightly prices over [check_in, check_out), times the number of units. `holidays`:
    the holidays of those nights when the caller has them already (else they are read)."""
    if holidays is None:
        holidays = holidays_between(check_in, check_out)
    nights = (check_out - check_in).days
    per_unit = sum(
        price_for_day(unit_type, check_in + timedelta(days=i), kind=ListingKind.STAY, holidays=holidays)
        for i in range(nights)
    )
    return per_unit * units


def per_person_total_fen(
    unit_type: UnitType, day: date, guests: int, *, kind: str, holidays: set[date] | None = None
) -> int:
    """The price of `guests` people on `day` (an experience or a ticket). `holidays`: the holidays around
    that day when the caller has them already (else they are read)."""
    if holidays is None:
        holidays = holidays_between(day, day + timedelta(days=1))
    return price_for_day(unit_type, day, kind=kind, holidays=holidays) * guests
