"""Every state change of a booking is kept with time and actor (docs/rules.md):
check-in at the host's page, a no-show marked there, the stay completed by the scheduled job, a booking
the guest cancels and an unpaid one the host releases each leave a status event — not only the hold,
confirmation and expiry (tests/tourism/test_booking.py)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask_babel import force_locale

from orders.models import Order
from shop.history import history_of, note_text
from shop.timeutil import now_utc
from tests.factories import make_user
from tests.tourism.booking_setup import book
from tests.tourism.factories import arriving_today, booked_to_pay_on_arrival, make_listing
from tourism.models import Booking, BookingStatus
from tourism.services.booking import complete_stays


def _last_event(db, booking_id: int) -> tuple:
    db.session.expire_all()
    event = history_of(db.session.get(Booking, booking_id))[-1]
    return event.from_status, event.to_status, event.actor_id, event.created_at is not None


def test_check_in_and_the_completed_stay_are_kept_in_the_bookings_history(client, db, auth):
    host = make_user(role="host")
    booking = arriving_today(host, confirmation_code="604117")  # for one night
    db.session.commit()
    auth.login(host)
    assert client.post("/host/check-in", data={"confirmation_code": "604117"}).status_code == 302
    assert _last_event(db, booking.id) == ("confirmed", "checked_in", host.id, True)
    assert complete_stays(now_utc() + timedelta(days=2)) == 1  # the hourly job, after the check-out date
    db.session.commit()
    assert _last_event(db, booking.id) == ("checked_in", "completed", None, True)
    assert db.session.get(Booking, booking.id).status == BookingStatus.COMPLETED


def test_a_no_show_is_kept_in_the_bookings_history_with_the_host(client, db, auth):
    host = make_user(role="host")
    booking = arriving_today(host)
    db.session.commit()
    auth.login(host)
    assert client.post(f"/host/bookings/{booking.code}/no-show", data={"confirm": "1"}).status_code == 302
    assert _last_event(db, booking.id) == ("confirmed", "no_show", host.id, True)


def test_a_booking_the_guest_cancels_is_kept_in_its_history_with_the_guest(client, db, api_token, fake_stripe):
    listing = make_listing()
    guest = make_user()
    db.session.commit()
    headers = api_token(guest)
    code = book(client, headers, listing).json["code"]
    assert client.post(f"/api/v1/bookings/{code}/cancel", headers=headers).status_code == 200
    booking_id = db.session.scalar(sa.select(Booking.id).where(Booking.code == code))
    assert _last_event(db, booking_id) == ("held", "canceled", guest.id, True)


def test_an_unpaid_booking_the_host_releases_is_kept_in_its_history_with_the_host(client, db, auth):
    host = make_user(role="host")
    booking = booked_to_pay_on_arrival(host)
    db.session.commit()
    before = _last_event(db, booking.id)[1]
    auth.login(host)
    assert (
        client.post(f"/host/bookings/{booking.code}/cancel", data={"confirm": "1", "reason": "漏水"}).status_code == 302
    )
    assert _last_event(db, booking.id) == (before, "canceled", host.id, True)


def test_the_guests_order_history_says_in_the_pages_language_that_the_host_canceled(client, db, auth):
    """The host's release of an unpaid booking wrote the order's note `booking canceled by the host`, an
    English key shown as it was on the guest's Chinese order page (订单 已取消 · booking canceled by the host):
    it is one of the notes the reader reads in their language (shop.history.NOTE_LABELS), as is the booking's
    own `canceled by the host: unpaid`."""
    host = make_user(role="host")
    booking = booked_to_pay_on_arrival(host)
    db.session.commit()
    order = db.session.get(Order, booking.order_id)
    guest = booking.user
    auth.login(host)
    assert (
        client.post(f"/host/bookings/{booking.code}/cancel", data={"confirm": "1", "reason": "漏水"}).status_code == 302
    )
    auth.logout()
    auth.login(guest)
    zh = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "booking canceled by the host" not in zh and "· 接待户取消了预订</li>" in zh
    client.get("/lang/en")
    en = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "接待户取消了预订" not in en and "· The host canceled the booking</li>" in en
    with force_locale("zh_CN"):
        assert note_text("canceled by the host: unpaid") == "接待户取消了未付款的预订"
