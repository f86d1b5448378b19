"""#23 a buyer is never asked to pay for a recalled lot (orders.services.recalled): the recall cancels
each unpaid order holding the lot — nothing paid, stock and holds released, the buyer mailed and told on
the order page —; until it has, the pay step refuses such an order; a card payment already in flight
when the order was canceled is refunded in full; a mixed order (goods and a stay) is canceled whole."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from orders.models import Order, OrderPayment, OrderStatus, PaymentState, Refund
from shop.db import commit
from shop.timeutil import now_utc
from stock.models import Lot, LotStatus
from stock.services import block_lot
from tests.factories import make_lot, make_product, make_station, make_user
from tests.orders.cart_items import stay_item
from tests.orders.factories import ADDRESS_JSON, event_payload, make_order, signed
from tests.sent_mail import mails_to
from tests.tourism.factories import make_listing
from tourism.models import Booking, BookingStatus

WEBHOOK = "/api/v1/payments/stripe/webhook"


def _scene(now, *, quantity=2):
    station = make_station()
    product = make_product(stock=0, station=station, price_fen=1000)
    lot = make_lot(product.stock, 5)
    operator = make_user(role="operator", station=station)
    buyer = make_user(email="unpaid@test.cn")
    return product, lot, operator, buyer


def _recall(client, auth, operator, lot) -> str:
    """The operator recalls the lot from its page; returns the page it then reads."""
    auth.login(operator)
    done = client.post(f"/station/lots/{lot.code}/recall", data={"reason": "抽检不合格", "confirm": "1"})
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    auth.logout()
    return page


def _start_payment(client, auth, buyer, order) -> OrderPayment:
    auth.login(buyer)
    assert client.post(f"/orders/{order.code}/pay").status_code == 303
    auth.logout()
    return order.payments[0]


def test_the_recall_cancels_an_unpaid_card_order_holding_the_lot(db, client, auth, now, fake_stripe, caplog):
    product, lot, operator, buyer = _scene(now)
    order = make_order(buyer, [(product, 2)], now=now, payment_method="card")
    commit()
    payment = _start_payment(client, auth, buyer, order)
    assert payment.state == PaymentState.PENDING and payment.provider_ref
    caplog.set_level(logging.INFO, logger="shop.mail")

    told = _recall(client, auth, operator, lot)
    assert "1 个订单商品受影响，已通知买家" in told and "1 个未付款的订单随召回取消，不会向买家收款" in told
    assert "没有订单用到这个批次" not in told  # the canceled order's line has left the list, and why is said

    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.CANCELED and order.paid_at is None
    assert order.payments[0].state == PaymentState.CANCELED
    recalled = db.session.get(Lot, lot.id)
    assert (recalled.status, recalled.allocated, recalled.blocked) == (LotStatus.RECALLED, 0, 5)
    assert product.stock.allocated == 0 and product.stock.available == 0
    assert fake_stripe.intents[payment.provider_ref]["status"] == "canceled"  # nothing can be charged
    [(subject, body)] = mails_to(caplog, "unpaid@test.cn")  # one mail: the cancel, not "the money comes back"
    assert "未付款订单已取消" in subject and "不会扣款" in body and "款项将退还给您" not in body

    auth.login(buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "已为您取消，不会扣款" in page and 'id="start-payment"' not in page
    assert "商品批次已召回，未付款的订单已取消，不会扣款" in page  # the history says why
    again = client.post(f"/orders/{order.code}/pay")  # a pay page left open: refused, nothing changes
    assert again.status_code == 303
    assert "此订单当前不能支付" in client.get(again.headers["Location"]).get_data(as_text=True)
    listed = client.get("/orders").get_data(as_text=True)
    assert "因批次召回已取消" in listed


def test_a_card_payment_in_flight_when_the_recall_canceled_the_order_is_refunded_in_full(
    db, client, auth, now, fake_stripe
):
    """Stripe charged the card just before the cancel reached it: the webhook confirms the payment of a
    canceled order and the existing path refunds all of it; the order stays canceled."""
    product, lot, operator, buyer = _scene(now)
    order = make_order(buyer, [(product, 2)], now=now, payment_method="card")
    commit()
    payment = _start_payment(client, auth, buyer, order)
    intent_id = payment.provider_ref
    _recall(client, auth, operator, lot)
    fake_stripe.intents[intent_id]["status"] = "succeeded"  # the charge had gone through at Stripe
    body, sig = signed(event_payload("evt_late", "payment_intent.succeeded", intent_id))
    res = client.post(WEBHOOK, data=body, headers={"Stripe-Signature": sig, "Content-Type": "application/json"})
    assert res.status_code == 200 and res.json["outcome"] == "confirmed"
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    payment = order.payments[0]
    assert order.status == OrderStatus.CANCELED
    assert payment.state == PaymentState.REFUNDED and payment.refunded_fen == payment.amount_fen
    refunds = db.session.scalars(sa.select(Refund).where(Refund.payment_id == payment.id)).all()
    assert sum(r.amount_fen for r in refunds) == order.total_fen
    assert db.session.get(Lot, lot.id).allocated == 0  # the recalled units stay blocked, never re-sold


def test_until_the_order_is_canceled_the_pay_step_refuses_it_and_offers_the_cancel(db, client, auth, now, fake_stripe):
    """The lot recalled without the orders' step (had it failed): the page shows no pay button but why and
    the cancel button; the pay step and the card step both refuse, changing nothing; the buyer cancels."""
    product, lot, operator, buyer = _scene(now)
    order = make_order(buyer, [(product, 2)], now=now, payment_method="card")
    commit()
    payment = _start_payment(client, auth, buyer, order)
    block_lot(db.session.get(Lot, lot.id), LotStatus.RECALLED, now=now_utc(), actor=operator, reason="抽检不合格")
    commit()

    auth.login(buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "所属批次已召回，不能再付款" in page and 'id="payment-form"' not in page
    assert f"/orders/{order.code}/cancel" in page
    refused = client.post(f"/orders/{order.code}/pay")
    assert "所属批次已召回，不能再付款" in client.get(refused.headers["Location"]).get_data(as_text=True)
    card = client.post(f"/orders/{order.code}/payment/card", data={"token": "tok_visa", "card": "card_1"})
    assert card.status_code == 409 and card.json["error"]["code"] == "recalled_lot_unpaid", card.json
    db.session.expire_all()
    assert db.session.get(OrderPayment, payment.id).state == PaymentState.PENDING
    assert "含召回批次" in client.get("/orders?tab=to_pay").get_data(as_text=True)
    assert client.post(f"/orders/{order.code}/cancel", data={"confirm": "1"}).status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.CANCELED


def test_a_mixed_unpaid_order_is_canceled_whole_its_stay_released(db, client, auth, api_token, now, fake_stripe):
    product, lot, operator, buyer = _scene(now)
    listing = make_listing(price_fen=20000, units=1)
    commit()
    res = client.post(
        "/api/v1/orders",
        json={
            "items": [{"product_id": product.id, "quantity": 2}, stay_item(listing)],
            "address": ADDRESS_JSON,
            "payment_method": "card",
        },
        headers=api_token(buyer),
    )
    assert res.status_code == 201, res.json
    code = res.json["id"]
    _recall(client, auth, operator, lot)
    db.session.expire_all()
    order = db.session.scalar(sa.select(Order).where(Order.code == code))
    assert order.status == OrderStatus.CANCELED and order.payments[0].state == PaymentState.CANCELED
    [booking] = db.session.scalars(sa.select(Booking).where(Booking.code == res.json["bookings"][0]["id"])).all()
    assert booking.status == BookingStatus.CANCELED
    assert db.session.get(Lot, lot.id).allocated == 0


def test_a_paid_order_of_the_lot_is_not_canceled_but_refunded_as_before(db, client, auth, now, fake_stripe):
    """The rule is for unpaid orders only: a cash-on-delivery order (confirmed) keeps its line, listed to
    cancel and refund on the lot's page."""
    product, lot, operator, buyer = _scene(now)
    order = make_order(buyer, [(product, 2)], now=now, payment_method="cod")
    commit()
    assert "未付款的订单随召回取消" not in _recall(client, auth, operator, lot)
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.CONFIRMED
    auth.login(operator)
    assert "未发货：取消并退款" in client.get(f"/station/lots/{lot.code}").get_data(as_text=True)


