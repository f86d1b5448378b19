"""Every refund reverses exactly the credit of what it gives back (docs/MONEY.md, "Refunds and the
ledger"): product and booking lines alike, whole or partial, once per refund."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from county.services.reconcile import check
from ledger.models import IncomeEntry
from orders.models import OrderLine, Refund
from orders.services import payments
from shop.errors import Conflict
from shop.extensions import db
from stations.services import fulfilment
from tests.conftest import requires_postgres
from tests.factories import make_household, make_product, make_station, make_user, make_village
from tests.orders.factories import FakeStripeProvider, make_order
from tests.tourism.factories import make_listing
from tourism.services.booking import BookingRequest, book_listing, check_in_booking, complete_stays

pytestmark = [requires_postgres, pytest.mark.usefixtures("fake_stripe")]

TODAY = date(2026, 11, 28)  # Beijing "today" of the `now` fixture


def _net(line_id: int) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(IncomeEntry.amount_fen), 0)).where(
                IncomeEntry.order_line_id == line_id
            )
        )
    )


def _completed_stay(now, households, *, price_fen=15000, pay_on_arrival=False):
    host = make_user(role="host")
    listing = make_listing(host=host, price_fen=price_fen, pay_on_arrival=True, households=households)
    booking = book_listing(
        BookingRequest(
            listing_id=listing.id,
            check_in=TODAY,
            check_out=TODAY + timedelta(days=1),
            guests=2,
            pay_on_arrival=pay_on_arrival,
        ),
        user=make_user(),
        now=now,
    )
    if not pay_on_arrival:
        payments.confirm_payment(booking.order.payments[0], now=now)
    check_in_booking(
        booking,
        booking.confirmation_code,
        actor=host,
        now=now,
        cash_received_fen=booking.total_fen if pay_on_arrival else None,
    )
    assert complete_stays(now + timedelta(days=1)) == 1
    [line] = booking.order.lines
    return booking, line, host


def test_refunding_a_completed_stay_reverses_its_credit(db, now):
    h1, h2 = make_household(), make_household()
    booking, line, _host = _completed_stay(now, [h1, h2])
    assert _net(line.id) == 15000
    refund = payments.refund_line(line, actor=make_user(role="admin"), now=now + timedelta(days=2), reason="投诉")
    assert refund is not None and refund.amount_fen == 15000
    reversals = db.session.scalars(
        sa.select(IncomeEntry).where(IncomeEntry.order_line_id == line.id, IncomeEntry.kind == "reversal")
    ).all()
    assert {e.ref for e in reversals} == {f"refund:{refund.id}"}
    assert sorted(e.amount_fen for e in reversals) == [-7500, -7500]
    assert _net(line.id) == 0
    assert [d for d in check()["discrepancies"] if d.get("line_id") == line.id] == []


def test_a_partial_refund_reverses_the_credit_of_its_part_only(db, now):
    village = make_village()
    station = make_station(village=village, commission_bps=1000)
    h1, h2 = make_household(village=village), make_household(village=village)
    product = make_product(price_fen=5000, stock=10, station=station, households=[h1, h2], weights=[1, 1])
    op = make_user(role="operator", station=station)
    order = make_order(make_user(), [(product, 2)], now=now, payment_method="card")
    payment = payments.start_payment(order.payments[0], now=now)
    FakeStripeProvider.succeed(payment.provider_ref)
    payments.sync_payment(payment, now=now)
    [shipment] = order.shipments
    for action in ("accept", "pack", "ship", "deliver"):
        fulfilment.apply_action(shipment, action, actor=op, now=now, tracking_number="SF1")
    [line] = order.lines
    assert _net(line.id) == 9000  # 10,000 less 10 % commission
    # one of the two units refunded (a product line is refunded by units: docs/MONEY.md, "Partial refunds")
    refund = payments.refund_line(line, actor=op, now=now, reason="少了一个", units=1)
    assert refund is not None and refund.amount_fen == 5000
    assert _net(line.id) == 9000 - 4500  # the producer share of one unit
    # the same refund reversed twice is still once
    payments.reverse_refunded_credit(refund, line, now=now)
    assert _net(line.id) == 4500
    # a refund that names no line reverses nothing
    other = payments.refund_payment(payment, 100, actor=op, now=now)
    assert other is not None and _net(line.id) == 4500
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund).where(Refund.payment_id == payment.id)) == 2


def test_a_stay_paid_in_cash_to_the_host_is_not_refunded_from_a_till_that_never_held_it(db, now):
    booking, line, _host = _completed_stay(now, [make_household()], pay_on_arrival=True)
    assert _net(line.id) == 15000
    admin = make_user(role="admin")
    with pytest.raises(Conflict) as refused, db.session.begin_nested():  # the request's rollback, as a savepoint
        payments.refund_line(line, actor=admin, now=now + timedelta(days=2), reason="投诉")
    assert refused.value.code == "cash_held_by_host"
    db.session.expire_all()
    assert db.session.scalar(sa.select(OrderLine.status).where(OrderLine.id == line.id)) == "open"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0
    assert _net(line.id) == 15000


def test_money_refunded_for_a_product_line_without_its_units_is_refused_before_anything_changes(db, now):
    """A product line's credit is reversed by the units counted on it: money given back for it with no unit
    counted (a caller passing `line=` to refund_payment instead of using refund_line) would have left the
    households credited for money no longer received. It is refused, and nothing is refunded."""
    village = make_village()
    station = make_station(village=village, commission_bps=1000)
    product = make_product(price_fen=5000, stock=10, station=station, households=[make_household(village=village)])
    op = make_user(role="operator", station=station)
    order = make_order(make_user(), [(product, 2)], now=now, payment_method="card")
    payment = payments.start_payment(order.payments[0], now=now)
    FakeStripeProvider.succeed(payment.provider_ref)
    payments.sync_payment(payment, now=now)
    [line] = order.lines
    with pytest.raises(ValueError, match="refund_line"):
        payments.refund_payment(payment, 3000, line=line, actor=op, now=now)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0
    assert payment.refunded_fen == 0
