"""How an approved refund's money goes back, said for the way the buyer paid (`orders.refund_messages`, the
one place that words it; `orders.services.refunds.money_back` decides it): to the card; cash at the counter
where a pay-at-station buyer paid; and for cash on delivery, where the buyer is at home, the station's
staff take the cash back to the delivery address (the station was told to hand it back "from the counter's
till", and the buyer that it went back "the way it came"). The station's list, its confirmation and its
answer, the buyer's order page, the refund mail and the API all say the same."""

from __future__ import annotations

import pytest

from orders.services import payments
from shop.db import commit
from shop.money import format_yuan
from stations.services import fulfilment
from tests.sent_mail import mails_to
from tests.stations.factories import PICKUP_CODE, make_order
from tests.stations.refund_setup import decided_and_mailed, delivered, operator_client, refund_asked

COURIER_STATION = "货到付款：顾客不在柜台，请派人把已收的现金送到顾客的收货地址退还"
COURIER_BUYER = "站点工作人员会把现金送到您的收货地址退还给您。"
COUNTER_STATION = "已收的现金在柜台当面退还顾客"
COUNTER_BUYER = "请到付款的站点柜台领取退还的现金。"


def _cod_delivered(world, now):
    """A cash-on-delivery order shipped to the buyer's address, delivered with its cash."""
    return delivered(world, now, payment_method="cod", cash=True)


def _counter_delivered(world, now):
    """A pay-at-station pick-up order collected and paid at the counter."""
    order = make_order([(world.a.product, 2)], buyer=world.buyer, delivery="pickup", payment_method="station_cash")
    shipment, op = order.shipments[0], world.a.operator
    fulfilment.accept(shipment, actor=op, now=now)
    fulfilment.pack(shipment, actor=op, now=now)
    fulfilment.hand_over_pickup(
        shipment, pickup_code=PICKUP_CODE, actor=op, now=now, cash_received_fen=order.lines[0].line_total_fen
    )
    return order


def _asked(world, now, delivery):
    order = delivery(world, now)
    return order, refund_asked(world, now, order)


