"""Stripe unreachable or slow (issue #10): checkout says so, the order stays pending with its stock
allocated, and no retry makes a second PaymentIntent or a second refund.

The real `stripe` client (StripeProvider) talks to loopback stand-ins (tests/orders/stripe_faults.py):
a port where nothing listens, a server that accepts and never answers (STRIPE_TIMEOUT = 1 s), and a
proxy in front of localstripe that loses the answer after localstripe did the work. localstripe
has no idempotency keys, so the proxy replays the stored answer for a repeated key as Stripe does;
every test also checks the keys our retries sent. Everything is asserted through the public face:
`POST /api/v1/orders`, `POST /api/v1/orders/<code>/pay`, the webhook, the HTML checkout and order
page, the refund task.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

import orders.tasks
from orders import providers
from orders.models import Order, OrderPayment, OrderStatus, PaymentState, Refund, StripeEvent
from orders.providers.stripe import StripeProvider
from orders.services.payments import refunds_to_retry
from shop.history import history_of
from shop.timeutil import now_utc
from stock.models import StockRecord
from tests.factories import make_product, make_user
from tests.orders.factories import ADDRESS_JSON, checkout_form, event_payload, signed
from tests.orders.stripe_faults import DeadPort, LossyStripeProxy, SilentServer
from tests.tourism.factories import make_listing
from tourism.models import Booking

SECRET = "whsec_faults"
SK = "sk_test_faults"
UNAVAILABLE = "支付服务暂时无法连接"


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def stripe_at(app, monkeypatch):
    """stripe_at(url, timeout=1, retries=0): card payments on, the real provider pointed at `url`."""
    monkeypatch.setitem(providers.PROVIDERS, "stripe", StripeProvider)
    for key, value in {
        "STRIPE_SECRET_KEY": SK,
        "STRIPE_PUBLISHABLE_KEY": "pk_test_faults",
        "STRIPE_WEBHOOK_SECRET": SECRET,
    }.items():
        monkeypatch.setitem(app.config, key, value)

    def point(url: str, *, timeout: float = 1, retries: int = 0):
        monkeypatch.setitem(app.config, "STRIPE_API_BASE", url)
        monkeypatch.setitem(app.config, "STRIPE_TIMEOUT", timeout)
        monkeypatch.setitem(app.config, "STRIPE_MAX_NETWORK_RETRIES", retries)

    return point


@pytest.fixture
def dead():
    port = DeadPort()
    yield port.url
    port.close()


@pytest.fixture
def silent():
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def proxy(localstripe):
    p = LossyStripeProxy(localstripe)
    yield p
    p.close()


def _intents_for(localstripe: str, payment_code: str) -> list[dict]:
    """The PaymentIntents localstripe holds for one payment (by the metadata we send)."""
    res = requests.get(f"{localstripe}/v1/payment_intents", auth=(SK, ""), params={"limit": 100}, timeout=5)
    assert res.status_code == 200, res.text
    return [pi for pi in res.json()["data"] if (pi.get("metadata") or {}).get("payment") == payment_code]


def _pay_at_stripe(localstripe: str, intent_id: str) -> None:
    """The buyer's card succeeds at Stripe (what Stripe.js would do)."""
    import stripe

    client = stripe.StripeClient(SK, base_addresses={"api": localstripe}, max_network_retries=0)
    client.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    assert client.v1.payment_intents.confirm(intent_id).status == "succeeded"


def _allocated(db, product) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.sum(StockRecord.allocated)).where(StockRecord.product_id == product.id))


def _order(db, code) -> Order:
    db.session.expire_all()
    return db.session.scalar(sa.select(Order).where(Order.code == code))


def _place_card_order_api(client, headers, product, quantity=1):
    res = client.post(
        "/api/v1/orders",
        headers=headers,
        json={
            "items": [{"product_id": product.id, "quantity": quantity}],
            "address": ADDRESS_JSON,
            "payment_method": "card",
        },
    )
    assert res.status_code == 201, res.json
    return res


