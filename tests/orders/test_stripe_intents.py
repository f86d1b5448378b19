"""#17.9: a PaymentIntent is adopted (from its metadata) only when its amount and currency are the
payment's, so a mismatching intent never displaces the buyer's real one; cancelling an order cancels
its PaymentIntent at Stripe, through the provider module, after the commit."""

from __future__ import annotations

import requests
import sqlalchemy as sa

from orders.models import Order, OrderPayment, OrderStatus, PaymentState
from orders.services.payments import cancel_order, start_payment
from shop.db import commit
from shop.timeutil import now_utc
from tests.factories import make_product, make_user
from tests.orders.factories import event_payload, make_order, signed

WEBHOOK = "/api/v1/payments/stripe/webhook"


def _post_event(client, event_id, event_type, intent_id):
    body, sig = signed(event_payload(event_id, event_type, intent_id))
    return client.post(WEBHOOK, data=body, headers={"Stripe-Signature": sig, "Content-Type": "application/json"})


def _intent(fake, intent_id, *, amount, currency="cny", status="succeeded", metadata):
    fake.intents[intent_id] = {
        "id": intent_id,
        "status": status,
        "amount": amount,
        "currency": currency,
        "client_secret": f"{intent_id}_secret",
        "metadata": metadata,
        "key": intent_id,
    }


def test_a_mismatching_intent_is_never_adopted_and_the_real_one_still_is(client, db, now, fake_stripe):
    product = make_product(price_fen=4500, stock=5)
    order = make_order(make_user(), [(product, 1)], now=now, payment_method="card")
    payment = order.payments[0]  # the intent's answer was lost: no provider_ref yet
    commit()
    metadata = {"order_code": order.code, "payment": payment.full_code}
    _intent(fake_stripe, "pi_cheap", amount=1, metadata=metadata)
    _intent(fake_stripe, "pi_dollars", amount=order.total_fen, currency="usd", metadata=metadata)
    for n, intent_id in enumerate(("pi_cheap", "pi_dollars")):
        res = _post_event(client, f"evt_bad{n}", "payment_intent.succeeded", intent_id)
        assert res.status_code == 200 and res.json["outcome"] == "ignored", res.json
    db.session.expire_all()
    payment = db.session.get(OrderPayment, payment.id)
    assert payment.provider_ref is None and payment.state != PaymentState.CONFIRMED
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING
    _intent(fake_stripe, "pi_real", amount=order.total_fen, metadata=metadata)
    res = _post_event(client, "evt_good", "payment_intent.succeeded", "pi_real")
    assert res.json["outcome"] == "confirmed"
    db.session.expire_all()
    payment = db.session.get(OrderPayment, payment.id)
    assert payment.provider_ref == "pi_real" and payment.state == PaymentState.CONFIRMED


def test_an_adopted_intent_is_paid_by_the_card_form_the_page_shows_for_it(client, db, auth, now, fake_stripe):
    """The intent Stripe created while its answer was lost is adopted by its webhook (the payment keeps
    its state `created`, nothing paid yet): the order page shows the card form for it, and paying there
    is the same pay step as after 去支付 (`payments.pay_refusal`), not a 409 `not_payable`."""
    product = make_product(price_fen=4500, stock=5)
    buyer = make_user()
    order = make_order(buyer, [(product, 1)], now=now, payment_method="card")
    payment = order.payments[0]
    commit()
    metadata = {"order_code": order.code, "payment": payment.full_code}
    _intent(fake_stripe, "pi_lost", amount=order.total_fen, status="requires_payment_method", metadata=metadata)
    assert _post_event(client, "evt_created", "payment_intent.created", "pi_lost").status_code == 200
    db.session.expire_all()
    payment = db.session.get(OrderPayment, payment.id)
    assert payment.provider_ref == "pi_lost" and payment.state == PaymentState.CREATED
    auth.login(buyer)
    assert 'id="payment-form"' in client.get(f"/orders/{order.code}").get_data(as_text=True)
    res = client.post(f"/orders/{order.code}/payment/card", data={"token": "tok_visa", "card": "card_1"})
    assert res.status_code == 200 and res.json["status"] == "succeeded", res.json
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.CONFIRMED


def test_cancelling_an_unpaid_card_order_cancels_its_intent_after_commit(client, db, now, fake_stripe, api_token):
    buyer = make_user()
    order = make_order(buyer, [(make_product(price_fen=4500, stock=5), 1)], now=now, payment_method="card")
    payment = start_payment(order.payments[0], now=now)
    commit()
    res = client.post(f"/api/v1/orders/{order.code}/cancel", headers=api_token(buyer))
    assert res.status_code == 200 and res.json["status"] == "canceled"
    assert fake_stripe.canceled == [payment.provider_ref]
    assert fake_stripe.intents[payment.provider_ref]["status"] == "canceled"


