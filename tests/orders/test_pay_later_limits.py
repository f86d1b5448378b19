"""Limits on unpaid reservations (#17.4, orders part): open pay-later orders per account, units per
line, and uncollected station-cash pick-up orders canceled by the schedule with their stock released."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from orders.models import Order, OrderStatus, ShipmentStatus
from orders.services.expiry import expire_uncollected_pickups
from orders.services.limits import TooManyOpenOrders
from orders.services.payments import cancel_order
from shop.db import commit
from shop.errors import ValidationError
from stock.models import StockRecord
from tests.factories import make_product, make_station, make_user
from tests.orders.factories import ADDRESS_JSON, checkout_form, make_order


def _api_order(client, headers, product, *, quantity=1, payment_method="cod"):
    """Cash on delivery shipped home; 到站点付款 collected at the product's station (the way each is taken)."""
    where = (
        {"delivery": "pickup", "pickup_station_id": product.station_id}
        if payment_method == "station_cash"
        else {"address": ADDRESS_JSON, "delivery": "ship"}
    )
    return client.post(
        "/api/v1/orders",
        json={"items": [{"product_id": product.id, "quantity": quantity}], **where, "payment_method": payment_method},
        headers=headers,
    )


def _record(db, product) -> StockRecord:
    db.session.expire_all()
    return db.session.scalar(sa.select(StockRecord).where(StockRecord.product_id == product.id))