def test_a_cash_on_delivery_refund_is_taken_back_to_the_buyer_not_handed_over_the_counter(
    app, db, world, now, client, auth, api_token, caplog
):
    order, req = _asked(world, now, _cod_delivered)
    amount = format_yuan(order.lines[0].line_total_fen)
    auth.login(world.buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert f"同意后：{COURIER_BUYER}" in page and "原路退回" not in page
    auth.logout()

    bearer = api_token(world.a.operator)
    auth.login(world.a.operator)
    listed = client.get("/refund-requests").get_data(as_text=True)
    assert COURIER_STATION in listed and COUNTER_STATION not in listed
    assert client.get("/api/v1/stations/refund-requests", headers=bearer).json["items"][0]["money_back"] == "courier"

    url = f"/refund-requests/{req.id}/approve"
    asked = client.post(url, data={"goods": "restocked"}, follow_redirects=True).get_data(as_text=True)
    assert COURIER_STATION in asked and COUNTER_STATION not in asked and "柜台现金中退还" not in asked
    with caplog.at_level("INFO", logger="shop.mail"):
        done = client.post(url, data={"goods": "restocked", "confirm": "1"}, follow_redirects=True)
    said = done.get_data(as_text=True)
    assert f"已同意退款：请派人把现金 {amount} 送到顾客的收货地址退还，退还时点「退还现金」记入现金账" in said
    assert "柜台把现金" not in said and "柜台现金中退还" not in said
    auth.logout()

    auth.login(world.buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert f"退款 {amount}：{COURIER_BUYER}" in page
    [(_, body)] = [m for m in mails_to(caplog, world.buyer.email) if order.code in m[0]]
    assert f"退款已办理。{COURIER_BUYER}" in body and "原路退回" not in body


def test_a_pay_at_station_refund_is_handed_back_at_the_counter(db, world, now, client, auth, caplog):
    order, req = _asked(world, now, _counter_delivered)
    amount = format_yuan(order.lines[0].line_total_fen)
    auth.login(world.a.operator)
    assert COUNTER_STATION in client.get("/refund-requests").get_data(as_text=True)
    with caplog.at_level("INFO", logger="shop.mail"):
        done = client.post(
            f"/refund-requests/{req.id}/approve", data={"goods": "restocked", "confirm": "1"}, follow_redirects=True
        ).get_data(as_text=True)
    assert (
        f"已同意退款：请在柜台把现金 {amount} 当面退还顾客，退还时点「退还现金」记入现金账" in done
        and "收货地址" not in done
    )
    auth.logout()
    auth.login(world.buyer)
    assert f"退款 {amount}：{COUNTER_BUYER}" in client.get(f"/orders/{order.code}").get_data(as_text=True)
    [(_, body)] = [m for m in mails_to(caplog, world.buyer.email) if order.code in m[0]]
    assert f"退款已办理。{COUNTER_BUYER}" in body


@pytest.mark.parametrize(
    ("locale", "said"),
    [
        ("zh_CN", "退款已办理。款项将原路退回您的银行卡。"),
        ("en", "Your refund has been made.The money goes back to your card."),
    ],
)
def test_a_card_refund_goes_back_to_the_card_in_the_buyers_language(app, db, world, now, caplog, locale, said):
    order = delivered(world, now, quantity=1)
    req = refund_asked(world, now, order, kind="refund_only")
    world.buyer.locale = locale
    commit()
    [(_, body)] = decided_and_mailed(app, world, caplog, req, "approve", goods="not_returned")
    assert said in body


def test_the_english_pages_say_the_cash_on_delivery_way_in_english(app, db, world, now):
    order, req = _asked(world, now, _cod_delivered)
    station = operator_client(app, world, lang="en")
    listed = station.get("/refund-requests").get_data(as_text=True)
    assert "send someone to take the cash back to the buyer’s delivery address" in listed
    assert "Return and refund (the goods go back to the station)" in listed
    buyer = app.test_client()
    buyer.get("/?lang=en")
    buyer.post("/login", data={"email": world.buyer.email, "password": "password123"})
    page = buyer.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "The station’s staff will bring the cash back to your delivery address." in page


def test_the_station_is_told_where_to_take_a_cash_on_delivery_refund(db, world, now, client, auth):
    """Told to take the cash back to the buyer's address, the operator reads that address where it is told:
    the request's card, the confirmation, the message after it — not one page away; a counter refund
    names no address."""
    order, req = _asked(world, now, _cod_delivered)
    _counter, counter_req = _asked(world, now, _counter_delivered)
    destination = f"退还现金送到：{order.ship_name} {order.ship_phone}，江西省南昌市南昌县莲塘镇 1 号"
    auth.login(world.a.operator)
    listed = client.get("/refund-requests").get_data(as_text=True)
    assert listed.count("退还现金送到") == 1 and destination in listed
    url = f"/refund-requests/{req.id}/approve"
    asked = client.post(url, data={"goods": "not_returned"}, follow_redirects=True).get_data(as_text=True)
    assert destination in asked
    done = client.post(url, data={"goods": "not_returned", "confirm": "1"}, follow_redirects=True)
    assert destination in done.get_data(as_text=True)
    counter = client.post(
        f"/refund-requests/{counter_req.id}/approve", data={"goods": "restocked", "confirm": "1"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "退还现金送到" not in counter


def _cash_taken_ahead(world, now):
    """A pay-at-station pick-up order whose cash the counter took while it was being prepared."""
    from orders.services.payments import confirm_counter_cash

    order = make_order([(world.a.product, 1)], buyer=world.buyer, delivery="pickup", payment_method="station_cash")
    confirm_counter_cash(order.shipments[0], actor=world.a.operator, now=now)
    return order


def _cancel_line(client, order, lang: str) -> str:
    s, line = order.shipments[0], order.lines[0]
    return client.post(
        f"/station/shipments/{s.code}/lines/{line.id}/cancel?lang={lang}",
        data={"reason": "缺货", "confirm": "1"},
        follow_redirects=True,
    ).get_data(as_text=True)


def test_a_line_canceled_after_its_cash_was_taken_tells_the_station_to_hand_the_cash_back(db, world, now, client, auth):
    """无法供货 on a pay-at-station order whose cash the counter took ahead: the cash goes back over the counter
    (its refund entry is in the book), and the station is told so with the amount; a card order's line,
    refunded to the card, asks nothing of the station."""
    zh, en, card = _cash_taken_ahead(world, now), _cash_taken_ahead(world, now), make_order([(world.a.product, 1)])
    commit()
    amount = format_yuan(zh.lines[0].line_total_fen)
    auth.login(world.a.operator)
    assert f"请在柜台把已收的现金 {amount} 当面退还顾客" in _cancel_line(client, zh, "zh_CN")
    assert f"hand the {amount} in cash taken for it back to the buyer at the counter" in _cancel_line(client, en, "en")
    page = _cancel_line(client, card, "zh_CN")
    assert "已取消该商品" in page and "当面退还" not in page


def test_the_cash_book_says_why_the_shop_paid_cash_back_in_the_readers_language(db, world, now, client, auth):
    """The buyer canceled online an order the counter had taken the cash of: its refund entry read 「buyer
    canceled」 — the code's key — on the Chinese cash book. Notes the code writes are read as the history reads
    them (shop.history.note_text); a reason a person typed stays as typed."""
    order = _cash_taken_ahead(world, now)
    typed = _cash_taken_ahead(world, now)
    commit()
    auth.login(world.buyer)
    assert client.post(f"/orders/{order.code}/cancel", data={"confirm": "1"}).status_code in (302, 303)
    auth.logout()
    auth.login(world.a.operator)
    _cancel_line(client, typed, "zh_CN")  # 缺货, typed by the operator
    for refund in payments.cash_to_hand_back(world.a.station.id):  # the cash handed back: in the book now
        client.post(f"/station/refunds/{refund.id}/hand-back", data={"confirm": "1"})
    page = client.get("/station/cash?lang=zh_CN").get_data(as_text=True)
    assert "买家取消" in page and "buyer canceled" not in page and "缺货" in page
    assert "Canceled by the buyer" in client.get("/station/cash?lang=en").get_data(as_text=True)


def test_the_line_cancel_question_names_the_amount_and_the_way(db, world, now, client, auth):
    """The question before 无法供货 said 已付款项将退回 whatever was paid and how: cash taken ahead at the
    counter is handed back there by the operator, a card is refunded by itself, unpaid cash is not owed."""
    taken, card = _cash_taken_ahead(world, now), make_order([(world.a.product, 1)])
    unpaid = make_order([(world.a.product, 1)], buyer=world.buyer, delivery="pickup", payment_method="station_cash")
    commit()
    amount = format_yuan(taken.lines[0].line_total_fen)
    auth.login(world.a.operator)

    def asked(order) -> str:
        s, line = order.shipments[0], order.lines[0]
        return client.post(
            f"/station/shipments/{s.code}/lines/{line.id}/cancel", data={"reason": "缺货"}, follow_redirects=True
        ).get_data(as_text=True)

    counter = asked(taken)
    assert f"已收的现金 {amount} 要在柜台当面退还顾客" in counter and "已付款项将退回" not in counter
    assert f"{format_yuan(card.total_fen)} 将原路退回顾客的银行卡" in asked(card)
    assert "这部分货款顾客还没有支付，不再收取" in asked(unpaid)
