"""Card payments with a fake Stripe at the provider seam: start, webhook, duplicates, forged
signatures, amount checks, out-of-order events, cancel with refund, late payments, refunds by line."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orders.models import (
    LineStatus,
    Order,
    OrderPayment,
    OrderStatus,
    PaymentState,
    Refund,
    RefundRequest,
    ShipmentStatus,
    StripeEvent,
)
from orders.services.expiry import expire_pending_orders
from orders.services.payments import confirm_payment, refund_line, start_payment
from orders.services.refunds import request_refund
from shop.db import commit
from shop.errors import Conflict
from shop.history import history_of
from stock.models import StockRecord
from tests.factories import make_product, make_user
from tests.orders.factories import ADDRESS_JSON, event_payload, make_order, signed
from tests.orders.payment_setup import WEBHOOK, card_order, post_event


def test_api_card_order_returns_client_secret(client, db, api_token, fake_stripe):
    product = make_product(price_fen=4500, stock=5)
    res = client.post(
        "/api/v1/orders",
        headers=api_token(make_user()),
        json={"items": [{"product_id": product.id, "quantity": 1}], "address": ADDRESS_JSON, "payment_method": "card"},
    )
    assert res.status_code == 201
    assert res.json["status"] == "pending"
    assert res.json["payment"] == {
        "method": "card",
        "status": "pending",
        "client_secret": "pi_fake1_secret_x",
        "refunded_fen": 0,
    } or res.json["payment"]["client_secret"].endswith("_secret_x")
    created = fake_stripe.created_with[-1]
    assert created["methods"] == ["card"]
    assert created["key"] == f"{res.json['id']}-P-1"
    assert created["metadata"]["order_code"] == res.json["id"]
    intent = next(iter(fake_stripe.intents.values()))
    assert intent["amount"] == res.json["total_fen"] and intent["currency"] == "cny"


def test_extra_methods_are_requested_when_enabled(db, now, fake_stripe, app, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_EXTRA_METHODS", ["alipay", "wechat_pay", "bogus"])
    card_order(db, now, fake_stripe)
    assert fake_stripe.created_with[-1]["methods"] == ["card", "alipay", "wechat_pay"]


def test_provider_down_leaves_order_pending_and_retry_works(client, db, api_token, fake_stripe):
    product = make_product(stock=5)
    fake_stripe.fail_next = True
    headers = api_token(make_user())
    res = client.post(
        "/api/v1/orders",
        headers=headers,
        json={"items": [{"product_id": product.id, "quantity": 1}], "address": ADDRESS_JSON, "payment_method": "card"},
    )
    assert res.status_code == 201 and res.json["payment"]["client_secret"] is None
    order = db.session.scalar(sa.select(Order))
    payment = start_payment(order.payments[0], now=order.created_at)
    assert payment.client_secret and payment.state == PaymentState.PENDING


def test_signed_webhook_marks_order_paid(client, db, now, fake_stripe):
    order, payment, _ = card_order(db, now, fake_stripe)
    commit()
    fake_stripe.succeed(payment.provider_ref)
    res = post_event(client, "evt_1", "payment_intent.succeeded", payment.provider_ref)
    assert res.status_code == 200 and res.json["outcome"] == "confirmed"
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.CONFIRMED
    assert db.session.get(OrderPayment, payment.id).state == PaymentState.CONFIRMED
    assert [e.to_status for e in history_of(db.session.get(Order, order.id))] == ["pending", "confirmed"]


def test_same_event_ten_times_makes_one_transition(client, db, now, fake_stripe):
    order, payment, _ = card_order(db, now, fake_stripe)
    commit()
    fake_stripe.succeed(payment.provider_ref)
    outcomes = [
        post_event(client, "evt_dup", "payment_intent.succeeded", payment.provider_ref).json["outcome"]
        for _ in range(10)
    ]
    assert outcomes == ["confirmed"] + ["duplicate"] * 9
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StripeEvent)) == 1
    db.session.expire_all()
    assert [e.to_status for e in history_of(db.session.get(Order, order.id))] == ["pending", "confirmed"]
    # a second, different event for the same intent does nothing either
    assert post_event(client, "evt_other", "payment_intent.succeeded", payment.provider_ref).json["outcome"] == "noop"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Stripe-Signature": "t=1,v1=deadbeef"},
        "wrong-secret",
    ],
)
def test_forged_or_missing_signature_is_400_and_changes_nothing(client, db, now, fake_stripe, headers):
    order, payment, _ = card_order(db, now, fake_stripe)
    commit()
    fake_stripe.succeed(payment.provider_ref)
    body, sig = signed(
        event_payload("evt_forged", "payment_intent.succeeded", payment.provider_ref), secret="whsec_attacker"
    )
    if headers == "wrong-secret":
        headers = {"Stripe-Signature": sig}
    res = client.post(WEBHOOK, data=body, headers={**headers, "Content-Type": "application/json"})
    assert res.status_code == 400 and res.json["error"]["code"] == "bad_signature"
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StripeEvent)) == 0


@pytest.mark.parametrize("signature", ["t=12,v1=é", "t=1,v1=" + "é" * 64])
def test_non_ascii_signature_header_is_400_not_a_500(client, db, now, fake_stripe, signature):
    """Found by fuzzing: the library compares signatures with hmac.compare_digest, which raises TypeError on
    non-ASCII text; an unsigned caller could make a 500 with one header."""
    order, payment, _ = card_order(db, now, fake_stripe)
    commit()
    body = event_payload("evt_unicode", "payment_intent.succeeded", payment.provider_ref)
    res = client.post(
        WEBHOOK,
        data=json.dumps(body).encode(),
        headers={"Stripe-Signature": signature.encode("utf-8").decode("latin-1"), "Content-Type": "application/json"},
    )
    assert res.status_code == 400 and res.json["error"]["code"] == "bad_signature"
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StripeEvent)) == 0


@pytest.mark.parametrize(
    "payload",
    [
        [],
        None,
        "evt",
        5,
        {"id": "evt_x", "object": "event", "type": "payment_intent.succeeded"},
        {"id": "evt_x", "object": "event", "type": "payment_intent.succeeded", "data": None},
        {"id": "evt_x", "object": "event", "type": "payment_intent.succeeded", "data": {"object": "pi"}},
        {"id": 5, "object": "event", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi"}}},
        {"object": "event", "type": "charge.refunded", "data": {"object": {}}},
    ],
)
def test_signed_body_that_is_not_an_event_is_400_and_changes_nothing(client, db, now, fake_stripe, payload):
    """Found by fuzzing: a body with a valid signature but not an event object (an array, no data, no id) crashed
    the library's event builder (500); it is a 400 bad_event and nothing is stored."""
    order, payment, _ = card_order(db, now, fake_stripe)
    commit()
    body, sig = signed(payload)
    res = client.post(WEBHOOK, data=body, headers={"Stripe-Signature": sig, "Content-Type": "application/json"})
    assert res.status_code == 400 and res.json["error"]["code"] == "bad_event"
    assert res.json["error"]["message"]
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StripeEvent)) == 0