def test_open_pay_later_orders_are_capped_per_account_with_a_409(client, db, api_token, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_OPEN_PAY_LATER_ORDERS", 3)
    product = make_product(stock=34)
    buyer, other = make_user(), make_user()
    headers = api_token(buyer)
    codes = []
    for method in ("cod", "station_cash", "cod"):
        response = _api_order(client, headers, product, quantity=2, payment_method=method)
        assert response.status_code == 201, response.json
        codes.append(response.json["id"])
    allocated = _record(db, product).allocated
    response = _api_order(client, headers, product, quantity=2)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "too_many_open_orders"
    assert "3" in response.json["error"]["message"]
    assert _record(db, product).allocated == allocated  # nothing changed
    assert db.session.scalar(sa.select(sa.func.count(Order.id)).where(Order.user_id == buyer.id)) == 3
    # another account is not affected; a closed order frees a place
    assert _api_order(client, api_token(other), product).status_code == 201
    assert client.post(f"/api/v1/orders/{codes[0]}/cancel", headers=headers).status_code == 200
    assert _api_order(client, headers, product).status_code == 201


def test_card_orders_do_not_count_and_the_checkout_page_explains_the_cap(
    client, db, auth, app, monkeypatch, now, fake_stripe
):
    monkeypatch.setitem(app.config, "MAX_OPEN_PAY_LATER_ORDERS", 1)
    product = make_product(stock=20, price_fen=1000)
    buyer = make_user()
    make_order(buyer, [(product, 1)], now=now, payment_method="card")
    make_order(buyer, [(product, 1)], now=now, payment_method="cod")
    with pytest.raises(TooManyOpenOrders):
        make_order(
            buyer,
            [(product, 1)],
            now=now,
            payment_method="station_cash",
            delivery="pickup",
            pickup_station_id=product.station_id,
        )
    make_order(buyer, [(product, 1)], now=now, payment_method="card")  # paying now is never capped
    auth.login(buyer)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    html = client.get("/checkout").get_data(as_text=True)
    total = re.search(r'name="shown_total_ship" value="(\d+)"', html).group(1)
    response = client.post(
        "/checkout",
        data=checkout_form(payment_method="cod", shown_total_ship=total),
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "未付款的到站付款或货到付款订单" in page
    # the way to them (walked: the page offered nothing but the button just refused)
    assert re.search(r'<a class="btn" href="/orders">查看我的订单</a>', page)
    assert "查看我的订单" not in client.get("/checkout").get_data(as_text=True)  # only beside that refusal


def test_a_pay_later_line_holds_at_most_the_configured_units(client, db, api_token, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_PAY_LATER_QUANTITY", 10)
    product = make_product(stock=34)
    headers = api_token(make_user())
    response = _api_order(client, headers, product, quantity=11, payment_method="station_cash")
    assert response.status_code == 422 and response.json["error"]["fields"]["items"] == "pay_later_quantity"
    assert _record(db, product).allocated == 0
    assert _api_order(client, headers, product, quantity=10).status_code == 201


def _pickup_order(buyer, stations, now, *, payment_method="station_cash"):
    items = [(make_product(station=s, stock=5), 2) for s in stations]
    order = make_order(
        buyer, items, now=now, delivery="pickup", pickup_station_id=stations[0].id, payment_method=payment_method
    )
    return order, [p for p, _q in items]


def test_uncollected_station_cash_pickups_are_canceled_with_stock_released_and_the_buyer_mailed(
    db, now, app, monkeypatch, caplog
):
    monkeypatch.setitem(app.config, "PICKUP_UNCOLLECTED_DAYS", 7)
    caplog.set_level(logging.INFO, logger="shop.mail")
    a, b = make_station(), make_station()
    buyer = make_user(email="late@test.cn")
    old = now - timedelta(days=8)
    stale, products = _pickup_order(buyer, [a, b], old)
    fresh, _p = _pickup_order(make_user(), [a], now - timedelta(days=6))
    shipped = make_order(make_user(), [(make_product(station=a, stock=5), 2)], now=old)  # shipped: not this rule
    commit()
    caplog.clear()
    assert expire_uncollected_pickups(now) == [stale.code]
    commit()
    db.session.expire_all()
    assert stale.status == OrderStatus.CANCELED
    assert {s.status for s in stale.shipments} == {ShipmentStatus.CANCELED}
    assert [_record(db, p).allocated for p in products] == [0, 0]
    assert fresh.status == OrderStatus.CONFIRMED and shipped.status == OrderStatus.CONFIRMED
    [mail] = [r.getMessage() for r in caplog.records if r.name == "shop.mail" and stale.code in r.getMessage()]
    assert "late@test.cn" in mail and "未到站付款取货" in mail
    assert expire_uncollected_pickups(now) == []  # once


def test_orders_in_transit_or_paid_at_the_counter_are_not_canceled(db, now, app, monkeypatch):
    from orders.services import payments
    from stations.services import fulfilment

    monkeypatch.setitem(app.config, "PICKUP_UNCOLLECTED_DAYS", 7)
    a, b = make_station(), make_station()
    op_a, op_b = make_user(role="operator", station=a), make_user(role="operator", station=b)
    old = now - timedelta(days=8)
    moving, _p = _pickup_order(make_user(), [a, b], old)
    on_road = next(s for s in moving.shipments if s.station_id == b.id)
    for action in ("accept", "pack", "ship"):
        fulfilment.apply_action(on_road, action, actor=op_b, now=now)
    paid, _p = _pickup_order(make_user(), [a], old)
    payments.confirm_counter_cash(paid.shipments[0], actor=op_a, now=now)
    assert expire_uncollected_pickups(now) == []
    fulfilment.apply_action(on_road, "receive", actor=op_a, now=now)  # arrived, still not collected
    assert expire_uncollected_pickups(now) == [moving.code]
    assert moving.status == OrderStatus.CANCELED


def test_the_buyer_sees_the_collection_deadline_and_the_schedule_runs_the_expiry(client, db, auth, now, app):
    celery_app = app.extensions["celery"]
    station = make_station()
    buyer = make_user()
    order, _p = _pickup_order(buyer, [station], now)
    commit()
    auth.login(buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "逾期订单自动取消" in page
    tasks = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}
    assert "orders.tasks.expire_uncollected_pickups" in tasks and "orders.tasks.expire_orders" in tasks
    assert "orders.tasks.expire_uncollected_pickups" in celery_app.tasks


def test_an_order_paid_ahead_at_the_counter_no_longer_tells_its_buyer_it_will_be_canceled(client, db, auth, now):
    """The counter took the buyer's cash while the goods were prepared: such an order is never canceled as
    uncollected, yet the buyer's page still said 请在 … 前到站付款取货，逾期订单自动取消 beside 已确认."""
    from orders.services import payments

    station = make_station()
    operator, buyer = make_user(role="operator", station=station), make_user()
    order, _p = _pickup_order(buyer, [station], now)
    payments.confirm_counter_cash(order.shipments[0], actor=operator, now=now)
    commit()
    auth.login(buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "逾期订单自动取消" not in page and "前到站付款取货" not in page
    assert "取货码" in page  # still to collect, with its code


def test_quantity_cap_is_a_validation_error_in_the_service(db, now, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_PAY_LATER_QUANTITY", 3)
    product = make_product(stock=10)
    with pytest.raises(ValidationError):
        make_order(make_user(), [(product, 4)], now=now, payment_method="cod")
    order = make_order(make_user(), [(product, 3)], now=now, payment_method="cod")
    cancel_order(order, actor=None, now=now)


def test_a_buyer_who_cancels_an_order_paid_at_the_counter_is_told_where_to_collect_the_cash(client, db, auth, now):
    """The counter took the cash ahead; the buyer then canceled online: the page said only 已退款 ¥X, not that
    the cash waits at the counter where it was paid."""
    from orders.services import payments

    station = make_station()
    operator, buyer = make_user(role="operator", station=station), make_user()
    order, _p = _pickup_order(buyer, [station], now)
    payments.confirm_counter_cash(order.shipments[0], actor=operator, now=now)
    commit()
    auth.login(buyer)
    client.post(f"/orders/{order.code}/cancel", data={"confirm": "1"})
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "已退款" in page and "请到付款的站点柜台领取退还的现金。" in page