def _assert_unavailable_envelope(res):
    assert res.status_code == 503, res.get_data(as_text=True)
    body = res.json
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == "payment_unavailable" and UNAVAILABLE in body["error"]["message"]


# --- (a) nothing listens ----------------------------------------------------------------------


def test_api_stripe_unreachable_keeps_order_pending_then_retry_makes_one_intent(
    client, db, api_token, stripe_at, dead, localstripe
):
    stripe_at(dead)
    product = make_product(stock=5)
    headers = api_token(make_user())
    res = _place_card_order_api(client, headers, product, quantity=2)
    code = res.json["id"]
    assert res.json["status"] == "pending"
    payment_out = res.json["payment"]
    assert (payment_out["method"], payment_out["status"], payment_out["client_secret"]) == ("card", "created", None)
    assert _allocated(db, product) == 2

    res = client.post(f"/api/v1/orders/{code}/pay", headers=headers)
    _assert_unavailable_envelope(res)
    order = _order(db, code)
    payment = order.payments[-1]
    assert order.status == OrderStatus.PENDING and order.expires_at is not None
    assert payment.state == PaymentState.CREATED and payment.provider_ref is None and payment.client_secret is None
    assert [e.to_status for e in history_of(order)] == ["pending"]
    assert _allocated(db, product) == 2  # still held for the buyer until the order expires

    stripe_at(localstripe)  # Stripe is back: the buyer's retry works, twice gives the same intent
    first = client.post(f"/api/v1/orders/{code}/pay", headers=headers)
    second = client.post(f"/api/v1/orders/{code}/pay", headers=headers)
    assert first.status_code == second.status_code == 200, first.json
    assert first.json["payment"]["status"] == "pending" and first.json["payment"]["client_secret"]
    assert second.json["payment"]["client_secret"] == first.json["payment"]["client_secret"]
    [intent] = _intents_for(localstripe, f"{code}-P-1")
    assert intent["amount"] == order.total_fen and intent["client_secret"] == first.json["payment"]["client_secret"]
    assert _order(db, code).payments[-1].provider_ref == intent["id"]
    assert _allocated(db, product) == 2


def test_api_pay_refuses_orders_that_are_not_card_or_not_pending(client, db, api_token, stripe_at, dead):
    stripe_at(dead)
    product = make_product(stock=5)
    headers = api_token(make_user())
    res = client.post(
        "/api/v1/orders",
        headers=headers,
        json={"items": [{"product_id": product.id, "quantity": 1}], "address": ADDRESS_JSON, "payment_method": "cod"},
    )
    res = client.post(f"/api/v1/orders/{res.json['id']}/pay", headers=headers)
    assert res.status_code == 409 and res.json["error"]["code"] == "no_online_payment"
    other = api_token(make_user())
    code = _place_card_order_api(client, headers, product).json["id"]
    assert client.post(f"/api/v1/orders/{code}/pay", headers=other).status_code == 404


def test_webhook_refetch_with_stripe_unreachable_is_503_and_stores_nothing(client, db, stripe_at, dead):
    stripe_at(dead)
    body, signature = signed(event_payload("evt_faults_1", "payment_intent.succeeded", "pi_faults_1"), secret=SECRET)
    res = client.post(
        "/api/v1/payments/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )
    assert res.status_code == 503 and res.json["error"]["code"] == "provider_unavailable"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StripeEvent)) == 0  # Stripe will redeliver