def test_amount_mismatch_changes_nothing(client, db, now, fake_stripe):
    order, payment, _ = card_order(db, now, fake_stripe)
    commit()
    fake_stripe.succeed(payment.provider_ref, amount=1)
    assert post_event(client, "evt_m", "payment_intent.succeeded", payment.provider_ref).json["outcome"] == "mismatch"
    fake_stripe.succeed(payment.provider_ref, amount=payment.amount_fen, currency="usd")
    assert post_event(client, "evt_c", "payment_intent.succeeded", payment.provider_ref).json["outcome"] == "mismatch"
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING


def test_event_is_only_a_trigger_the_intent_is_refetched(client, db, now, fake_stripe):
    order, payment, _ = card_order(db, now, fake_stripe)
    commit()  # intent still requires_payment_method although the event claims success
    assert post_event(client, "evt_lie", "payment_intent.succeeded", payment.provider_ref).json["outcome"] == "noop"
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING


def test_late_payment_failed_after_succeeded_changes_nothing(client, db, now, fake_stripe):
    order, payment, _ = card_order(db, now, fake_stripe)
    commit()
    fake_stripe.succeed(payment.provider_ref)
    post_event(client, "evt_ok", "payment_intent.succeeded", payment.provider_ref)
    fake_stripe.intents[payment.provider_ref]["status"] = "requires_payment_method"  # stale view
    res = post_event(client, "evt_fail", "payment_intent.payment_failed", payment.provider_ref)
    assert res.status_code == 200 and res.json["outcome"] == "noop"
    db.session.expire_all()
    assert db.session.get(OrderPayment, payment.id).state == PaymentState.CONFIRMED
    assert db.session.get(Order, order.id).status == OrderStatus.CONFIRMED


