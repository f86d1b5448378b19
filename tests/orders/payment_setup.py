"""The setup the card payment tests share: a card order with its payment started at the fake Stripe
provider (tests/conftest.py `fake_stripe`), and a signed Stripe event posted to the webhook."""

from __future__ import annotations

from orders.services.payments import start_payment
from tests.factories import make_product, make_user
from tests.orders.factories import event_payload, make_order, signed

WEBHOOK = "/api/v1/payments/stripe/webhook"


def card_order(db, now, fake, product=None, quantity=1):
    """(order, payment, product): a new buyer's card order of `quantity` units of `product` (a ¥45.00
    product with 5 in stock when None), its payment started. Not committed."""
    product = product or make_product(price_fen=4500, stock=5)
    order = make_order(make_user(), [(product, quantity)], now=now, payment_method="card")
    payment = start_payment(order.payments[0], now=now)
    return order, payment, product


def post_event(client, event_id, event_type, intent_id, **kw):
    """POST a Stripe event of `event_type` on the payment intent `intent_id` to the webhook, signed
    (`kw`: `signed`'s secret and timestamp); the response."""
    body, sig = signed(event_payload(event_id, event_type, intent_id), **kw)
    return client.post(WEBHOOK, data=body, headers={"Stripe-Signature": sig, "Content-Type": "application/json"})
