"""Every state change of an order and a payment is kept with time and actor (docs/rules.md): a card
payment confirmed by the signed Stripe webhook leaves the payment's own event, next to the order's
(tests/orders/test_payments.py checks the order's); an order the buyer cancels leaves the order's
event with the buyer."""

from __future__ import annotations

from orders.models import Order, OrderPayment, PaymentState
from shop.db import commit
from shop.history import history_of
from tests.factories import make_product, make_user
from tests.orders.factories import make_order
from tests.orders.payment_setup import card_order, post_event


def test_the_webhook_confirming_a_card_payment_is_kept_in_the_payments_history(client, db, now, fake_stripe):
    _order, payment, _product = card_order(db, now, fake_stripe)
    commit()
    fake_stripe.succeed(payment.provider_ref)
    assert post_event(client, "evt_hist", "payment_intent.succeeded", payment.provider_ref).json["outcome"] == (
        "confirmed"
    )
    db.session.expire_all()
    payment = db.session.get(OrderPayment, payment.id)
    assert payment.state == PaymentState.CONFIRMED
    events = [(e.from_status, e.to_status) for e in history_of(payment)]
    assert events[-1] == ("pending", "confirmed") and all(e.created_at is not None for e in history_of(payment))


def test_an_order_the_buyer_cancels_is_kept_in_the_orders_history_with_the_buyer(client, db, api_token, now):
    buyer = make_user()
    order = make_order(buyer, [(make_product(stock=5), 2)], now=now)
    commit()
    assert client.post(f"/api/v1/orders/{order.code}/cancel", headers=api_token(buyer)).status_code == 200
    db.session.expire_all()
    last = history_of(db.session.get(Order, order.id))[-1]
    assert (last.from_status, last.to_status, last.actor_id) == ("confirmed", "canceled", buyer.id)
    assert last.created_at is not None