def test_payment_failed_lets_the_buyer_retry(client, db, now, fake_stripe):
    order, payment, _ = card_order(db, now, fake_stripe)
    commit()
    res = post_event(client, "evt_f", "payment_intent.payment_failed", payment.provider_ref)
    assert res.json["outcome"] == "failed"
    db.session.expire_all()
    payment = db.session.get(OrderPayment, payment.id)
    assert payment.state == PaymentState.FAILED and payment.order.status == OrderStatus.PENDING
    payment = start_payment(payment, now=now)
    assert payment.state == PaymentState.PENDING and len(fake_stripe.intents) == 1  # same intent


def test_cancel_paid_card_order_refunds_through_provider(client, db, now, fake_stripe, api_token):
    product = make_product(price_fen=4500, stock=5)
    buyer = make_user()
    order = make_order(buyer, [(product, 2)], now=now, payment_method="card")
    payment = start_payment(order.payments[0], now=now)
    fake_stripe.succeed(payment.provider_ref)
    assert confirm_payment(payment, now=now) is True
    assert confirm_payment(payment, now=now) is False
    commit()
    res = client.post(f"/api/v1/orders/{order.code}/cancel", headers=api_token(buyer))
    assert res.status_code == 200 and res.json["status"] == "canceled"
    assert res.json["payment"]["status"] == "refunded"
    refund = db.session.scalar(sa.select(Refund))
    assert refund.amount_fen == order.total_fen and refund.state == "succeeded" and refund.provider_ref == "re_fake1"
    assert fake_stripe.refunds == [
        {"intent": payment.provider_ref, "amount": order.total_fen, "key": f"refund-{payment.provider_ref}-{refund.id}"}
    ]
    assert db.session.get(StockRecord, product.stock.id).allocated == 0


def test_late_payment_after_expiry_reallocates_when_stock_remains(db, now, fake_stripe):
    order, payment, product = card_order(db, now, fake_stripe, quantity=2)
    later = now + timedelta(minutes=31)
    assert expire_pending_orders(later) == [order.code]
    assert db.session.get(StockRecord, product.stock.id).allocated == 0
    fake_stripe.succeed(payment.provider_ref)
    assert confirm_payment(payment, now=later) is True
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.CONFIRMED
    assert db.session.get(StockRecord, product.stock.id).allocated == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0


def test_late_payment_after_expiry_refunds_when_stock_is_gone(db, now, fake_stripe):
    product = make_product(price_fen=1000, stock=2)
    order, payment, _ = card_order(db, now, fake_stripe, product=product, quantity=2)
    later = now + timedelta(minutes=31)
    expire_pending_orders(later)
    make_order(make_user(), [(product, 2)], now=later)  # someone else bought the units
    fake_stripe.succeed(payment.provider_ref)
    confirm_payment(payment, now=later)
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.EXPIRED
    assert db.session.get(OrderPayment, payment.id).state == PaymentState.REFUNDED
    refund = db.session.scalar(sa.select(Refund))
    assert refund.amount_fen == order.total_fen
    assert db.session.get(StockRecord, product.stock.id).allocated == 2  # only the other order's


def test_refund_line_releases_stock_and_refunds_its_amount(db, now, fake_stripe):
    a = make_product(price_fen=1000, stock=5)
    b = make_product(price_fen=2000, stock=5, station=a.station)
    order = make_order(make_user(), [(a, 1), (b, 1)], now=now, payment_method="card")
    payment = start_payment(order.payments[0], now=now)
    fake_stripe.succeed(payment.provider_ref)
    confirm_payment(payment, now=now)
    line = next(l for l in order.lines if l.product_id == b.id)
    refund = refund_line(line, actor=make_user(role="admin"), now=now, reason="缺货")
    assert refund.amount_fen == 2000 and refund.order_line_id == line.id
    assert line.status == LineStatus.REFUNDED
    assert db.session.get(StockRecord, b.stock.id).allocated == 0
    assert db.session.get(StockRecord, a.stock.id).allocated == 1
    assert db.session.get(OrderPayment, payment.id).state == PaymentState.CONFIRMED  # partial
    with pytest.raises(Conflict):
        refund_line(line, actor=None, now=now)


