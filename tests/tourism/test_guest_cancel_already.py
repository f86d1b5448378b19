"""The guest's 取消预订 done already (the step confirmed again after Back, a second tap, the API called
twice) is not a mistake: the booking's page says it is canceled, with no error, the API answers the
booking (200; `refund_fen` and `fee_fen` 0: this call refunded and kept nothing), and nothing happens
twice (one status change, one refund). The rule lives in the service
(`tourism.services.booking.booking_canceled_already`, asked by `cancel_booking` under the booking's
lock), which the guest's pages and the API follow; the orders' twin is tests/orders/test_buyer_cancel_already.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from orders.models import Refund
from orders.services.payments import confirm_payment, start_payment
from shop.history import history_of
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.tourism.factories import make_listing
from tourism.models import Booking, BookingStatus
from tourism.services.booking import BookingRequest, book_listing, on_order_paid


@pytest.fixture
def paid_booking(db, fake_stripe):
    return lambda guest: _paid_booking(db, fake_stripe, guest)


def _paid_booking(db, fake_stripe, guest) -> Booking:
    """A stay paid by card, ten days ahead (free cancellation: the whole ¥200 comes back)."""
    listing = make_listing(units=1, free_cancel_days=3, price_fen=10000)
    day = local_date(now_utc()) + timedelta(days=10)
    request = BookingRequest(listing_id=listing.id, check_in=day, check_out=day + timedelta(days=2), guests=2)
    booking = book_listing(request, user=guest, now=now_utc())
    payment = start_payment(booking.order.payments[0], now=now_utc())
    fake_stripe.succeed(payment.provider_ref)
    confirm_payment(payment, now=now_utc())
    on_order_paid(booking.order, now=now_utc())
    db.session.commit()
    assert booking.status == BookingStatus.CONFIRMED
    return booking


def _done_once(db, booking_id: int) -> None:
    """Canceled, with one status change and one refund of ¥200."""
    db.session.expire_all()
    booking = db.session.get_one(Booking, booking_id)
    assert booking.status == BookingStatus.CANCELED and booking.refunded_fen == 20000
    assert [e.to_status for e in history_of(booking)].count(BookingStatus.CANCELED) == 1
    assert [r.amount_fen for r in db.session.scalars(sa.select(Refund))] == [20000]


def test_a_cancel_confirmed_again_says_it_is_canceled_without_an_error(client, db, auth, paid_booking):
    guest = make_user()
    booking = paid_booking(guest)
    auth.login(guest)
    url = f"/bookings/{booking.code}/cancel?lang=zh_CN"
    assert client.post(url, data={"confirm": "1"}).status_code == 302
    for _ in range(2):  # the step confirmed again after Back; and once more
        again = client.post(url, data={"confirm": "1"}, follow_redirects=True)
        said = again.get_data(as_text=True)
        assert again.status_code == 200 and again.request.path == f"/bookings/{booking.code}"
        assert "预订已取消" in said and "该预订当前不能取消" not in said
    _done_once(db, booking.id)


def test_a_cancel_sent_twice_through_the_api_answers_the_booking_both_times_and_refunds_once(
    client, db, api_token, paid_booking
):
    """The API's cancel follows the page's rule (its second call answered 409 booking_not_cancelable)."""
    guest = make_user()
    booking = paid_booking(guest)
    headers = api_token(guest)
    answers = [client.post(f"/api/v1/bookings/{booking.code}/cancel", headers=headers) for _ in range(2)]
    assert [(a.status_code, a.json["status"], a.json["refund_fen"], a.json["refunded_fen"]) for a in answers] == [
        (200, "canceled", 20000, 20000),
        (200, "canceled", 0, 20000),  # this call refunded nothing; the booking says what came back
    ]
    _done_once(db, booking.id)
