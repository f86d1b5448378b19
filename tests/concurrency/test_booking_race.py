"""Concurrent holds on PostgreSQL: exactly the available count succeeds, the rest get 409.

Each thread has its own app context (own session and connection) and calls the real service, then
commits. The unit type row lock (`SELECT … FOR UPDATE`) serialises the availability checks.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from shop.db import commit, rollback
from shop.extensions import db
from shop.history import StatusEvent
from tests.conftest import requires_postgres
from tests.factories import NOW, make_user
from tests.tourism.factories import make_listing, make_session
from tourism.models import Booking, BookingStatus
from tourism.services.booking import BookingRequest, BookingUnavailable, expire_holds, hold_booking

pytestmark = [requires_postgres, pytest.mark.concurrency]

D = date(2026, 12, 10)
THREADS = 12


def _race(app, requests_and_users):
    barrier = threading.Barrier(len(requests_and_users))
    results: list[str] = []
    lock = threading.Lock()

    def worker(req, user_id):
        with app.app_context():
            outcome = "error"
            try:
                from shop.auth.models import User

                user = db.session.get(User, user_id)
                barrier.wait(timeout=10)
                hold_booking(req, user=user, now=NOW)
                commit()
                outcome = "ok"
            except BookingUnavailable:
                rollback()
                outcome = "409"
            except Exception as exc:  # recorded, the test fails on it
                rollback()
                outcome = f"error {exc!r}"
            finally:
                db.session.remove()
                with lock:
                    results.append(outcome)

    threads = [threading.Thread(target=worker, args=ru) for ru in requests_and_users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


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
    assert sorted(results) == ["409"] * (THREADS - 3) + ["ok"] * 3
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
    assert sorted(results) == ["409"] * (THREADS - 3) + ["ok"] * 3  # 3 × 3 = 9 ≤ 10 < 12
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
    counts: list[int] = []
    barrier = threading.Barrier(3)

    def run():
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                counts.append(expire_holds(later))
                commit()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(counts) == 5
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
    barrier = threading.Barrier(THREADS)
    results: list[str] = []

    def worker(user_id):
        with app.app_context():
            from shop.auth.models import User

            try:
                user = db.session.get(User, user_id)
                barrier.wait(timeout=10)
                book_listing(
                    BookingRequest(listing_id=listing.id, check_in=D, guests=3, pay_on_arrival=True), user=user, now=NOW
                )
                commit()
                results.append("ok")
            except BookingUnavailable:
                rollback()
                results.append("409")
            except Exception as exc:
                rollback()
                results.append(f"error {exc!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(u.id,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["409"] * (THREADS - 3) + ["ok"] * 3  # 3 × 3 = 9 ≤ 10
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 3
    assert (
        db.session.scalar(sa.select(sa.func.sum(Booking.guests)).where(Booking.status == BookingStatus.CONFIRMED)) == 9
    )