def test_refund_line_on_unpaid_cash_order_lowers_what_is_due(db, now):
    a = make_product(price_fen=1000, stock=5)
    b = make_product(price_fen=2000, stock=5, station=a.station)
    order = make_order(
        make_user(),
        [(a, 1), (b, 1)],
        now=now,
        payment_method="station_cash",
        delivery="pickup",
        pickup_station_id=a.station_id,
    )
    line = next(l for l in order.lines if l.product_id == b.id)
    assert refund_line(line, actor=None, now=now, reason="缺货") is None
    # the total is never rewritten (#18): what is due is computed from the lines
    from orders.services.amounts import order_due_fen

    assert order.total_fen == 3000 and order.payments[0].amount_fen == 3000
    assert order_due_fen(order) == 1000


def test_refund_request_after_delivery_approved_by_station(db, now, fake_stripe, client, auth):
    product = make_product(price_fen=3000, stock=5)
    buyer = make_user()
    order = make_order(buyer, [(product, 1)], now=now, payment_method="card")
    payment = start_payment(order.payments[0], now=now)
    fake_stripe.succeed(payment.provider_ref)
    confirm_payment(payment, now=now)
    shipment = order.shipments[0]
    shipment.status = ShipmentStatus.DELIVERED  # fulfilment is the stations package's job
    line = order.lines[0]
    req = request_refund(order, line.id, actor=buyer, now=now, reason="坏了", kind="refund_only")
    with pytest.raises(Conflict):
        request_refund(order, line.id, actor=buyer, now=now, reason="再次", kind="refund_only")
    operator = make_user(role="operator", station=product.station)
    commit()
    auth.login(operator)
    page = client.get("/refund-requests").get_data(as_text=True)
    assert "坏了" in page
    assert f'href="/station/shipments/{shipment.code}"' in page  # where the operator checks what was sold
    res = client.post(
        f"/refund-requests/{req.id}/approve", data={"confirm": "1", "note": "同意", "goods": "not_returned"}
    )
    assert res.status_code == 303
    assert "已同意退款：¥30.00 将原路退回顾客的银行卡" in client.get(res.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    req = db.session.get(RefundRequest, req.id)
    assert req.status == "approved" and req.decided_by_id == operator.id
    refund = db.session.get(Refund, req.refund_id)
    assert refund.amount_fen == 3000 and refund.state == "succeeded"
    payment = db.session.get(OrderPayment, payment.id)
    assert payment.refunded_fen == 3000 and payment.state == PaymentState.CONFIRMED  # shipping was spent


def test_refund_request_of_another_station_is_a_404_for_its_operator(db, now, client, auth):
    product = make_product(price_fen=3000, stock=5)
    buyer = make_user()
    order = make_order(buyer, [(product, 1)], now=now, payment_method="cod")
    order.shipments[0].status = ShipmentStatus.DELIVERED
    req = request_refund(order, order.lines[0].id, actor=buyer, now=now, reason="坏了", kind="refund_only")
    stranger = make_user(role="operator", station=make_product().station)
    commit()
    auth.login(stranger)
    for decision in ("approve", "reject"):  # the same answer as an id that does not exist
        assert client.post(f"/refund-requests/{req.id}/{decision}", data={"confirm": "1"}).status_code == 404
    assert client.post(f"/refund-requests/{req.id + 1000}/approve", data={"confirm": "1"}).status_code == 404
    assert db.session.get(RefundRequest, req.id).status == "requested"


def test_order_page_shows_card_form_for_pending_card_order(client, db, now, fake_stripe, auth, app):
    buyer = make_user()
    product = make_product(stock=5)
    order = make_order(buyer, [(product, 1)], now=now, payment_method="card")
    commit()
    auth.login(buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "去支付" in page  # no intent yet
    assert client.post(f"/orders/{order.code}/pay").status_code == 303
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert 'id="card-element"' in page and "pi_fake" in page and app.config["STRIPE_JS_URL"] in page
    assert "checkout.js" in page


def test_back_from_paying_the_buyer_reads_that_the_payment_went_through(client, db, now, fake_stripe, auth):
    """checkout.js posts the refresh once the card is paid: the order page then says so, not only a
    status word turned from 待支付 to 已确认 (also when the webhook confirmed it a moment before)."""
    order, payment, _product = card_order(db, now, fake_stripe)
    commit()
    auth.login(order.user)
    res = client.post(f"/orders/{order.code}/payment/refresh")
    assert "支付成功" not in client.get(res.headers["Location"]).get_data(as_text=True), "not paid yet"
    fake_stripe.succeed(payment.provider_ref)
    res = client.post(f"/orders/{order.code}/payment/refresh")
    assert res.status_code == 303
    assert "支付成功，订单已确认" in client.get(res.headers["Location"]).get_data(as_text=True)