def test_an_english_buyer_reads_the_cancel_in_english(db, client, auth, now, fake_stripe, caplog):
    product, lot, operator, buyer = _scene(now)
    buyer.locale = "en"
    order = make_order(buyer, [(product, 1)], now=now, payment_method="card")
    commit()
    caplog.set_level(logging.INFO, logger="shop.mail")
    _recall(client, auth, operator, lot)
    [(subject, body)] = mails_to(caplog, "unpaid@test.cn")
    assert "Lot recalled: unpaid order canceled" in subject and order.code in subject
    assert "nothing is charged" in body and "，" not in body
    auth.login(buyer)
    page = client.get(f"/orders/{order.code}?lang=en").get_data(as_text=True)
    assert "so it has been canceled and nothing is charged" in page
    assert "Canceled: lot recalled" in client.get("/orders?lang=en").get_data(as_text=True)


def test_the_one_step_refund_cancels_an_unpaid_order_the_recall_did_not_reach(
    db, client, auth, now, fake_stripe, caplog
):
    """The lot recalled without the orders' step (had it failed): the lot's page lists the unpaid order's
    line as such, and the one-step refund cancels it by the same rule (it refused the whole step, the
    order not being confirmed) beside the paid lines it refunds."""
    product, lot, operator, buyer = _scene(now)
    unpaid = make_order(buyer, [(product, 1)], now=now, payment_method="card")
    cod = make_order(make_user(), [(product, 1)], now=now, payment_method="cod")
    commit()
    block_lot(db.session.get(Lot, lot.id), LotStatus.RECALLED, now=now_utc(), actor=operator, reason="抽检不合格")
    commit()
    caplog.set_level(logging.INFO, logger="shop.mail")
    auth.login(operator)
    page = client.get(f"/station/lots/{lot.code}").get_data(as_text=True)
    assert "未付款：订单随召回取消，不收款" in page and "2 个订单商品可立即退款。" in page
    done = client.post(f"/station/lots/{lot.code}/refund", data={"confirm": "1"})
    assert done.status_code == 302
    assert "已为 2 个订单商品办理退款" in client.get(done.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Order, unpaid.id).status == OrderStatus.CANCELED
    assert db.session.get(Order, unpaid.id).payments[0].state == PaymentState.CANCELED
    assert all(line.status == "refunded" for line in db.session.get(Order, cod.id).lines)
    [(subject, _body)] = mails_to(caplog, "unpaid@test.cn")
    assert "未付款订单已取消" in subject


