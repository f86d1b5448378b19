"""Integration hooks for other packages: tourism booking lines and the county ledger."""
from __future__ import annotations

from datetime import timedelta

from orders.models import OrderLine
from orders.services.expiry import expire_pending_orders
from orders.services.payments import cancel_order, confirm_payment, refund_line, start_payment
from tests.factories import make_product, make_user
from tests.orders.factories import make_order


def _add_booking_line(db, order):
    line = OrderLine(order=order, kind="booking", title="农家乐 2晚", unit="晚", unit_price_fen=0, quantity=1,
                     line_total_fen=0)
    db.session.add(line)
    db.session.flush()
    db.session.refresh(order)
    return line


def test_booking_lines_call_tourism_on_paid_and_on_released(db, now, fake_stripe, monkeypatch):
    calls = []
    monkeypatch.setattr("tourism.services.booking.on_order_paid", lambda order, now: calls.append(("paid", order.id)))
    monkeypatch.setattr("tourism.services.booking.on_order_released",
                        lambda order, now: calls.append(("released", order.id)))
    paid = make_order(make_user(), [(make_product(), 1)], now=now, payment_method="card")
    _add_booking_line(db, paid)
    payment = start_payment(paid.payments[0], now=now)
    fake_stripe.succeed(payment.provider_ref)
    confirm_payment(payment, now=now)
    expiring = make_order(make_user(), [(make_product(), 1)], now=now, payment_method="card")
    _add_booking_line(db, expiring)
    expire_pending_orders(now + timedelta(hours=1))
    canceled = make_order(make_user(), [(make_product(), 1)], now=now, payment_method="card")
    _add_booking_line(db, canceled)
    cancel_order(canceled, actor=None, now=now)
    plain = make_order(make_user(), [(make_product(), 1)], now=now, payment_method="card")
    cancel_order(plain, actor=None, now=now)  # no booking lines: no call
    assert calls == [("paid", paid.id), ("released", expiring.id), ("released", canceled.id)]


def test_refunding_a_credited_line_reverses_the_ledger(db, now, monkeypatch):
    reversed_lines = []
    monkeypatch.setattr("county.services.ledger.has_credit", lambda line: True)
    monkeypatch.setattr("county.services.ledger.reverse_line",
                        lambda line, now: reversed_lines.append(line.id))
    order = make_order(make_user(), [(make_product(), 1)], now=now, payment_method="cod")
    refund_line(order.lines[0], actor=None, now=now, reason="缺货")
    assert reversed_lines == [order.lines[0].id]


def test_uncredited_line_is_not_reversed(db, now, monkeypatch):
    monkeypatch.setattr("county.services.ledger.has_credit", lambda line: False)
    monkeypatch.setattr("county.services.ledger.reverse_line",
                        lambda line, now: (_ for _ in ()).throw(AssertionError("must not be called")))
    order = make_order(make_user(), [(make_product(), 1)], now=now, payment_method="cod")
    refund_line(order.lines[0], actor=None, now=now, reason="缺货")
