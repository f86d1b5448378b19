"""Stripe end to end against localstripe with the real `stripe` client and a live Flask server.

localstripe delivers signed webhooks about 1 s after a PaymentIntent changes; the app verifies
them with `stripe.Webhook.construct_event`, re-fetches the intent and confirms the order.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from orders import providers
from orders.models import Order, OrderPayment, OrderStatus, PaymentState, Refund, StripeEvent
from orders.providers.stripe import StripeProvider
from orders.services.payments import cancel_order, start_payment
from shop.db import commit
from shop.history import history_of
from shop.timeutil import now_utc
from tests.factories import make_product, make_user
from tests.orders.factories import make_order

SECRET = "whsec_e2e_orders"
WEBHOOK_PATH = "/api/v1/payments/stripe/webhook"


class Recorder:
    """WSGI middleware keeping the raw webhook deliveries (to replay them)."""

    def __init__(self, app):
        self.app = app
        self.deliveries: list[tuple[bytes, str]] = []

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == WEBHOOK_PATH:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            self.deliveries.append((body, environ.get("HTTP_STRIPE_SIGNATURE", "")))
            import io

            environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)


@pytest.fixture
def live(app, committed_db, localstripe, monkeypatch):
    """The app served on a free loopback port, configured for localstripe, its webhook registered."""
    monkeypatch.setitem(providers.PROVIDERS, "stripe", StripeProvider)
    for key, value in {
        "STRIPE_SECRET_KEY": "sk_test_e2e_orders",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_e2e_orders",
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "STRIPE_API_BASE": localstripe,
        "STRIPE_MAX_NETWORK_RETRIES": 0,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    recorder = Recorder(app.wsgi_app)
    monkeypatch.setattr(app, "wsgi_app", recorder)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    requests.delete(f"{localstripe}/_config/data", timeout=5)
    res = requests.post(
        f"{localstripe}/_config/webhooks/orders",
        timeout=5,
        json={
            "url": url + WEBHOOK_PATH,
            "secret": SECRET,
            "events": ["payment_intent.succeeded", "payment_intent.payment_failed"],
        },
    )
    assert res.status_code == 200
    import stripe

    client = stripe.StripeClient("sk_test_e2e_orders", base_addresses={"api": localstripe}, max_network_retries=0)
    yield {"url": url, "client": client, "recorder": recorder, "db": committed_db}
    server.shutdown()
    thread.join(5)


def _wait_for(predicate, timeout=8.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _read(db, fn):
    """Read in a short transaction (SQLite takes the write lock even to read here)."""
    db.session.remove()
    try:
        return fn()
    finally:
        db.session.remove()


def _order_status(db, order_id):
    return _read(db, lambda: db.session.get(Order, order_id).status)


def _pending_card_order(db, price_fen=4500):
    product = make_product(price_fen=price_fen, stock=5)
    order = make_order(make_user(), [(product, 1)], now=now_utc(), payment_method="card")
    commit()
    payment = start_payment(order.payments[0], now=now_utc())
    commit()
    result = order.id, payment.id, payment.provider_ref, order.total_fen
    db.session.remove()
    return result


def test_card_payment_webhook_marks_order_paid_once_and_refund_is_recorded(live):
    db, client, recorder = live["db"], live["client"], live["recorder"]
    order_id, payment_id, pi_id, total = _pending_card_order(db)
    assert pi_id.startswith("pi_")
    pi = client.v1.payment_intents.retrieve(pi_id)
    code = _read(db, lambda: db.session.get(Order, order_id).code)
    assert (pi.amount, pi.currency, pi.metadata.to_dict()["order_code"]) == (total, "cny", code)

    client.v1.payment_intents.update(pi_id, params={"payment_method": "pm_card_visa"})
    assert client.v1.payment_intents.confirm(pi_id).status == "succeeded"
    assert _wait_for(lambda: _order_status(db, order_id) == OrderStatus.CONFIRMED), recorder.deliveries
    assert _read(db, lambda: db.session.get(OrderPayment, payment_id).state) == PaymentState.CONFIRMED

    # the same signed delivery, ten more times: one transition only
    body, signature = recorder.deliveries[-1]
    for _ in range(10):
        res = requests.post(
            live["url"] + WEBHOOK_PATH,
            data=body,
            timeout=5,
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        )
        assert res.status_code == 200 and res.json()["outcome"] == "duplicate"
    db.session.remove()
    order = db.session.get(Order, order_id)
    assert [e.to_status for e in history_of(order)] == ["pending", "confirmed"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StripeEvent)) == 1

    # refund: cancel the paid order; the refund goes to Stripe after commit
    cancel_order(order, actor=order.user, now=now_utc(), reason="e2e")
    commit()
    db.session.remove()
    refund = db.session.scalar(sa.select(Refund))
    assert refund.state == "succeeded" and refund.provider_ref.startswith("re_") and refund.amount_fen == total
    assert client.v1.refunds.retrieve(refund.provider_ref).amount == total
    assert db.session.get(OrderPayment, payment_id).state == PaymentState.REFUNDED
    assert db.session.get(Order, order_id).status == OrderStatus.CANCELED


def test_forged_or_missing_signature_is_400_against_live_server(live):
    db = live["db"]
    order_id, _payment_id, pi_id, _ = _pending_card_order(db)
    db.session.remove()
    import json

    body = json.dumps(
        {
            "id": "evt_forged",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": pi_id, "object": "payment_intent"}},
        }
    ).encode()
    for headers in ({}, {"Stripe-Signature": f"t={int(time.time())},v1={'0' * 64}"}):
        res = requests.post(
            live["url"] + WEBHOOK_PATH, data=body, timeout=5, headers={**headers, "Content-Type": "application/json"}
        )
        assert res.status_code == 400 and res.json()["error"]["code"] == "bad_signature"
    assert _order_status(db, order_id) == OrderStatus.PENDING
    assert _read(db, lambda: db.session.scalar(sa.select(sa.func.count()).select_from(StripeEvent))) == 0


def test_declined_card_marks_payment_failed_and_order_stays_payable(live):
    import stripe

    db, client = live["db"], live["client"]
    order_id, payment_id, pi_id, _ = _pending_card_order(db)
    client.v1.payment_intents.update(pi_id, params={"payment_method": "pm_card_chargeCustomerFail"})
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.confirm(pi_id)

    def failed():
        return _read(db, lambda: db.session.get(OrderPayment, payment_id).state) == PaymentState.FAILED

    assert _wait_for(failed), "payment_failed webhook not applied"
    assert _order_status(db, order_id) == OrderStatus.PENDING


@pytest.mark.parametrize(
    "number, expected", [("4242424242424242", "succeeded"), ("4000000000003220", "requires_action")]
)
def test_page_card_route_confirms_tokenised_card(live, number, expected):
    """What checkout.js does: Stripe.js createToken, then POST the token to the order's card route."""
    db, client = live["db"], live["client"]
    product = make_product(price_fen=2000, stock=5)
    buyer = make_user()
    order = make_order(buyer, [(product, 1)], now=now_utc(), payment_method="card")
    commit()
    start_payment(order.payments[0], now=now_utc())
    commit()
    code, email, order_id = order.code, buyer.email, order.id
    db.session.remove()
    browser = requests.Session()
    assert (
        browser.post(
            live["url"] + "/login", data={"email": email, "password": "password123"}, allow_redirects=False, timeout=5
        ).status_code
        == 302
    )
    token = client.v1.tokens.create(
        params={"card": {"number": number, "exp_month": "12", "exp_year": "34", "cvc": "123"}}
    )
    res = browser.post(
        f"{live['url']}/orders/{code}/payment/card", timeout=10, data={"token": token.id, "card": token.card.id}
    )
    assert res.status_code == 200, res.text
    assert res.json()["status"] == expected
    if expected == "succeeded":
        assert _order_status(db, order_id) == OrderStatus.CONFIRMED  # applied at once, webhook finds nothing to do
    else:
        assert res.json()["client_secret"].startswith("pi_")
        assert _order_status(db, order_id) == OrderStatus.PENDING


def test_page_card_route_reports_a_declined_card(live):
    db, client = live["db"], live["client"]
    buyer = make_user()
    order = make_order(buyer, [(make_product(stock=5), 1)], now=now_utc(), payment_method="card")
    commit()
    start_payment(order.payments[0], now=now_utc())
    commit()
    code, email, order_id = order.code, buyer.email, order.id
    db.session.remove()
    browser = requests.Session()
    browser.post(live["url"] + "/login", data={"email": email, "password": "password123"}, timeout=5)
    token = client.v1.tokens.create(
        params={"card": {"number": "4000000000000341", "exp_month": "12", "exp_year": "34", "cvc": "123"}}
    )
    res = browser.post(
        f"{live['url']}/orders/{code}/payment/card", timeout=10, data={"token": token.id, "card": token.card.id}
    )
    assert res.status_code == 402 and res.json()["error"]["code"] == "card_declined"
    assert _order_status(db, order_id) == OrderStatus.PENDING
