"""SQL statements of one API booking (`POST /api/v1/bookings`, stay paid on arrival) stay within a
fixed budget, whatever the length of the stay or the bookings already on the unit type.

A 1-night stay, then a 5-night stay over nights that already hold other bookings: the worst case for
a query per night or per existing booking. Statements are counted with `before_cursor_execute`
(transaction control statements excluded).
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from shop.timeutil import local_date, now_utc
from tests.factories import make_household, make_user
from tests.sql_count import count_statements
from tests.tourism.factories import make_booking, make_listing
from tourism.models import Booking, BookingStatus

#: Upper bound for one booking, e-mail task included (Celery runs eagerly in tests): the count seen
#: (PostgreSQL 8, SQLite 16) plus one. History: 22/25 before the listing, its unit types and benefit
#: links were read in one statement, bookings, closures, holidays and the confirmation code check in
#: another, and the rows were written confirmed in one flush (no order code check, no UPDATEs);
#: PostgreSQL 12 before order, booking, line, payment and status events went in one hand-built
#: statement, and again since it was removed (#24: the ORM's flush writes them).
#: Two more (11/19) since pay-on-arrival bookings lock the account's row, then count its open unpaid
#: bookings (the per-account cap; the count must start after the lock, see `booking.py`).
#: 11 on both since the count rides in the unit-type lock's statement, the host (the answer shows
#: the contact) in the listing's, and the status events go in one bulk INSERT (#24).
#: 10 since the account's lock rides in the listing's statement (#24).
#: 11 since the host is mailed the booking (`tourism.tasks.send_host_booking_mail`): that task's one read runs
#: eagerly here; with a broker the request writes one outbox row for it and nothing else.
MAX_STATEMENTS = {"postgresql": 12, "sqlite": 12}


def _day(n):
    return local_date(now_utc()) + timedelta(days=n)


def _book(client, headers, listing, check_in, nights):
    body = {
        "listing_id": listing.id,
        "checkin": check_in.isoformat(),
        "checkout": (check_in + timedelta(days=nights)).isoformat(),
        "guests": 2,
        "payment_method": "arrival",
    }
    with count_statements() as statements:
        res = client.post("/api/v1/bookings", json=body, headers=headers)
    assert res.status_code == 201, res.json
    return res, statements


def test_booking_statements_do_not_grow_per_night(client, db, api_token):
    listing = make_listing(units=5, pay_on_arrival=True, households=[make_household(), make_household()])
    for n in range(20, 26):
        make_booking(listing, check_in=_day(n), check_out=_day(n + 1))
    # three guests: one account may hold only PAY_ON_ARRIVAL_MAX_OPEN unpaid bookings
    _book(client, api_token(make_user()), listing, _day(3), 1)  # warm-up: first-use queries (mail templates, caches)
    res1, short = _book(client, api_token(make_user()), listing, _day(5), 1)
    res5, long = _book(client, api_token(make_user()), listing, _day(20), 5)
    assert res5.json["nights"] == 5 and res5.json["status"] == "confirmed"
    assert len(short) <= MAX_STATEMENTS[db.engine.dialect.name], "\n".join(short)
    assert len(long) <= len(short), "\n".join(long)
    booking = db.session.scalar(sa.select(Booking).where(Booking.code == res5.json["code"]))
    assert booking.status == BookingStatus.CONFIRMED and len(booking.order.lines[0].benefit_split) == 2


def test_the_booking_flush_stores_every_row_and_its_history(client, db, api_token):
    """Order, booking and payment are written by the ORM's flush (#24), the line by one INSERT after
    it, the history by one bulk INSERT: re-read from the database, they are all there, the line as
    the cart's checkout writes a booking line (`_booking_rows`)."""
    from orders.models import Order
    from shop.history import history_of

    listing = make_listing(units=2, pay_on_arrival=True, households=[make_household()])
    user = make_user()
    res, _ = _book(client, api_token(user), listing, _day(4), 2)
    db.session.expire_all()
    booking = db.session.scalar(sa.select(Booking).where(Booking.code == res.json["code"]))
    order = db.session.get(Order, booking.order_id)
    assert (booking.user_id, booking.listing_id, booking.unit_type_id, booking.status) == (
        user.id,
        listing.id,
        listing.unit_types[0].id,
        "confirmed",
    )
    assert booking.confirmation_code == res.json["confirmation_code"] and booking.expires_at is None
    assert (order.code, order.status, order.total_fen) == (res.json["order"], "confirmed", booking.total_fen)
    [line] = order.lines
    assert (line.kind, line.booking_id, line.quantity, line.line_total_fen) == (
        "booking",
        booking.id,
        2,
        booking.total_fen,
    )
    assert (line.status, line.unit, line.village_id, line.unit_price_fen, line.commission_bps) == (
        "open",
        "晚",
        listing.village_id,
        booking.total_fen // 2,
        0,
    )
    assert line.title.startswith(listing.name) and line.shipment_id is None and line.product_id is None
    assert [entry["household_id"] for entry in line.benefit_split] == [listing.benefit_links[0].household_id]
    assert [p.state for p in order.payments] == ["created"]
    assert [(e.from_status, e.to_status) for e in history_of(booking)] == [(None, "held"), ("held", "confirmed")]
    assert [(e.from_status, e.to_status) for e in history_of(order)] == [(None, "pending"), ("pending", "confirmed")]