def test_booking_with_stripe_unreachable_stays_held_and_pays_later(client, db, api_token, stripe_at, dead, localstripe):
    """Bookings pay through the same pipeline: held, pending, same 503, same single intent."""
    from shop.timeutil import local_date

    stripe_at(dead)
    listing = make_listing(units=1)
    headers = api_token(make_user())
    day = local_date(now_utc()) + timedelta(days=10)
    res = client.post(
        "/api/v1/bookings",
        headers=headers,
        json={
            "listing_id": listing.id,
            "checkin": day.isoformat(),
            "checkout": (day + timedelta(days=2)).isoformat(),
            "guests": 2,
        },
    )
    assert res.status_code == 201, res.json
    booking_code, code = res.json["id"], res.json["order"]
    held = res.json["status"]
    assert res.json["payment"]["status"] == "created" and res.json["payment"]["client_secret"] is None

    _assert_unavailable_envelope(client.post(f"/api/v1/orders/{code}/pay", headers=headers))
    db.session.expire_all()
    booking = db.session.scalar(sa.select(Booking).where(Booking.code == booking_code))
    assert booking.status == held and _order(db, code).status == OrderStatus.PENDING

    stripe_at(localstripe)
    res = client.post(f"/api/v1/orders/{code}/pay", headers=headers)
    assert res.status_code == 200 and res.json["payment"]["client_secret"]
    assert len(_intents_for(localstripe, f"{code}-P-1")) == 1
    res = client.get(f"/api/v1/bookings/{booking_code}", headers=headers)
    assert res.json["payment"]["client_secret"]


# --- (b) Stripe accepts the connection and never answers --------------------------------------


def _checkout_card_order(client, db, auth, product):
    user = make_user()
    auth.login(user)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    html = client.get("/checkout").get_data(as_text=True)
    assert 'value="card"' in html
    total = re.search(r'name="shown_total_ship" value="(\d+)"', html).group(1)
    started = time.monotonic()
    res = client.post(
        "/checkout",
        data=checkout_form(payment_method="card", shown_total_ship=total),
    )
    return res, time.monotonic() - started


def test_html_checkout_with_silent_stripe_is_bounded_says_so_and_retry_reuses_the_key(
    client, db, auth, stripe_at, silent
):
    stripe_at(silent.url, timeout=1, retries=1)
    product = make_product(stock=3)
    res, elapsed = _checkout_card_order(client, db, auth, product)
    assert res.status_code == 303, res.get_data(as_text=True)
    # 2 tries of 1 s plus the client's back-off (0.5-1 s); Stripe's default would be 80 s a try
    assert elapsed < 8, elapsed
    order = db.session.scalar(sa.select(Order))
    assert res.headers["Location"].endswith(f"/orders/{order.code}")
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert order.code in page and UNAVAILABLE in page and 'id="start-payment"' in page
    assert f'action="/orders/{order.code}/pay"' in page
    assert _order(db, order.code).status == OrderStatus.PENDING and _allocated(db, product) == 1

    res = client.post(f"/orders/{order.code}/pay")  # the retry button, Stripe still silent
    assert res.status_code == 303
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert UNAVAILABLE in page and 'id="start-payment"' in page
    order = _order(db, order.code)
    assert order.status == OrderStatus.PENDING and order.payments[-1].provider_ref is None
    assert _allocated(db, product) == 1

    deadline = time.monotonic() + 3
    while len(silent.requests) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    # checkout + one retry, each with one client retry: four requests, all under the same key
    assert [r["request-line"].split()[:2] for r in silent.requests] == [["POST", "/v1/payment_intents"]] * 4
    assert {r.get("idempotency-key") for r in silent.requests} == {order.payments[-1].full_code}


def test_card_route_with_silent_stripe_answers_503_and_keeps_payment_pending(
    client, db, auth, stripe_at, silent, localstripe
):
    stripe_at(localstripe)
    product = make_product(stock=3)
    res, _ = _checkout_card_order(client, db, auth, product)
    order = db.session.scalar(sa.select(Order))
    assert order.payments[-1].state == PaymentState.PENDING and order.payments[-1].client_secret
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert 'id="payment-form"' in page and "data-network-error-label" in page

    stripe_at(silent.url, timeout=1, retries=0)
    res = client.post(f"/orders/{order.code}/payment/card", data={"token": "tok_faults", "card": "card_faults"})
    assert res.status_code == 503 and res.json["error"]["code"] == "payment_unavailable"
    order = _order(db, order.code)
    assert order.status == OrderStatus.PENDING and order.payments[-1].state == PaymentState.PENDING
    assert _allocated(db, product) == 1


