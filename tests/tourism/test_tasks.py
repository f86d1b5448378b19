from datetime import timedelta

import sqlalchemy as sa

from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.tourism.factories import make_booking, make_listing
from tourism import tasks
from tourism.models import Booking, BookingStatus


def test_expire_holds_task_expires_stale_holds_once(db):
    listing = make_listing()
    stale = make_booking(
        listing,
        check_in=local_date(now_utc()) + timedelta(days=3),
        status=BookingStatus.HELD,
        expires_at=now_utc() - timedelta(minutes=1),
    )
    fresh = make_booking(
        listing,
        check_in=local_date(now_utc()) + timedelta(days=3),
        status=BookingStatus.HELD,
        expires_at=now_utc() + timedelta(minutes=10),
    )
    assert tasks.expire_holds() == 1
    assert tasks.expire_holds() == 0
    db.session.expire_all()
    assert db.session.get(Booking, stale.id).status == BookingStatus.EXPIRED
    assert db.session.get(Booking, fresh.id).status == BookingStatus.HELD


def test_confirmation_mail_carries_the_code(client, db, api_token, caplog):
    listing = make_listing(pay_on_arrival=True)
    user = make_user()
    day = local_date(now_utc()) + timedelta(days=4)
    with caplog.at_level("INFO", logger="shop.mail"):
        r = client.post(
            "/api/v1/bookings",
            json={
                "listing_id": listing.id,
                "checkin": day.isoformat(),
                "checkout": (day + timedelta(days=1)).isoformat(),
                "guests": 1,
                "payment_method": "arrival",
            },
            headers=api_token(user),
        )
    assert r.status_code == 201
    code = r.json["confirmation_code"]
    assert any(user.email in rec.getMessage() and code in rec.getMessage() for rec in caplog.records)
    assert db.session.scalar(sa.select(Booking.confirmation_code)) == code
