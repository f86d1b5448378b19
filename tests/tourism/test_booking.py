"""Booking services: hold validation, the orders pipeline hooks, expiry, cancel, check-in, completion."""

import re
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from orders.models import Refund
from shop.db import commit
from shop.errors import ValidationError
from shop.extensions import db
from shop.history import history_of
from tests.factories import make_household, make_user
from tests.tourism.factories import make_booking, make_listing, make_session
from tourism.models import Booking, BookingStatus
from tourism.services.booking import (
    BookingRequest,
    BookingUnavailable,
    WrongConfirmationCode,
    book_listing,
    cancel_booking,
    check_in_booking,
    complete_stays,
    expire_holds,
    hold_booking,
    on_order_paid,
    on_order_released,
)

pytestmark = pytest.mark.usefixtures("fake_stripe")

# `now` fixture: 2026-11-28 04:00 UTC = 12:00 Beijing; Beijing "today" is 2026-11-28 (a Saturday)
TODAY = date(2026, 11, 28)
D = date(2026, 12, 10)  # a Thursday


def _stay_req(listing, check_in=D, nights=2, guests=2, **kw):
    return BookingRequest(
        listing_id=listing.id, check_in=check_in, check_out=check_in + timedelta(days=nights), guests=guests, **kw
    )


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_book_listing_holds_and_creates_order_line_and_payment(db, now):
    households = [make_household(), make_household()]
    listing = make_listing(units=1, price_fen=20000, households=households)
    user = make_user()
    booking = book_listing(_stay_req(listing), user=user, now=now)
    assert booking.status == BookingStatus.HELD
    assert booking.expires_at == now + timedelta(minutes=15)
    assert booking.total_fen == 40000
    order = booking.order
    assert order.status == "pending" and order.total_fen == 40000 and order.payment_method == "card"
    assert booking.code == f"{order.code}-S-1"
    [line] = order.lines
    assert (line.kind, line.booking_id, line.quantity, line.line_total_fen, line.commission_bps) == (
        "booking",
        booking.id,
        2,
        40000,
        0,
    )
    assert line.village_id == listing.village_id
    assert sorted(s["household_id"] for s in line.benefit_split) == sorted(h.id for h in households)
    [payment] = order.payments
    assert payment.provider == "stripe" and payment.amount_fen == 40000 and payment.state == "created"
    assert [e.to_status for e in history_of(booking)] == ["held"]


def test_pay_on_arrival_confirms_at_once_with_a_confirmation_code(db, now):
    listing = make_listing(pay_on_arrival=True)
    booking = book_listing(_stay_req(listing, pay_on_arrival=True), user=make_user(), now=now)
    assert booking.status == BookingStatus.CONFIRMED
    assert len(booking.confirmation_code) == 6 and booking.confirmation_code.isdigit()
    assert booking.order.status == "confirmed" and booking.order.payment_method == "cod"


def test_pay_on_arrival_refused_when_the_host_does_not_allow_it(db, now):
    listing = make_listing(pay_on_arrival=False)
    with pytest.raises(ValidationError):
        book_listing(_stay_req(listing, pay_on_arrival=True), user=make_user(), now=now)
    assert _count(Booking) == 0


@pytest.mark.parametrize(
    "change, field",
    [
        (dict(check_in=TODAY - timedelta(days=1)), "checkin"),
        (dict(check_out=D), "checkout"),  # check-out == check-in
        (dict(check_out=D - timedelta(days=1)), "checkout"),
        (dict(guests=0), "guests"),
        (dict(guests=5), "guests"),  # max 2 per room
        (dict(check_out=D + timedelta(days=15)), "checkout"),  # MAX_STAY_NIGHTS = 14
        (dict(units=3), "units"),
        (dict(unit_type_id=999999), "unit_type_id"),
    ],
)
def test_hold_rejects_bad_input_and_holds_nothing(db, now, change, field):
    listing = make_listing(units=2, max_guests=2)
    req = _stay_req(listing)
    for key, value in change.items():
        setattr(req, key, value)
    with pytest.raises(ValidationError) as exc:
        hold_booking(req, user=make_user(), now=now)
    assert field in exc.value.fields
    assert _count(Booking) == 0


def test_hold_unknown_or_unpublished_listing_is_404(db, now):
    from shop.errors import NotFound

    hidden = make_listing(is_published=False)
    for listing_id in (hidden.id, 999999):
        with pytest.raises(NotFound):
            hold_booking(
                BookingRequest(listing_id=listing_id, check_in=D, check_out=D + timedelta(days=1), guests=1),
                user=make_user(),
                now=now,
            )


