"""An order's own status follows all its parts (`orders.services.settlement.settle_order`): a booking
order is completed once its stay is, canceled once every booking is; a mixed order (goods and a stay)
stays confirmed while its stay is ahead, however its goods went, and is completed after the stay. Through
the JSON API (the buyer's order and 我的订单's tabs, the station's and the host's steps)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from orders.models import Order
from orders.services import payments
from shop.timeutil import now_utc
from tests.factories import make_product, make_station, make_user
from tests.orders.cart_items import stay_item
from tests.orders.factories import ADDRESS_JSON, FakeStripeProvider
from tests.tourism.factories import make_listing
from tourism.models import Booking
from tourism.services.booking import complete_stays


def _order(db, code: str) -> Order:
    return db.session.scalar(sa.select(Order).where(Order.code == code))


def _pay(db, code: str) -> None:
    payment = _order(db, code).payments[0]
    FakeStripeProvider.succeed(payment.provider_ref)
    payments.sync_payment(payment, now=now_utc())
    db.session.commit()


def _stays_complete(db) -> None:
    """The schedule's run the day after check-in (`tourism.tasks`: `complete_stays`)."""
    complete_stays(now_utc() + timedelta(days=1))
    db.session.commit()


def _place(client, headers, items: list, payment_method: str) -> dict:
    """POST /api/v1/orders of `items` (goods are shipped to ADDRESS_JSON): the order as answered."""
    body = {"items": items, "payment_method": payment_method}
    if any("product_id" in item for item in items):
        body["address"] = ADDRESS_JSON
    res = client.post("/api/v1/orders", json=body, headers=headers)
    assert res.status_code == 201, res.json
    return res.json


def _tab(client, headers, tab: str) -> list[str]:
    res = client.get(f"/api/v1/orders?tab={tab}", headers=headers)
    assert res.status_code == 200, res.json
    return [order["id"] for order in res.json["items"]]


def _check_in(client, host, booking_code: str, confirmation: str, api_token, **cash) -> None:
    res = client.post(
        f"/api/v1/bookings/{booking_code}/check-in",
        json={"confirmation_code": confirmation, **cash},
        headers=api_token(host),
    )
    assert res.status_code == 200 and res.json["status"] == "checked_in", res.json


def test_a_booking_order_is_completed_once_its_stay_is(client, db, api_token):
    host, guest = make_user(role="host"), make_user()
    listing = make_listing(host=host, units=1, pay_on_arrival=True)
    headers = api_token(guest)
    placed = _place(client, headers, [stay_item(listing, checkin=0, nights=1)], "arrival")
    code, [stay] = placed["id"], placed["bookings"]
    _check_in(client, host, stay["id"], stay["confirmation_code"], api_token, cash_received_fen=stay["total_fen"])
    assert client.get(f"/api/v1/orders/{code}", headers=headers).json["status"] == "confirmed"  # staying

    _stays_complete(db)
    shown = client.get(f"/api/v1/orders/{code}", headers=headers).json
    assert shown["bookings"][0]["status"] == "completed"
    assert shown["status"] == "completed"
    assert code in _tab(client, headers, "to_review")  # the stay is there to review
    assert code not in _tab(client, headers, "to_ship") + _tab(client, headers, "to_receive")


