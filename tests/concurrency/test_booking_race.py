"""Concurrent holds on PostgreSQL: exactly the available count succeeds, the rest get 409.

Each thread has its own app context (own session and connection) and calls the real service, then
commits. The unit type row lock (`SELECT … FOR UPDATE`) serialises the availability checks.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from shop.auth.models import User
from shop.extensions import db
from shop.history import StatusEvent
from tests.concurrency.race import Loaded, at_once
from tests.conftest import requires_postgres
from tests.factories import NOW, make_user
from tests.tourism.factories import make_listing, make_session
from tourism.models import Booking, BookingStatus
from tourism.services.booking import BookingRequest, BookingUnavailable, expire_holds, hold_booking

pytestmark = [requires_postgres, pytest.mark.concurrency]

D = date(2026, 12, 10)
THREADS = 12


def _race(app, requests_and_users) -> list[str]:
    """Each request held for its user, all at once: "ok" for a hold, "BookingUnavailable" for a refusal
    (BookingUnavailable), anything else is an error the test fails on."""

    def hold(req, user_id) -> Loaded:
        return Loaded(lambda: db.session.get(User, user_id), lambda user: hold_booking(req, user=user, now=NOW))

    return at_once(app, [hold(*ru) for ru in requests_and_users], refused=(BookingUnavailable,)).kinds


def test_hold_booking_last_rooms_race(app, committed_db):
    listing = make_listing(units=3, max_guests=2)
    users = [make_user() for _ in range(THREADS)]
    db.session.commit()
    # overlapping stays: every request covers the night of D+1
    reqs = [
        (
            BookingRequest(
                listing_id=listing.id,
                check_in=D + timedelta(days=i % 2),
                check_out=D + timedelta(days=2 + i % 2),
                guests=2,
            ),
            u.id,
        )
        for i, u in enumerate(users)
    ]
    results = _race(app, reqs)
    assert sorted(results) == ["BookingUnavailable"] * (THREADS - 3) + ["ok"] * 3
    taken = db.session.scalar(
        sa.select(sa.func.sum(Booking.units)).where(
            Booking.check_in_date <= D + timedelta(days=1), Booking.check_out_date > D + timedelta(days=1)
        )
    )
    assert taken == 3


def test_hold_booking_session_capacity_race(app, committed_db):
    listing = make_listing(kind="experience", max_guests=4)
    session = make_session(listing, day=D, capacity=10)
    users = [make_user() for _ in range(THREADS)]
    db.session.commit()
    reqs = [(BookingRequest(listing_id=listing.id, session_id=session.id, guests=3), u.id) for u in users]
    results = _race(app, reqs)
    assert sorted(results) == ["BookingUnavailable"] * (THREADS - 3) + ["ok"] * 3  # 3 × 3 = 9 ≤ 10 < 12
    assert db.session.scalar(sa.select(sa.func.sum(Booking.guests)).where(Booking.session_id == session.id)) == 9


def test_overlapping_expiry_runs_expire_each_hold_once(app, committed_db):
    listing = make_listing(units=5)
    user = make_user()
    db.session.commit()
    for i in range(5):
        hold_booking(
            BookingRequest(listing_id=listing.id, check_in=D, check_out=D + timedelta(days=1), guests=1),
            user=user,
            now=NOW,
        )
    db.session.commit()
    later = NOW + timedelta(minutes=30)
    race = at_once(app, [lambda: expire_holds(later)] * 3, refused=())
    assert race.errors == []
    assert sum(race.values) == 5
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(StatusEvent)
            .where(StatusEvent.subject_type == "bookings", StatusEvent.to_status == BookingStatus.EXPIRED)
        )
        == 5
    )


def test_book_listing_ticket_quota_race_through_the_order_pipeline(app, committed_db):
    """The whole sale (hold + order + line + payment, pay on arrival) under contention: no deadlock, no oversell."""
    from orders.models import Order
    from tourism.services.booking import book_listing

    listing = make_listing(kind="ticket", units=10, max_guests=4, pay_on_arrival=True)
    users = [make_user() for _ in range(THREADS)]
    db.session.commit()
    listing_id = listing.id

    def book(user_id) -> Loaded:
        return Loaded(
            lambda: db.session.get(User, user_id),
            lambda user: book_listing(
                BookingRequest(listing_id=listing_id, check_in=D, guests=3, pay_on_arrival=True), user=user, now=NOW
            ),
        )

    results = at_once(app, [book(u.id) for u in users], refused=(BookingUnavailable,)).kinds
    assert sorted(results) == ["BookingUnavailable"] * (THREADS - 3) + ["ok"] * 3  # 3 × 3 = 9 ≤ 10
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 3
    assert (
        db.session.scalar(sa.select(sa.func.sum(Booking.guests)).where(Booking.status == BookingStatus.CONFIRMED)) == 9
    )
