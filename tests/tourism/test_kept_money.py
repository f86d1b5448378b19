"""Money a booking keeps (late-cancellation fee, no-show charge) reaches the listing's households
(docs/MONEY.md, "Tourism"): credited once by the booking's split, reversed if given back, in the
county figures and in the reconciliation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from county.services.reconcile import check
from county.services.reports import income_by
from ledger.models import IncomeEntry
from ledger.services import KEPT_NO_SHOW, credit_kept
from orders.models import OrderLine, Refund
from shop.db import commit
from shop.errors import Conflict
from shop.extensions import db
from tests.concurrency.race import Loaded, at_once
from tests.conftest import requires_postgres
from tests.factories import make_household, make_user
from tests.tourism.factories import make_listing
from tourism.models import Booking, BookingStatus
from tourism.services.booking import (
    BookingRequest,
    book_listing,
    cancel_booking,
    mark_no_show,
    on_order_paid,
    refund_kept,
)

pytestmark = pytest.mark.usefixtures("fake_stripe")

TODAY = date(2026, 11, 28)  # Beijing "today" of the `now` fixture


def _entries(line_id):
    return list(
        db.session.scalars(sa.select(IncomeEntry).where(IncomeEntry.order_line_id == line_id).order_by(IncomeEntry.id))
    )


def _paid_stay(listing, now, *, check_in, nights=2, pay_on_arrival=False):
    from orders.services.payments import confirm_payment

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
    if not pay_on_arrival:
        confirm_payment(booking.order.payments[0], now=now)
        on_order_paid(booking.order, now=now)
    return booking


def test_late_cancellation_fee_is_credited_by_the_split_once_and_reconciles(db, now):
    h1, h2, h3 = make_household(), make_household(), make_household()
    listing = make_listing(free_cancel_days=3, cancel_fee_pct=30, price_fen=14900, households=[h1, h2, h3])
    booking = _paid_stay(listing, now, check_in=TODAY + timedelta(days=1))  # 2 nights: 29,800 fen
    quote = cancel_booking(booking, actor=booking.user, now=now)
    assert (quote.refund_fen, quote.fee_fen) == (20860, 8940)  # the ¥89.40 of the issue
    [line] = booking.order.lines
    entries = _entries(line.id)
    assert sorted(e.household_id for e in entries) == sorted([h1.id, h2.id, h3.id])
    assert sum(e.amount_fen for e in entries) == 8940 and sorted(e.amount_fen for e in entries) == [2980] * 3
    assert {e.kind for e in entries} == {"tourism"} and {e.ref for e in entries} == {"kept:late_cancel"}
    # exactly once: a second credit (retried task, double click) adds nothing
    assert len(credit_kept(line, amount_fen=8940, ref="kept:late_cancel", now=now)) == 3
    assert len(_entries(line.id)) == 3
    # in the county figures, by village and by household
    by_village = {r["key"]: r for r in income_by("village")}
    assert by_village[listing.village_id]["tourism_fen"] == 8940
    assert sum(r["total_fen"] for r in income_by("household")) == 8940
    assert check()["discrepancies"] == []


def test_free_cancellation_and_unpaid_pay_on_arrival_credit_nothing(db, now):
    household = make_household()
    listing = make_listing(free_cancel_days=3, pay_on_arrival=True, households=[household])
    free = _paid_stay(listing, now, check_in=TODAY + timedelta(days=10))
    cancel_booking(free, actor=free.user, now=now)
    late_unpaid = _paid_stay(listing, now, check_in=TODAY + timedelta(days=1), pay_on_arrival=True)
    cancel_booking(late_unpaid, actor=late_unpaid.user, now=now)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IncomeEntry)) == 0
    result = check()
    assert result["discrepancies"] == [] and result["checked"] >= 2


def test_no_show_charge_is_credited_and_a_refund_of_it_is_reversed(db, now):
    host = make_user(role="host")
    h1, h2 = make_household(), make_household()
    listing = make_listing(host=host, price_fen=11400, households=[h1, h2], units=1)
    booking = _paid_stay(listing, now, check_in=TODAY)  # 2 nights: ¥228.00
    mark_no_show(booking, actor=host, now=now)
    [line] = booking.order.lines
    entries = _entries(line.id)
    assert sum(e.amount_fen for e in entries) == 22800 and {e.ref for e in entries} == {KEPT_NO_SHOW}
    assert check()["discrepancies"] == []
    with pytest.raises(Exception):
        refund_kept(booking, actor=make_user(role="host"), now=now)  # another host's booking
    assert refund_kept(booking, actor=host, now=now, reason="goodwill") == 22800
    refund = db.session.scalar(sa.select(Refund).where(Refund.order_line_id == line.id))
    assert refund.amount_fen == 22800
    assert sum(e.amount_fen for e in _entries(line.id)) == 0
    reversals = [e for e in _entries(line.id) if e.kind == "reversal"]
    assert {e.ref for e in reversals} == {f"refund:{refund.id}"}
    assert check()["discrepancies"] == []
    with pytest.raises(Conflict):
        refund_kept(booking, actor=host, now=now)  # nothing left to give back
    assert sum(r["total_fen"] for r in income_by("household")) == 0


def test_reconciliation_reports_kept_money_never_credited(db, now):
    household = make_household()
    listing = make_listing(price_fen=10000, households=[household])
    booking = _paid_stay(listing, now, check_in=TODAY)
    booking.status = BookingStatus.NO_SHOW  # planted: the charge was kept, never credited
    db.session.flush()
    [problem] = check()["discrepancies"]
    assert problem["problem"] == "kept_fee_not_credited" and problem["expected_fen"] == 20000
    assert problem["booking"] == booking.code
    # and a credit that does not match what was kept
    credit_kept(booking.order.lines[0], amount_fen=5000, ref=KEPT_NO_SHOW, now=now)
    [problem] = check()["discrepancies"]
    assert problem["problem"] == "kept_fee_mismatch" and problem["credited_fen"] == 5000


def test_reconcile_cli_lists_kept_money_discrepancies(app, db, now):
    listing = make_listing(price_fen=10000, households=[make_household()])
    booking = _paid_stay(listing, now, check_in=TODAY)
    booking.status = BookingStatus.NO_SHOW
    db.session.flush()
    result = app.test_cli_runner().invoke(args=["county", "reconcile"])
    assert result.exit_code == 1 and f"line {booking.order.lines[0].id}" in result.output


@requires_postgres
def test_two_hosts_marking_the_same_no_show_credit_it_once(app, committed_db, now):
    host = make_user(role="host")
    households = [make_household(), make_household()]
    listing = make_listing(host=host, price_fen=10001, households=households, units=1)
    booking = _paid_stay(listing, now, check_in=TODAY, nights=1)
    commit()
    booking_id, line_id = booking.id, booking.order.lines[0].id
    host_id = host.id
    no_show = Loaded(
        lambda: (committed_db.session.get(Booking, booking_id), committed_db.session.get(type(host), host_id)),
        lambda loaded: mark_no_show(loaded[0], actor=loaded[1], now=now),
    )
    # one marks it; the others find it a no-show already under the lock: done, nothing changed
    race = at_once(app, [no_show] * 4, refused=(Exception,), seconds=30)
    assert race.kinds == ["ok"] * 4 and sorted(race.values) == [False, False, False, True]
    with app.app_context():
        entries = committed_db.session.scalars(sa.select(IncomeEntry).where(IncomeEntry.order_line_id == line_id)).all()
        assert len(entries) == 2 and sum(e.amount_fen for e in entries) == 10001
        assert committed_db.session.get(OrderLine, line_id) is not None
        assert check()["discrepancies"] == []


def test_host_gives_back_a_no_show_charge_from_the_listing_page(db, now, client, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, price_fen=10000, households=[make_household()], units=1)
    booking = _paid_stay(listing, now, check_in=TODAY, nights=1)
    mark_no_show(booking, actor=host, now=now)
    auth.login(host)
    page = client.get(f"/host/listings/{listing.id}?month=2026-11")
    assert f"/host/bookings/{booking.code}/refund-kept" in page.get_data(as_text=True)
    response = client.post(f"/host/bookings/{booking.code}/refund-kept", data={"confirm": "1"})
    assert response.status_code == 302
    line_id = booking.order.lines[0].id
    assert (
        db.session.scalar(sa.select(sa.func.sum(IncomeEntry.amount_fen)).where(IncomeEntry.order_line_id == line_id))
        == 0
    )
    again = client.post(f"/host/bookings/{booking.code}/refund-kept", data={"confirm": "1"}, follow_redirects=True)
    assert again.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 1


def test_host_gives_back_a_late_cancellation_fee_from_the_listing_page(db, now, client, auth):
    host = make_user(role="host")
    listing = make_listing(
        host=host, price_fen=10000, free_cancel_days=3, cancel_fee_pct=50, households=[make_household()], units=1
    )
    booking = _paid_stay(listing, now, check_in=TODAY + timedelta(days=1), nights=1)
    cancel_booking(booking, actor=booking.user, now=now)
    auth.login(host)
    page = client.get(f"/host/listings/{listing.id}?month=2026-11").get_data(as_text=True)
    assert f"/host/bookings/{booking.code}/refund-kept" in page
    assert client.post(f"/host/bookings/{booking.code}/refund-kept", data={"confirm": "1"}).status_code == 302
    line_id = booking.order.lines[0].id
    assert (
        db.session.scalar(sa.select(sa.func.sum(IncomeEntry.amount_fen)).where(IncomeEntry.order_line_id == line_id))
        == 0
    )
    assert check()["discrepancies"] == []