def test_hold_full_night_is_409_but_same_day_turnover_works(db, now):
    listing = make_listing(units=1)
    make_booking(listing, check_in=D, check_out=D + timedelta(days=2))
    with pytest.raises(BookingUnavailable):
        hold_booking(_stay_req(listing, check_in=D + timedelta(days=1)), user=make_user(), now=now)
    booking = hold_booking(_stay_req(listing, check_in=D + timedelta(days=2)), user=make_user(), now=now)
    assert booking.check_in_date == D + timedelta(days=2)


def test_hold_on_closed_date_is_409(db, now):
    from tourism.services.host import close_dates

    listing = make_listing(units=3)
    close_dates(listing, [D + timedelta(days=1)], now=now)
    with pytest.raises(BookingUnavailable):
        hold_booking(_stay_req(listing), user=make_user(), now=now)


def test_session_capacity_is_guests_and_past_sessions_refused(db, now):
    listing = make_listing(kind="experience", max_guests=6)
    session = make_session(listing, day=D, capacity=5)
    user = make_user()
    hold_booking(BookingRequest(listing_id=listing.id, session_id=session.id, guests=4), user=user, now=now)
    with pytest.raises(BookingUnavailable):
        hold_booking(BookingRequest(listing_id=listing.id, session_id=session.id, guests=2), user=user, now=now)
    b = hold_booking(BookingRequest(listing_id=listing.id, session_id=session.id, guests=1), user=user, now=now)
    assert (b.check_in_date, b.check_out_date, b.session_id) == (D, D + timedelta(days=1), session.id)
    past = make_session(listing, day=TODAY, hour=9)  # 09:00 Beijing today, now is 12:00
    with pytest.raises(ValidationError):
        hold_booking(BookingRequest(listing_id=listing.id, session_id=past.id, guests=1), user=user, now=now)


def test_ticket_daily_quota_counts_people(db, now):
    listing = make_listing(kind="ticket", units=10, max_guests=8, price_fen=5000)
    user = make_user()
    b = hold_booking(BookingRequest(listing_id=listing.id, check_in=D, guests=8), user=user, now=now)
    assert b.total_fen == 40000
    with pytest.raises(BookingUnavailable):
        hold_booking(BookingRequest(listing_id=listing.id, check_in=D, guests=3), user=user, now=now)
    hold_booking(BookingRequest(listing_id=listing.id, check_in=D, guests=2), user=user, now=now)


def test_booking_at_2330_beijing_uses_beijing_today(db):
    listing = make_listing(kind="ticket", units=10, max_guests=8)
    user = make_user()
    late = datetime(2026, 11, 28, 15, 30, tzinfo=timezone.utc)  # 23:30 Beijing, 28 Nov
    b = hold_booking(BookingRequest(listing_id=listing.id, check_in=date(2026, 11, 28), guests=1), user=user, now=late)
    assert b.check_in_date == date(2026, 11, 28)
    after_midnight = datetime(2026, 11, 28, 16, 30, tzinfo=timezone.utc)  # 00:30 Beijing, 29 Nov
    with pytest.raises(ValidationError):
        hold_booking(
            BookingRequest(listing_id=listing.id, check_in=date(2026, 11, 28), guests=1), user=user, now=after_midnight
        )


def _pay(order, now=None):
    """The payment pipeline confirms the card payment (as the webhook task would)."""
    from orders.services.payments import confirm_payment

    confirm_payment(order.payments[0], now=now or order.created_at)


def test_on_order_paid_confirms_held_booking_once(db, now):
    listing = make_listing(units=1)
    booking = book_listing(_stay_req(listing), user=make_user(), now=now)
    _pay(booking.order)
    assert on_order_paid(booking.order, now=now + timedelta(minutes=5)) is True
    assert booking.status == BookingStatus.CONFIRMED and booking.confirmation_code
    code = booking.confirmation_code
    assert on_order_paid(booking.order, now=now + timedelta(minutes=6)) is True
    assert booking.confirmation_code == code
    assert [e.to_status for e in history_of(booking)] == ["held", "confirmed"]


def test_expire_holds_releases_capacity_exactly_once(db, now):
    listing = make_listing(units=1)
    booking = book_listing(_stay_req(listing), user=make_user(), now=now)
    later = now + timedelta(minutes=16)
    assert expire_holds(now + timedelta(minutes=14)) == 0
    assert expire_holds(later) == 1
    assert expire_holds(later) == 0
    assert booking.status == BookingStatus.EXPIRED
    # the orders expiry job expires the order (same deadline) and its hook finds nothing left to release
    from orders.services.expiry import expire_pending_orders

    assert expire_pending_orders(later) == [booking.order.code]
    assert booking.order.status == "expired"
    assert [e.to_status for e in history_of(booking)] == ["held", "expired"]
    # the room can be booked again
    other = hold_booking(_stay_req(listing), user=make_user(), now=later)
    assert other.status == BookingStatus.HELD


