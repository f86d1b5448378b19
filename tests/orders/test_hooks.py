"""Integration with other packages: the order lifecycle signals (tourism). Refunds and the income
ledger: tests/county/test_refund_reversal.py, with the real ledger."""

from __future__ import annotations

from datetime import timedelta

from orders import signals
from orders.services.expiry import expire_pending_orders
from orders.services.payments import cancel_order, confirm_payment, start_payment
from tests.factories import make_product, make_user
from tests.orders.factories import make_order


def test_the_order_lifecycle_is_signalled_to_other_packages(db, now, fake_stripe):
    """orders/signals.py: paid, released (expired unpaid or canceled) and the cancel request reach a
    receiver with the order as sender; orders itself imports no package that receives them."""
    calls = []

    def on_paid(order, now):
        calls.append(("paid", order.id))

    def on_released(order, now):
        calls.append(("released", order.id))

    def on_cancel(order, actor, now, full_refund):
        calls.append(("cancel?", order.id))
        return False  # not ours: orders cancels it as goods

    with (
        signals.order_paid.connected_to(on_paid),
        signals.order_released.connected_to(on_released),
        signals.order_cancel_requested.connected_to(on_cancel),
    ):
        paid = make_order(make_user(), [(make_product(), 1)], now=now, payment_method="card")
        payment = start_payment(paid.payments[0], now=now)
        fake_stripe.succeed(payment.provider_ref)
        confirm_payment(payment, now=now)
        expiring = make_order(make_user(), [(make_product(), 1)], now=now, payment_method="card")
        expire_pending_orders(now + timedelta(hours=1))
        canceled = make_order(make_user(), [(make_product(), 1)], now=now, payment_method="card")
        cancel_order(canceled, actor=None, now=now)
    assert calls == [("paid", paid.id), ("released", expiring.id), ("cancel?", canceled.id), ("released", canceled.id)]
    assert canceled.status == "canceled"


def test_a_receiver_that_cancels_the_order_itself_takes_over(db, now, fake_stripe):
    """A receiver returning True (tourism cancelling a booking under its policy) leaves the order as
    the receiver put it: orders does not cancel it a second time as goods."""
    order = make_order(make_user(), [(make_product(), 1)], now=now, payment_method="card")

    def take_over(sender, actor, now, full_refund):
        return sender.id == order.id

    with signals.order_cancel_requested.connected_to(take_over):
        cancel_order(order, actor=None, now=now)
    assert order.status == "pending"


def test_tourism_receives_the_order_signals(app):
    """The app factory connects tourism's receivers (tourism/__init__.py)."""
    from tourism.services import booking

    for signal, receiver in (
        (signals.order_paid, booking.on_order_paid),
        (signals.order_released, booking.on_order_released),
        (signals.order_cancel_requested, booking.cancel_order_bookings),
    ):
        assert id(receiver) in signal.receivers, signal.name
