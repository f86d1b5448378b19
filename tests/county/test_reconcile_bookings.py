"""#18: bookings in the money reconciliation — per booking, money received (card captured, cash
taken) − refunds = what it owes, and credits = the split of the money received. Clean after a mix
of every booking path; a planted discrepancy is listed (CLI exit 1, and the 对账 page)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from county.services.reconcile import check
from orders.models import OrderPayment, Refund
from orders.services import payments
from orders.services.expiry import expire_pending_orders
from tests.conftest import requires_postgres
from tests.factories import make_household, make_user
from tests.tourism.factories import make_listing
from tourism.services.booking import (
    BookingRequest,
    book_listing,
    cancel_booking,
    check_in_booking,
    complete_stays,
    mark_no_show,
    refund_kept,
)

pytestmark = [requires_postgres, pytest.mark.usefixtures("fake_stripe")]

TODAY = date(2026, 11, 28)  # Beijing "today" of the `now` fixture


def _book(listing, now, *, check_in=TODAY, nights=1, pay_on_arrival=False, paid=True):
    booking = book_listing(
        BookingRequest(
            listing_id=listing.id,
            check_in=check_in,
            check_out=check_in + timedelta(days=nights),
            guests=2,
            pay_on_arrival=pay_on_arrival,
        ),
        user=make_user(),
        now=now,
    )
    if paid and not pay_on_arrival:
        payments.confirm_payment(booking.order.payments[0], now=now)
    return booking


def _stay(booking, host, now):
    check_in_booking(
        booking,
        booking.confirmation_code,
        actor=host,
        now=now,
        cash_received_fen=booking.total_fen if booking.pay_on_arrival else None,
    )


def _codes(result) -> set[tuple[str, str]]:
    return {(d.get("subject"), d["problem"]) for d in result["discrepancies"]}


def test_bookings_reconcile_after_every_path_and_a_planted_difference_is_listed(app, db, now, client, auth):
    host = make_user(role="host")
    households = [make_household(), make_household()]
    listing = make_listing(
        host=host,
        price_fen=12000,
        units=10,
        pay_on_arrival=True,
        free_cancel_days=3,
        cancel_fee_pct=30,
        households=households,
    )
    card_done = _book(listing, now)
    arrival_done = _book(listing, now, pay_on_arrival=True)
    card_refunded = _book(listing, now)
    for booking in (card_done, arrival_done, card_refunded):
        _stay(booking, host, now)
    assert complete_stays(now + timedelta(days=1)) == 3
    payments.refund_line(card_refunded.order.lines[0], actor=make_user(role="admin"), now=now + timedelta(days=1))
    late = _book(listing, now, check_in=TODAY + timedelta(days=1))
    cancel_booking(late, actor=late.user, now=now)  # 30 % kept
    free = _book(listing, now, check_in=TODAY + timedelta(days=10))
    cancel_booking(free, actor=free.user, now=now)
    no_show = _book(listing, now)
    mark_no_show(no_show, actor=host, now=now)
    given_back = _book(listing, now)
    mark_no_show(given_back, actor=host, now=now)
    refund_kept(given_back, actor=host, now=now, reason="goodwill")
    unpaid = _book(listing, now, check_in=TODAY + timedelta(days=1), pay_on_arrival=True)
    cancel_booking(unpaid, actor=unpaid.user, now=now)
    _book(listing, now, check_in=TODAY + timedelta(days=2), pay_on_arrival=True)  # still to come
    _book(listing, now, check_in=TODAY + timedelta(days=2))  # paid, still to come
    _book(listing, now, check_in=TODAY + timedelta(days=3), paid=False)  # never paid: the hold expires
    expire_pending_orders(now + timedelta(hours=2))
    db.session.flush()

    result = check()
    assert result["discrepancies"] == []
    assert result["checked"] >= 11
    runner = app.test_cli_runner()
    assert runner.invoke(args=["county", "reconcile"]).exit_code == 0

    # planted: a stay completed and credited whose cash was never taken ...
    arrival_payment = arrival_done.order.payments[0]
    db.session.execute(sa.update(OrderPayment).where(OrderPayment.id == arrival_payment.id).values(state="pending"))
    # ... and a card refund the booking knows nothing of
    db.session.add(Refund(payment_id=card_done.order.payments[0].id, amount_fen=500, state="succeeded", created_at=now))
    db.session.flush()
    db.session.expire_all()
    problems = _codes(check())
    assert (arrival_done.code, "cash_not_received") in problems
    assert (arrival_done.code, "credit_not_money_received") in problems
    assert (card_done.code, "card_mismatch") in problems
    assert (card_done.code, "credit_not_money_received") in problems  # credited 12,000 of 11,500 received
    out = runner.invoke(args=["county", "reconcile"])
    assert out.exit_code == 1 and arrival_done.code in out.output and "cash_not_received" in out.output

    county = make_user(role="county")
    auth.login(county)
    page = client.get("/county/reconcile")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and arrival_done.code in text and card_done.code in text