# --- (c) Stripe does the work, the answer is lost ---------------------------------------------


@pytest.mark.parametrize("retries", [0, 1], ids=["buyer-retries", "client-retries"])
def test_lost_create_answer_then_retry_returns_the_same_intent(
    client, db, api_token, stripe_at, proxy, localstripe, retries
):
    stripe_at(proxy.url, retries=retries)
    proxy.drop("POST", "/v1/payment_intents")
    product = make_product(stock=5)
    headers = api_token(make_user())
    res = _place_card_order_api(client, headers, product)
    code = res.json["id"]
    [intent] = _intents_for(localstripe, f"{code}-P-1")  # Stripe did create it
    if retries == 0:  # the answer was lost: the order waits, the buyer retries
        assert res.json["payment"]["client_secret"] is None and res.json["status"] == "pending"
        assert _order(db, code).payments[-1].provider_ref is None
        res = client.post(f"/api/v1/orders/{code}/pay", headers=headers)
        assert res.status_code == 200, res.json
    assert res.json["payment"]["client_secret"] == intent["client_secret"]
    assert _order(db, code).payments[-1].provider_ref == intent["id"]
    assert len(_intents_for(localstripe, f"{code}-P-1")) == 1
    creates = proxy.posts("/v1/payment_intents")
    assert [c.action for c in creates] == ["dropped", "replayed"]
    assert {c.key for c in creates} == {f"{code}-P-1"}
    assert _allocated(db, product) == 1


@pytest.fixture
def live(app, committed_db, localstripe, proxy, stripe_at):
    """The app on a loopback port, Stripe behind the lossy proxy, localstripe's webhooks to the app."""
    stripe_at(proxy.url)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    res = requests.post(
        f"{localstripe}/_config/webhooks/faults",
        timeout=5,
        json={
            "url": url + "/api/v1/payments/stripe/webhook",
            "secret": SECRET,
            "events": ["payment_intent.succeeded", "payment_intent.payment_failed"],
        },
    )
    assert res.status_code == 200
    yield {"url": url, "db": committed_db}
    requests.post(
        f"{localstripe}/_config/webhooks/faults",
        timeout=5,
        json={"url": "http://127.0.0.1:9/", "secret": SECRET, "events": []},
    )
    server.shutdown()
    thread.join(5)


