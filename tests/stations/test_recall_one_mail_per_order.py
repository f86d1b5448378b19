"""A recall's refund tells each buyer once per order (docs/traceability.md, docs/journeys.md "One order, one
event, one mail"): the station recalls a lot on its lot's page, refunds every affected line in one step,
and each order whose line that step canceled or refunded gets ONE mail — the recall's lot, reason and what
to do, the lines canceled or refunded, the amount and how it comes back, the order's link — never the
per-line 订单中有商品无法供货 or 订单退款 mail beside it. Paid by card or at the station, not shipped, on its
way then delivered, delivered; an unpaid order gets its one cancel mail, naming the lot and the reason."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from shop.db import commit
from stations.services import fulfilment
from tests.factories import make_lot, make_product, make_station, make_user
from tests.orders.factories import make_order
from tests.orders.payment_setup import card_order, post_event
from tests.sent_mail import mails_to

REASON = "抽检二氧化硫超标"
AMOUNT = "¥28.00"  # not shipped: two units at ¥10.00 and, the shipment left with nothing, its shipping
DELIVERED = "¥20.00"  # delivered: the goods only


@pytest.fixture
def scene(db, now):
    station = make_station()
    product = make_product(name="三江腌菜", stock=0, station=station, price_fen=1000)
    lot = make_lot(product.stock, 20, best_before=now.date() + timedelta(days=10))
    operator = make_user(role="operator", station=station)
    commit()
    return dict(station=station, product=product, lot=lot, operator=operator)


def _ship(order, operator, now, *, deliver: bool) -> None:
    s = order.shipments[0]
    fulfilment.accept(s, actor=operator, now=now)
    fulfilment.pack(s, actor=operator, now=now)
    fulfilment.ship(s, tracking_number="SF1", actor=operator, now=now)
    if deliver:
        fulfilment.deliver(s, actor=operator, now=now, cash_received_fen=fulfilment.shipment_amount_fen(s))


def _card_paid(db, client, fake_stripe, now, product, buyer_mail: str):
    order, payment, _product = card_order(db, now, fake_stripe, product=product, quantity=2)
    order.user.email = buyer_mail
    commit()
    fake_stripe.succeed(payment.provider_ref)
    assert post_event(client, f"evt_{order.code}", "payment_intent.succeeded", payment.provider_ref).status_code == 200
    return order


def _recall_and_refund(client, auth, scene, caplog) -> None:
    code = scene["lot"].code
    auth.login(scene["operator"])
    assert client.post(f"/station/lots/{code}/recall", data={"reason": REASON, "confirm": "1"}).status_code == 302
    caplog.clear()  # the recall's notice is sent; from here, what the refund step sends
    caplog.set_level(logging.INFO, logger="shop.mail")
    assert client.post(f"/station/lots/{code}/refund", data={"confirm": "1"}).status_code == 302


def _assert_one_recall_refund_mail(caplog, to: str, order, scene, *, amount: str | None, way: str) -> None:
    [(subject, body)] = mails_to(caplog, to)  # one mail for the order's event, no per-line mail beside it
    assert "召回" in subject and order.code in subject, subject
    assert "无法供货" not in subject and "订单退款" not in subject
    assert scene["lot"].code in body and REASON in body and "请勿食用" in body, body  # the lot, why, what to do
    assert "三江腌菜 × 2" in body, body  # the line (emails/order_lines.txt)
    assert way in body, body  # how the money comes back (or that nothing was paid)
    if amount is None:
        assert "退款金额" not in body, body
    else:
        assert f"退款金额：{amount}" in body, body
    assert f"/orders/{order.code}" in body and f"/trace/{scene['lot'].code}" in body, body


def test_a_card_paid_line_not_shipped_is_canceled_and_refunded_in_one_mail(
    db, scene, client, auth, caplog, now, fake_stripe
):
    order = _card_paid(db, client, fake_stripe, now, scene["product"], "card@test.cn")
    _recall_and_refund(client, auth, scene, caplog)
    _assert_one_recall_refund_mail(
        caplog, "card@test.cn", order, scene, amount=AMOUNT, way="款项将原路退回您的银行卡。"
    )


def test_a_card_paid_line_delivered_is_refunded_in_one_mail(db, scene, client, auth, caplog, now, fake_stripe):
    order = _card_paid(db, client, fake_stripe, now, scene["product"], "kept@test.cn")
    _ship(order, scene["operator"], now, deliver=True)
    commit()
    _recall_and_refund(client, auth, scene, caplog)
    _assert_one_recall_refund_mail(
        caplog, "kept@test.cn", order, scene, amount=DELIVERED, way="款项将原路退回您的银行卡。"
    )


def test_a_station_cash_pickup_collected_is_refunded_at_the_counter_in_one_mail(db, scene, client, auth, caplog, now):
    order = make_order(
        make_user(email="pickup@test.cn"),
        [(scene["product"], 2)],
        now=now,
        delivery="pickup",
        pickup_station_id=scene["station"].id,
    )
    s = order.shipments[0]
    fulfilment.accept(s, actor=scene["operator"], now=now)
    fulfilment.pack(s, actor=scene["operator"], now=now)
    fulfilment.hand_over_pickup(
        s, pickup_code=s.pickup_code, actor=scene["operator"], now=now, cash_received_fen=order.lines[0].line_total_fen
    )
    commit()
    _recall_and_refund(client, auth, scene, caplog)
    _assert_one_recall_refund_mail(
        caplog, "pickup@test.cn", order, scene, amount=DELIVERED, way="请到付款的站点柜台领取退还的现金。"
    )


def test_a_station_cash_line_not_collected_is_canceled_in_one_mail_nothing_charged(
    db, scene, client, auth, caplog, now
):
    order = make_order(
        make_user(email="notyet@test.cn"),
        [(scene["product"], 2)],
        now=now,
        delivery="pickup",
        pickup_station_id=scene["station"].id,
    )
    commit()
    _recall_and_refund(client, auth, scene, caplog)
    [(_subject, body)] = mails_to(caplog, "notyet@test.cn")
    assert "取消" in body
    _assert_one_recall_refund_mail(caplog, "notyet@test.cn", order, scene, amount=None, way="取消")


def test_a_parcel_on_its_way_is_refunded_once_delivered_in_one_mail(db, scene, client, auth, caplog, now):
    order = make_order(make_user(email="moving@test.cn"), [(scene["product"], 2)], now=now, payment_method="cod")
    _ship(order, scene["operator"], now, deliver=False)
    commit()
    _recall_and_refund(client, auth, scene, caplog)
    assert mails_to(caplog, "moving@test.cn") == []  # on its way: nothing refunded yet, nothing more said
    s = order.shipments[0]
    fulfilment.deliver(s, actor=scene["operator"], now=now, cash_received_fen=fulfilment.shipment_amount_fen(s))
    commit()
    caplog.clear()
    assert client.post(f"/station/lots/{scene['lot'].code}/refund", data={"confirm": "1"}).status_code == 302
    _assert_one_recall_refund_mail(
        caplog, "moving@test.cn", order, scene, amount=DELIVERED, way="站点工作人员会把现金送到您的收货地址退还给您。"
    )


def test_an_unpaid_card_order_is_canceled_in_one_mail_naming_the_lot_and_why(
    db, scene, client, auth, caplog, now, fake_stripe
):
    order = make_order(make_user(email="unpaid@test.cn"), [(scene["product"], 2)], now=now, payment_method="card")
    commit()
    caplog.set_level(logging.INFO, logger="shop.mail")
    auth.login(scene["operator"])
    code = scene["lot"].code
    assert client.post(f"/station/lots/{code}/recall", data={"reason": REASON, "confirm": "1"}).status_code == 302
    assert client.post(f"/station/lots/{code}/refund", data={"confirm": "1"}).status_code == 302
    [(subject, body)] = mails_to(caplog, "unpaid@test.cn")  # the cancel's mail, its one mail
    assert "召回" in subject and order.code in subject, subject
    assert code in body and REASON in body and f"/trace/{code}" in body, body
    assert "不会扣款" in body and "三江腌菜 × 2" in body and f"/orders/{order.code}" in body, body
    assert "退款金额" not in body


def test_an_english_buyer_reads_the_one_mail_in_english(db, scene, client, auth, caplog, now, fake_stripe):
    order = _card_paid(db, client, fake_stripe, now, scene["product"], "en@test.cn")
    order.user.locale = "en"
    commit()
    _recall_and_refund(client, auth, scene, caplog)
    [(subject, body)] = mails_to(caplog, "en@test.cn")
    assert "Lot recalled: canceled and refunded" in subject, subject
    assert f"Lot {scene['lot'].code} of the goods below in your order has been recalled." in body, body
    assert "Please do not eat what you received" in body and REASON in body and "About the lot" in body, body


def test_the_mail_tells_only_what_the_recall_refunded_not_an_earlier_return(
    db, scene, client, auth, caplog, now, fake_stripe
):
    """One of the two delivered units was refunded before the recall (an approved return): the recall's
    mail says the ¥10.00 its own step gave back, not ¥20.00 with the return's money counted again."""
    from orders.services.payments import refund_line

    order = _card_paid(db, client, fake_stripe, now, scene["product"], "returned@test.cn")
    _ship(order, scene["operator"], now, deliver=True)
    refund_line(order.lines[0], actor=scene["operator"], now=now, reason="少了一袋", units=1)
    commit()
    _recall_and_refund(client, auth, scene, caplog)
    [(_subject, body)] = mails_to(caplog, "returned@test.cn")
    assert "退款金额：¥10.00" in body and "¥20.00" not in body, body
