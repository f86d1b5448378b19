"""Demo farm stay (idempotent): the demo tourist's two nights at a demo homestay last week, paid in cash on
arrival and completed, so that the county's income report (乡村旅游), the households' statements (明白卡,
收入明细) and 收益发放 show tourism income traced to the households linked to the listing, as a real
stay's is.

Every step goes through the shop's own services, each on its own day in the past (`now=`), as the
tourist's, the host's and the hourly job's taps would have been: the stay is booked, to pay on arrival
(`booking.book_listing`: availability and price on the server, confirmed at once), a week before it
begins; on the day of arrival the host checks the guest in with the confirmation code and the cash
written in the host's cash book (`booking.check_in_booking`) — the money received; on the check-out
day the stay is completed (`booking.complete_stay`, what the hourly job does for every due stay, here
for this one only: the demo leaves any other booking of the database to the job) and credited to the
listing's households. The host's cash stays in hand (its day not closed, nothing remitted).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from shop.auth.models import User
from shop.extensions import db
from shop.timeutil import local_date, local_hour_utc
from tourism.models import Booking, Listing
from tourism.services import booking as bookings
from tourism.services.host_cash import arrival_due_fen

#: The demo stay's listing (`tourism.demo`), linked to households of its village.
LISTING_SLUG = "huahai-minsu"
#: Days before today the stay began, its nights, the days ahead it was booked, the guests.
ARRIVED_DAYS_AGO, NIGHTS, BOOKED_DAYS_AHEAD, GUESTS = 5, 2, 7, 2


def seed_stay(*, guest: User, now: datetime) -> bool:
    """The demo tourist's stay, booked, checked in and completed in the past; nothing if they have any booking."""
    listing = db.session.scalar(sa.select(Listing).where(Listing.slug == LISTING_SLUG))
    if listing is None or db.session.scalar(sa.select(Booking.id).where(Booking.user_id == guest.id).limit(1)):
        return False
    check_in = local_date(now) - timedelta(days=ARRIVED_DAYS_AGO)
    check_out = check_in + timedelta(days=NIGHTS)
    booking = bookings.book_listing(
        bookings.BookingRequest(
            listing_id=listing.id,
            guests=GUESTS,
            check_in=check_in,
            check_out=check_out,
            unit_type_id=listing.unit_types[0].id,
            pay_on_arrival=True,
        ),
        user=guest,
        now=local_hour_utc(check_in - timedelta(days=BOOKED_DAYS_AHEAD), 20),
    )
    bookings.check_in_booking(
        booking,
        booking.confirmation_code,
        actor=listing.host,
        now=local_hour_utc(check_in, 15),
        cash_received_fen=arrival_due_fen(booking),
    )
    bookings.complete_stay(booking, now=local_hour_utc(check_out, 12))
    return True