def test_webhook_for_an_intent_whose_answer_was_lost_is_matched_by_metadata(live, proxy, localstripe):
    db, url = live["db"], live["url"]
    product = make_product(stock=5)
    buyer = make_user()
    db.session.commit()
    product_id, email = product.id, buyer.email
    db.session.remove()
    token = requests.post(
        f"{url}/api/v1/auth/token", json={"email": email, "password": "password123"}, timeout=5
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    proxy.drop("POST", "/v1/payment_intents")
    res = requests.post(
        f"{url}/api/v1/orders",
        headers=headers,
        timeout=10,
        json={"items": [{"product_id": product_id, "quantity": 1}], "address": ADDRESS_JSON, "payment_method": "card"},
    )
    assert res.status_code == 201 and res.json()["payment"]["client_secret"] is None
    code = res.json()["id"]
    [intent] = _intents_for(localstripe, f"{code}-P-1")

    _pay_at_stripe(localstripe, intent["id"])  # paid before our retry ever stored the intent's id

    def state():
        db.session.remove()
        order = db.session.scalar(sa.select(Order).where(Order.code == code))
        result = order.status, order.payments[-1].provider_ref
        db.session.remove()
        return result

    deadline = time.monotonic() + 8
    while state()[0] != OrderStatus.CONFIRMED and time.monotonic() < deadline:
        time.sleep(0.1)
    assert state() == (OrderStatus.CONFIRMED, intent["id"])
    res = requests.post(f"{url}/api/v1/orders/{code}/pay", headers=headers, timeout=10)
    assert res.status_code == 409 and res.json()["error"]["code"] == "not_payable"
    assert len(_intents_for(localstripe, f"{code}-P-1")) == 1
    assert [c.action for c in proxy.posts("/v1/payment_intents")] == ["dropped"]


# --- refunds while Stripe is down -------------------------------------------------------------


def test_refund_is_kept_while_stripe_is_down_and_sent_once_after_a_lost_answer(
    client, db, auth, api_token, stripe_at, dead, proxy, localstripe, monkeypatch
):
    stripe_at(localstripe)
    product = make_product(stock=5)
    buyer = make_user()
    headers = api_token(buyer)
    code = _place_card_order_api(client, headers, product).json["id"]
    payment = _order(db, code).payments[-1]
    _pay_at_stripe(localstripe, payment.provider_ref)
    auth.login(buyer)
    client.post(f"/orders/{code}/payment/refresh")  # the buyer is back from paying: asks Stripe
    assert _order(db, code).status == OrderStatus.CONFIRMED

    stripe_at(dead)
    res = client.post(f"/api/v1/orders/{code}/cancel", headers=headers)
    assert res.status_code == 200 and res.json["status"] == "canceled"
    [refund] = db.session.scalars(sa.select(Refund)).all()
    assert refund.state == "created" and refund.provider_ref is None  # kept, not lost, not failed
    refund_id, total = refund.id, refund.amount_fen
    assert refunds_to_retry(now_utc()) == []  # the task's own retries come first
    assert refunds_to_retry(now_utc() + timedelta(minutes=6)) == [refund_id]
    assert refunds_to_retry(now_utc() + timedelta(hours=30)) == []  # too old to resend blind

    later = now_utc() + timedelta(minutes=6)
    monkeypatch.setattr(orders.tasks, "now_utc", lambda: later)
    stripe_at(proxy.url)
    proxy.drop("POST", "/v1/refunds")
    assert orders.tasks.retry_refunds() == [refund_id]  # Stripe refunds, the answer is lost
    db.session.expire_all()
    assert db.session.get(Refund, refund_id).state == "created"
    assert orders.tasks.retry_refunds() == [refund_id]  # the sweep again: same key, Stripe's first answer
    db.session.expire_all()
    refund = db.session.get(Refund, refund_id)
    assert refund.state == "succeeded" and refund.provider_ref.startswith("re_")
    assert orders.tasks.retry_refunds() == []
    sent = proxy.posts("/v1/refunds")
    assert [s.action for s in sent] == ["dropped", "replayed"] and {s.key for s in sent} == {
        f"refund-{db.session.get(OrderPayment, refund.payment_id).provider_ref}-{refund_id}"
    }
    res = requests.get(f"{localstripe}/v1/refunds/{refund.provider_ref}", auth=(SK, ""), timeout=5)
    assert res.json()["amount"] == total
    assert db.session.get(OrderPayment, refund.payment_id).state == PaymentState.REFUNDED


# --- the network's proxy ----------------------------------------------------------------------


def test_the_stripe_client_ignores_proxy_variables_and_uses_stripe_proxy(
    client, db, api_token, stripe_at, dead, localstripe, monkeypatch
):
    """The client's session does not read the environment (requests would scan it on every call):
    HTTP(S)_PROXY pointing nowhere changes nothing; STRIPE_PROXY is the one proxy setting it obeys."""
    stripe_at(localstripe)
    proxy_variables = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    for name in proxy_variables:
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    headers = api_token(make_user())
    res = _place_card_order_api(client, headers, make_product(stock=5))
    assert res.json["payment"]["status"] == "pending" and res.json["payment"]["client_secret"]

    monkeypatch.setitem(client.application.config, "STRIPE_PROXY", dead)  # a proxy that is down
    res = _place_card_order_api(client, headers, make_product(stock=5))
    assert (res.json["payment"]["status"], res.json["payment"]["client_secret"]) == ("created", None)
    for name in proxy_variables:  # the test's own requests below do read them
        monkeypatch.delenv(name)
    assert _intents_for(localstripe, f"{res.json['id']}-P-1") == []
