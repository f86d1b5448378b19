"""The host workspace: own listings only, closures, today's arrivals."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from shop.errors import NotFound, ValidationError
from shop.extensions import db
from shop.timeutil import local_date
from tourism.models import Booking, BookingStatus, Closure, Listing


def list_host_listings(host) -> list[Listing]:
    query = sa.select(Listing).options(selectinload(Listing.unit_types), selectinload(Listing.village)).order_by(Listing.id)
    if host.role != "admin":
        query = query.where(Listing.host_id == host.id)
    return list(db.session.scalars(query))


def get_host_listing(host, listing_id: int) -> Listing:
    """The host's own listing; another host's is a 404 (admins see all)."""
    listing = db.session.get(Listing, listing_id)
    if listing is None or not (host.role == "admin" or listing.host_id == host.id):
        raise NotFound("项目不存在")
    return listing


def todays_arrivals(host, *, now: datetime) -> list[Booking]:
    today = local_date(now)
    query = (
        sa.select(Booking)
        .join(Listing, Listing.id == Booking.listing_id)
        .where(
            Booking.check_in_date == today,
            Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN]),
        )
        .order_by(Listing.id, Booking.id)
    )
    if host.role != "admin":
        query = query.where(Listing.host_id == host.id)
    return list(db.session.scalars(query))


def listing_bookings(listing: Listing, start: date, end: date) -> list[Booking]:
    return list(
        db.session.scalars(
            sa.select(Booking)
            .where(
                Booking.listing_id == listing.id,
                Booking.check_in_date < end,
                Booking.check_out_date > start,
                Booking.status.in_([BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN,
                                    BookingStatus.COMPLETED, BookingStatus.NO_SHOW]),
            )
            .order_by(Booking.check_in_date, Booking.id)
        )
    )


def close_dates(listing: Listing, days: list[date], *, reason: str = "", now: datetime) -> int:
    """Close the listing on these dates (idempotent). Past dates are refused."""
    today = local_date(now)
    if any(d < today for d in days):
        raise ValidationError("不能关闭过去的日期", fields={"closed_date": "in the past"})
    existing = set(
        db.session.scalars(sa.select(Closure.closed_date).where(Closure.listing_id == listing.id, Closure.closed_date.in_(days)))
    )
    added = 0
    for d in sorted(set(days) - existing):
        db.session.add(Closure(listing_id=listing.id, closed_date=d, reason=reason[:120], created_at=now))
        added += 1
    db.session.flush()
    return added


def reopen_date(listing: Listing, day: date) -> int:
    result = db.session.execute(sa.delete(Closure).where(Closure.listing_id == listing.id, Closure.closed_date == day))
    db.session.flush()
    return result.rowcount or 0