def test_a_mixed_order_stays_confirmed_while_its_stay_is_ahead_and_completes_after_it(
    client, db, api_token, fake_stripe
):
    station = make_station()
    operator, host, buyer = make_user(role="operator", station=station), make_user(role="host"), make_user()
    product = make_product(price_fen=1500, stock=5, station=station)
    listing = make_listing(host=host, price_fen=20000, units=1)
    headers = api_token(buyer)
    placed = _place(
        client, headers, [{"product_id": product.id, "quantity": 1}, stay_item(listing, checkin=0, nights=1)], "card"
    )
    code, [shipment] = placed["id"], placed["shipments"]
    _pay(db, code)

    station_headers = api_token(operator)
    for step in ({"action": "accept"}, {"action": "pack"}, {"action": "ship", "tracking_number": "SF1"}):
        res = client.post(f"/api/v1/shipments/{shipment['id']}/transition", json=step, headers=station_headers)
        assert res.status_code == 200, res.json
    assert code in _tab(client, headers, "to_receive")
    res = client.post(
        f"/api/v1/shipments/{shipment['id']}/transition", json={"action": "deliver"}, headers=station_headers
    )
    assert res.status_code == 200 and res.json["status"] == "delivered", res.json

    shown = client.get(f"/api/v1/orders/{code}", headers=headers).json
    assert shown["status"] == "confirmed"  # the goods are in, the stay is still ahead
    assert code in _tab(client, headers, "to_review")  # the goods may be reviewed already
    assert code not in _tab(client, headers, "to_ship") + _tab(client, headers, "to_receive")

    [stay] = shown["bookings"]
    _check_in(client, host, stay["id"], stay["confirmation_code"], api_token)
    assert client.get(f"/api/v1/orders/{code}", headers=headers).json["status"] == "confirmed"
    _stays_complete(db)
    assert client.get(f"/api/v1/orders/{code}", headers=headers).json["status"] == "completed"


def test_a_mixed_order_whose_goods_cannot_be_supplied_keeps_its_stay(client, db, api_token, fake_stripe):
    """Before: the station's cancellation of the goods canceled the order, the stay still confirmed."""
    station = make_station()
    operator, buyer = make_user(role="operator", station=station), make_user()
    product = make_product(price_fen=1500, stock=5, station=station)
    listing = make_listing(price_fen=20000, units=1, free_cancel_days=3)
    headers = api_token(buyer)
    placed = _place(
        client, headers, [{"product_id": product.id, "quantity": 1}, stay_item(listing, checkin=7, nights=1)], "card"
    )
    code, [shipment] = placed["id"], placed["shipments"]
    _pay(db, code)
    res = client.post(
        f"/api/v1/shipments/{shipment['id']}/transition",
        json={"action": "cancel", "reason": "缺货"},
        headers=api_token(operator),
    )
    assert res.status_code == 200 and res.json["status"] == "canceled", res.json
    shown = client.get(f"/api/v1/orders/{code}", headers=headers).json
    assert shown["status"] == "confirmed" and shown["bookings"][0]["status"] == "confirmed"

    # the buyer then cancels the stay too (free, a week ahead): nothing of the order took place
    res = client.post(f"/api/v1/bookings/{shown['bookings'][0]['id']}/cancel", headers=headers)
    assert res.status_code == 200, res.json
    assert client.get(f"/api/v1/orders/{code}", headers=headers).json["status"] == "canceled"


def test_an_order_of_bookings_all_canceled_is_canceled_even_with_a_fee_kept(client, db, api_token, fake_stripe):
    """Before: a late cancellation that kept a fee left the order confirmed for ever."""
    listing = make_listing(price_fen=20000, units=1, free_cancel_days=3, cancel_fee_pct=50)
    buyer = make_user()
    headers = api_token(buyer)
    code = _place(client, headers, [stay_item(listing, checkin=1, nights=1)], "card")["id"]
    _pay(db, code)
    [stay] = client.get(f"/api/v1/orders/{code}", headers=headers).json["bookings"]
    res = client.post(f"/api/v1/bookings/{stay['id']}/cancel", headers=headers)
    assert res.status_code == 200, res.json
    booking = db.session.scalar(sa.select(Booking).where(Booking.code == stay["id"]))
    assert booking.status == "canceled" and booking.refunded_fen == 10000  # half kept
    shown = client.get(f"/api/v1/orders/{code}", headers=headers).json
    assert shown["status"] == "canceled"
    assert code in _tab(client, headers, "after_sale")  # money went back