def test_an_intent_paid_meanwhile_is_not_canceled_but_refunded(db, now, fake_stripe):
    from orders.services.payments import cancel_provider_intent

    order = make_order(make_user(), [(make_product(price_fen=4500, stock=5), 1)], now=now, payment_method="card")
    payment = start_payment(order.payments[0], now=now)
    cancel_order(order, actor=None, now=now, reason="不要了")
    fake_stripe.succeed(payment.provider_ref)  # the buyer paid in another tab just before
    assert cancel_provider_intent(payment, now=now) == "succeeded"
    db.session.expire_all()
    assert db.session.get(OrderPayment, payment.id).state == PaymentState.REFUNDED
    from orders.models import Refund

    assert db.session.scalar(sa.select(Refund.amount_fen)) == order.total_fen  # sent after the commit


def test_localstripe_intent_is_canceled_with_its_order(app, committed_db, localstripe, monkeypatch):
    from orders import providers
    from orders.providers.stripe import StripeProvider

    monkeypatch.setitem(providers.PROVIDERS, "stripe", StripeProvider)
    for key, value in {
        "STRIPE_SECRET_KEY": "sk_test_cancel",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_cancel",
        "STRIPE_API_BASE": localstripe,
        "STRIPE_MAX_NETWORK_RETRIES": 0,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    now = now_utc()
    buyer = make_user()
    order = make_order(buyer, [(make_product(price_fen=4500, stock=5), 1)], now=now, payment_method="card")
    commit()
    payment = start_payment(order.payments[0], now=now)
    commit()
    intent_id = payment.provider_ref
    cancel_order(db_order := committed_db.session.get(Order, order.id), actor=buyer, now=now, reason="不要了")
    commit()  # the cancel task runs after the commit (eager here)
    res = requests.get(f"{localstripe}/v1/payment_intents/{intent_id}", auth=("sk_test_cancel", ""), timeout=5)
    assert res.status_code == 200 and res.json()["status"] == "canceled", res.json()
    assert (
        committed_db.session.scalar(sa.select(OrderPayment.state).where(OrderPayment.id == payment.id))
        == PaymentState.CANCELED
    )
    assert db_order.status == OrderStatus.CANCELED


def test_the_card_payment_of_a_new_order_is_started_by_one_guarded_update(client, db, fake_stripe, api_token):
    """POST /orders by card: after the placement's commit the intent is created and stored by ONE
    UPDATE that moves the payment created -> pending (nothing read first), with its status event; the
    answer carries the client secret."""
    from shop.history import history_of
    from tests.orders.factories import ADDRESS_JSON
    from tests.sql_count import count_statements

    buyer = make_user()
    product = make_product(price_fen=4500, stock=5)
    body = {"items": [{"product_id": product.id, "quantity": 1}], "address": ADDRESS_JSON, "payment_method": "card"}
    with count_statements() as statements:
        res = client.post("/api/v1/orders", json=body, headers=api_token(buyer))
    assert res.status_code == 201, res.json
    [intent_id] = list(fake_stripe.intents)
    assert res.json["payment"]["status"] == "pending"
    assert res.json["payment"]["client_secret"] == fake_stripe.intents[intent_id]["client_secret"]
    touching = [s for s in statements if "order_payments" in s.split("WHERE")[0]]
    assert [s.lstrip().split(None, 1)[0].upper() for s in touching] == ["INSERT", "UPDATE"], "\n".join(touching)
    db.session.expire_all()
    payment = db.session.scalar(sa.select(OrderPayment).join(Order).where(Order.code == res.json["id"]))
    assert (payment.state, payment.provider_ref) == (PaymentState.PENDING, intent_id)
    assert [(e.from_status, e.to_status, e.note) for e in history_of(payment)] == [
        (None, "created", ""),
        ("created", "pending", intent_id),
    ]


def test_a_payment_canceled_before_its_new_intent_is_stored_stays_canceled(db, now, fake_stripe):
    """The guarded UPDATE finds the payment no longer `created` (its order was canceled between the
    placement's commit and the provider's answer): it is not moved back to pending."""
    from orders.services.payments import NewCardPayment, start_new_payment
    from shop.history import history_of

    order = make_order(make_user(), [(make_product(price_fen=4500, stock=5), 1)], now=now, payment_method="card")
    new = NewCardPayment.of(order.payments[0])
    cancel_order(order, actor=None, now=now, reason="不要了")
    commit()
    state = db.session.get(OrderPayment, new.payment_id).state
    assert state != PaymentState.CREATED
    payment = start_new_payment(new, now=now)
    commit()
    db.session.expire_all()
    payment = db.session.get(OrderPayment, new.payment_id)
    assert payment.state == state
    assert "pending" not in [e.to_status for e in history_of(payment)]