def test_the_recall_cancel_note_is_shown_in_the_readers_language():
    """The note of an order canceled for a recalled lot is what the order list's badge looks for and what the
    history shows translated (shop.history's labels, keyed by the note: the kernel cannot import orders); a
    note changed in one place and not the other would show raw English on a Chinese page and lose the badge."""
    from orders.services.recalled import RECALL_CANCEL_NOTE
    from shop.history import NOTE_LABELS

    assert RECALL_CANCEL_NOTE in NOTE_LABELS


def test_every_api_answer_about_an_order_canceled_for_a_recall_says_so(db, client, auth, now, api_token, fake_stripe):
    """The recall canceled the unpaid order; the buyer's app then cancels it too (a tap it sent before it
    knew): the answer, like the order's own, says why it was canceled — not a bare `canceled` the buyer
    would take for their own doing."""
    product, lot, operator, buyer = _scene(now)
    order = make_order(buyer, [(product, 2)], now=now, payment_method="card")
    commit()
    _recall(client, auth, operator, lot)
    headers = api_token(buyer)
    shown = client.get(f"/api/v1/orders/{order.code}", headers=headers)
    again = client.post(f"/api/v1/orders/{order.code}/cancel", headers=headers)
    assert shown.status_code == 200 and again.status_code == 200, again.json
    assert shown.json["status"] == again.json["status"] == "canceled"
    assert shown.json["recall"] == again.json["recall"] == "canceled"


def test_the_api_gives_no_account_to_transfer_to_for_an_order_holding_a_recalled_lot(db, client, now, api_token):
    """The API hid the card's client secret of such an order but still gave the payee's account for a bank
    transfer, where the order page shows neither: a recalled lot is not paid for, by any way."""
    product, lot, operator, buyer = _scene(now)
    order = make_order(buyer, [(product, 2)], now=now, payment_method="bank_transfer", institutional=True)
    commit()
    headers = api_token(buyer)
    assert client.get(f"/api/v1/orders/{order.code}", headers=headers).json["payment"]["transfer_to"] is not None
    block_lot(db.session.get(Lot, lot.id), LotStatus.RECALLED, now=now_utc(), actor=operator, reason="抽检不合格")
    commit()
    shown = client.get(f"/api/v1/orders/{order.code}", headers=headers).json
    assert shown["recall"] == "holds" and shown["status"] == "pending"
    assert shown["payment"]["transfer_to"] is None and shown["payment"]["client_secret"] is None