def test_payment_after_expiry_reholds_when_room_is_free(db, now):
    from orders.services.expiry import expire_pending_orders

    listing = make_listing(units=1)
    booking = book_listing(_stay_req(listing), user=make_user(), now=now)
    later = now + timedelta(minutes=20)
    expire_holds(later)
    expire_pending_orders(later)
    _pay(booking.order, now=later)
    assert booking.status == BookingStatus.CONFIRMED and booking.confirmation_code
    assert booking.order.status == "confirmed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0


def test_payment_after_expiry_refunds_when_room_was_taken(db, now):
    listing = make_listing(units=1)
    booking = book_listing(_stay_req(listing), user=make_user(), now=now)
    later = now + timedelta(minutes=20)
    hold_booking(_stay_req(listing), user=make_user(), now=later)  # the stale hold no longer counts
    _pay(booking.order, now=later)  # the order is still pending: the expiry job has not run yet
    assert booking.status == BookingStatus.EXPIRED
    assert not booking.confirmation_code
    refund = db.session.scalar(sa.select(Refund))
    assert refund.amount_fen == booking.total_fen and refund.order_line_id == booking.order.lines[0].id
    assert booking.order.lines[0].status == "refunded"
    assert booking.order.status == "canceled"
    assert on_order_paid(booking.order, now=later) is False  # the hook's own answer, still refund-safe
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 1


def test_on_order_released_expires_holds(db, now):
    listing = make_listing(units=1)
    booking = book_listing(_stay_req(listing), user=make_user(), now=now)
    assert on_order_released(booking.order, now=now) == 1
    assert booking.status == BookingStatus.EXPIRED
    assert on_order_released(booking.order, now=now) == 0


def _confirmed(listing, now, check_in=D):
    booking = book_listing(_stay_req(listing, check_in=check_in), user=make_user(), now=now)
    _pay(booking.order)
    on_order_paid(booking.order, now=now)
    return booking


def test_cancel_inside_free_window_refunds_in_full(db, now):
    listing = make_listing(free_cancel_days=3, cancel_fee_pct=50, price_fen=20000)
    booking = _confirmed(listing, now)
    quote = cancel_booking(booking, actor=booking.user, now=now)
    assert (quote.refund_fen, quote.fee_fen, quote.is_free) == (40000, 0, True)
    assert booking.status == BookingStatus.CANCELED and booking.refunded_fen == 40000
    refund = db.session.scalar(sa.select(Refund))
    assert refund.amount_fen == 40000
    assert booking.order.lines[0].status == "refunded"


def test_cancel_late_keeps_the_fee_percent(db, now):
    listing = make_listing(free_cancel_days=3, cancel_fee_pct=30, price_fen=10000)
    booking = _confirmed(listing, now, check_in=TODAY + timedelta(days=2))
    quote = cancel_booking(booking, actor=booking.user, now=now)
    assert (quote.refund_fen, quote.fee_fen) == (14000, 6000)
    assert booking.refunded_fen == 14000


def test_cancel_twice_refunds_once_and_answers_none_the_second_time(db, now):
    booking = _confirmed(make_listing(), now)
    assert cancel_booking(booking, actor=booking.user, now=now) is not None
    assert cancel_booking(booking, actor=booking.user, now=now) is None  # canceled already: nothing again
    assert len(db.session.scalars(sa.select(Refund)).all()) == 1


def test_check_in_needs_the_right_code_and_the_host(db, now):
    host = make_user(role="host")
    other_host = make_user(role="host")
    listing = make_listing(host=host, kind="ticket", units=10, max_guests=5)
    booking = book_listing(BookingRequest(listing_id=listing.id, check_in=TODAY, guests=2), user=make_user(), now=now)
    _pay(booking.order)
    on_order_paid(booking.order, now=now)
    wrong = "000000" if booking.confirmation_code != "000000" else "111111"
    with pytest.raises(WrongConfirmationCode):
        check_in_booking(booking, wrong, actor=host, now=now)
    from shop.errors import NotFound

    with pytest.raises(NotFound):
        check_in_booking(booking, booking.confirmation_code, actor=other_host, now=now)
    check_in_booking(booking, booking.confirmation_code, actor=host, now=now)
    assert booking.status == BookingStatus.CHECKED_IN


