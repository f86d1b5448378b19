"""Bookings whose arrival day passed while they are still confirmed, seen from outside the host's desk.

The desk lists them (`tourism.services.host.overdue_arrivals`). Two readers more:

- the daily reminder (`tourism.tasks.remind_overdue_arrivals`): which hosts have any, so each is mailed once
  a day (`hosts_with_overdue_arrivals`), and what the mail says each booking allows now (`overdue_actions`);
- the county office (`past_late_check_in`): the bookings the desk can no longer record as a stay, their
  check-out more than LATE_CHECK_IN_DAYS days ago, never completed and so never credited to their
  households, per listing and host. Only 标记未到店 is left for them, and that moves money: nothing here
  marks anything, the host decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from shop.auth.models import User
from shop.extensions import db
from shop.timeutil import local_date
from tourism.models import Booking, BookingStatus, Listing
from tourism.services.booking import (
    LATE_CHECK_IN_DAYS,
    check_in_allowed,
    checked_in_late,
    no_show_allowed,
)


def hosts_with_overdue_arrivals(*, now: datetime) -> list[int]:
    """The ids of the active accounts hosting a listing with a booking still confirmed whose arrival day is
    before today (what the desk's 待处理：到店日已过 lists), in id order."""
    today = local_date(now)
    return list(
        db.session.scalars(
            sa.select(Listing.host_id)
            .join(Booking, Booking.listing_id == Listing.id)
            .join(User, User.id == Listing.host_id)
            .where(
                Booking.status == BookingStatus.CONFIRMED,
                Booking.check_in_date < today,
                User.is_active_account.is_(True),
            )
            .distinct()
            .order_by(Listing.host_id)
        )
    )


@dataclass(frozen=True)
class OverdueActions:
    """What the host may do now about an overdue booking, as the desk offers it."""

    #: 办理入住: the stay is still on.
    check_in: bool
    #: 补登入住: the stay is over, recorded with the guest's code until `late_until` (inclusive).
    late_check_in: bool
    late_until: date | None
    #: 标记未到店.
    no_show: bool


def overdue_actions(booking: Booking, *, now: datetime) -> OverdueActions:
    """The desk's own predicates (`check_in_allowed`, `checked_in_late`, `no_show_allowed`) for one booking."""
    allowed = check_in_allowed(booking, now=now)
    late = allowed and checked_in_late(booking, now=now)
    return OverdueActions(
        check_in=allowed and not late,
        late_check_in=late,
        late_until=booking.check_out_date + timedelta(days=LATE_CHECK_IN_DAYS - 1) if late else None,
        no_show=no_show_allowed(booking, now=now),
    )


@dataclass
class StaleListing:
    """A listing's bookings past LATE_CHECK_IN_DAYS after their check-out, still confirmed."""

    listing: Listing
    host: User
    bookings: list[Booking] = field(default_factory=list)

    @property
    def total_fen(self) -> int:
        return sum(b.total_fen for b in self.bookings)

    @property
    def oldest(self) -> date:
        return min(b.check_in_date for b in self.bookings)


def past_late_check_in(*, now: datetime) -> list[StaleListing]:
    """Bookings still confirmed whose check-out date is LATE_CHECK_IN_DAYS days or more ago (the desk can no
    longer record them as stays: `check_in_refusal`'s `check_in_too_late`), never completed and never credited,
    per listing with its host: the listings with the oldest such booking first, each listing's bookings oldest
    first. Two statements (the villages in a second)."""
    today = local_date(now)
    rows = db.session.scalars(
        sa.select(Booking)
        .join(Listing, Listing.id == Booking.listing_id)
        .join(User, User.id == Listing.host_id)
        .where(
            Booking.status == BookingStatus.CONFIRMED,
            Booking.check_out_date <= today - timedelta(days=LATE_CHECK_IN_DAYS),
        )
        .order_by(Booking.check_in_date, Booking.id)
        .options(
            contains_eager(Booking.listing).contains_eager(Listing.host),
            contains_eager(Booking.listing).selectinload(Listing.village),
        )
    ).all()
    grouped: dict[int, StaleListing] = {}
    for booking in rows:
        entry = grouped.setdefault(booking.listing_id, StaleListing(booking.listing, booking.listing.host))
        entry.bookings.append(booking)
    return list(grouped.values())
