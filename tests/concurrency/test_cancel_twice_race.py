"""The buyer's 取消订单 and the guest's 取消预订 sent twice at the same moment (a double tap, two devices):
one cancels, the other finds it canceled already under the row lock and changes nothing — one status
change, no refusal, no error (PostgreSQL threads; `buyer_cancel_order` and `cancel_booking` read
`order_canceled_already` / `booking_canceled_already` again under the lock)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from orders.models import Order
from orders.services.payments import buyer_cancel_order
from shop.db import commit
from shop.history import StatusEvent
from shop.timeutil import local_date, now_utc
from tests.concurrency.race import at_once
from tests.conftest import requires_postgres
from tests.factories import make_product, make_user
from tests.orders.factories import make_order
from tests.tourism.factories import make_listing
from tourism.models import Booking
from tourism.services.booking import BookingRequest, book_listing, cancel_booking


def _canceled_events(db, subject_type: str, subject_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(StatusEvent.id)).where(
            StatusEvent.subject_type == subject_type,
            StatusEvent.subject_id == subject_id,
            StatusEvent.to_status == "canceled",
        )
    )


@requires_postgres
def test_an_order_canceled_twice_at_once_is_canceled_once(app, committed_db):
    db = committed_db
    from shop.auth.models import User

    buyer = make_user()
    order = make_order(buyer, [(make_product(stock=5), 2)], now=now_utc())
    ids = {"order": order.id, "buyer": buyer.id}
    commit()

    def cancel():
        return buyer_cancel_order(
            db.session.get(Order, ids["order"]), actor=db.session.get(User, ids["buyer"]), now=now_utc()
        )

    race = at_once(app, [cancel, cancel], refused=())
    assert race.errors == []
    assert sorted(race.values) == [False, True]
    db.session.remove()
    assert db.session.get(Order, ids["order"]).status == "canceled"
    assert _canceled_events(db, "orders", ids["order"]) == 1


@requires_postgres
def test_a_booking_canceled_twice_at_once_is_canceled_once(app, committed_db):
    db = committed_db
    from shop.auth.models import User

    guest = make_user()
    listing = make_listing(units=2, pay_on_arrival=True)
    day = local_date(now_utc()) + timedelta(days=5)
    request = BookingRequest(
        listing_id=listing.id, check_in=day, check_out=day + timedelta(days=1), guests=1, pay_on_arrival=True
    )
    booking = book_listing(request, user=guest, now=now_utc())
    ids = {"booking": booking.id, "guest": guest.id}
    commit()

    def cancel():
        return cancel_booking(
            db.session.get(Booking, ids["booking"]), actor=db.session.get(User, ids["guest"]), now=now_utc()
        )

    race = at_once(app, [cancel, cancel], refused=())
    assert race.errors == []
    assert sorted(value is None for value in race.values) == [False, True]  # one quote, one "canceled already"
    db.session.remove()
    assert db.session.get(Booking, ids["booking"]).status == "canceled"
    assert _canceled_events(db, "bookings", ids["booking"]) == 1