def test_complete_stays_after_checkout_date_and_credits_the_households(db, now):
    from ledger.models import IncomeEntry

    host = make_user(role="host")
    h1, h2 = make_household(), make_household()
    listing = make_listing(host=host, units=1, price_fen=10001, households=[h1, h2])
    booking = book_listing(_stay_req(listing, check_in=TODAY, nights=1), user=make_user(), now=now)
    _pay(booking.order)
    check_in_booking(booking, booking.confirmation_code, actor=host, now=now)
    assert complete_stays(now) == 0  # check-out is tomorrow (Beijing)
    tomorrow = now + timedelta(days=1)
    assert complete_stays(tomorrow) == 1
    assert booking.status == BookingStatus.COMPLETED
    entries = list(db.session.scalars(sa.select(IncomeEntry).order_by(IncomeEntry.household_id)))
    assert [e.household_id for e in entries] == sorted([h1.id, h2.id])
    assert sum(e.amount_fen for e in entries) == 10001  # exact to the fen, commission 0
    assert {e.order_line_id for e in entries} == {booking.order.lines[0].id}
    assert complete_stays(tomorrow) == 0


def test_no_show_of_pay_on_arrival_cancels_the_unpaid_order(db, now):
    from tourism.services.booking import mark_no_show

    host = make_user(role="host")
    listing = make_listing(host=host, kind="ticket", units=10, max_guests=4, pay_on_arrival=True)
    booking = book_listing(
        BookingRequest(listing_id=listing.id, check_in=TODAY, guests=2, pay_on_arrival=True), user=make_user(), now=now
    )
    from shop.errors import NotFound

    with pytest.raises(NotFound):
        mark_no_show(booking, actor=make_user(role="host"), now=now)  # another host's booking
    mark_no_show(booking, actor=host, now=now)
    assert booking.status == BookingStatus.NO_SHOW
    assert booking.order.status == "canceled"


def test_a_no_show_comes_with_the_booking_start_in_beijing_time(db):
    """A session at 14:00 (Beijing): refused at 13:59, marked at 14:00; a stay arriving on the 5th:
    refused at 23:59 on the 4th (Beijing, 15:59 UTC), allowed from 00:00 on the 5th."""
    from shop.errors import Conflict
    from tourism.services.booking import mark_no_show, no_show_allowed

    host = make_user(role="host")
    day = date(2026, 12, 5)
    listing = make_listing(host=host, kind="experience")
    experience = make_booking(listing, check_in=day, session=make_session(listing, day=day, hour=14))
    stay = make_booking(make_listing(host=host), check_in=day, check_out=day + timedelta(days=2))
    before_two = datetime(2026, 12, 5, 5, 59, tzinfo=timezone.utc)  # 13:59 in Beijing
    assert not no_show_allowed(experience, now=before_two) and no_show_allowed(stay, now=before_two)
    with pytest.raises(Conflict) as caught:
        mark_no_show(experience, actor=host, now=before_two)
    assert caught.value.code == "no_show_before_session" and caught.value.params["start"] == "2026-12-05 14:00"
    eve = datetime(2026, 12, 4, 15, 59, tzinfo=timezone.utc)  # 23:59 on the 4th in Beijing
    with pytest.raises(Conflict) as caught:
        mark_no_show(stay, actor=host, now=eve)
    assert caught.value.code == "no_show_before_arrival"
    assert no_show_allowed(stay, now=eve + timedelta(minutes=1))
    mark_no_show(experience, actor=host, now=before_two + timedelta(minutes=1))
    assert experience.status == BookingStatus.NO_SHOW and not no_show_allowed(experience, now=before_two)


def test_the_order_page_of_a_stay_says_what_its_list_says(db, now, client, auth):
    """An order that is one booking stays `confirmed` after the stay (orders settles shipments, not stays):
    the order list showed 「预订 已完成」 but the order page's title said 「已确认」. Both show the booking."""
    host = make_user(role="host")
    guest = make_user(email="stayed@test.cn")
    listing = make_listing(host=host, units=1, price_fen=10001)
    booking = book_listing(_stay_req(listing, check_in=TODAY, nights=1), user=guest, now=now)
    _pay(booking.order)
    check_in_booking(booking, booking.confirmation_code, actor=host, now=now)
    assert complete_stays(now + timedelta(days=1)) == 1
    commit()
    auth.login(guest)
    listed = client.get("/orders").get_data(as_text=True)
    page = client.get(f"/orders/{booking.order.code}").get_data(as_text=True)
    title = re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)
    assert "已完成" in title and "已确认" not in title
    assert "已完成" in listed
