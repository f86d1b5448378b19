"""JSON API: shapes from docs/api.md, client prices ignored, bad input matrix, other users' orders 404."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from orders.models import Order
from stock.models import StockRecord
from tests.factories import make_product, make_station, make_user
from tests.orders.factories import ADDRESS_JSON, make_order


def _count_orders(db):
    return db.session.scalar(sa.select(sa.func.count()).select_from(Order))


def test_post_order_returns_201_with_the_promised_shape(client, db, api_token):
    s1, s2 = make_station(), make_station()
    a = make_product(price_fen=4500, station=s1, weight_g=500)
    b = make_product(price_fen=6800, station=s2, weight_g=500)
    buyer = make_user()
    headers = api_token(buyer)
    body = {
        "items": [{"product_id": a.id, "quantity": 2}, {"product_id": b.id, "quantity": 1}],
        "address": ADDRESS_JSON,
        "delivery": "ship",
        "payment_method": "cod",
    }
    res = client.post("/api/v1/orders", json=body, headers=headers)
    assert res.status_code == 201, res.json
    data = res.json
    assert data["id"] == data["number"] and len(data["id"]) == 8
    assert data["status"] == "confirmed"
    assert data["shipping_fen"] == 800 + 800  # each shipment under ¥99 and 1 kg: ¥8 each
    assert data["total_fen"] == 9000 + 6800 + 1600
    assert {s["station_id"] for s in data["shipments"]} == {s1.id, s2.id}
    shipment = data["shipments"][0]
    assert set(shipment) >= {"id", "station_id", "status", "items"} and shipment["status"] == "new"
    assert shipment["items"][0]["quantity"] in (1, 2)
    assert data["payment"]["method"] == "cod" and data["payment"]["status"] == "pending"
    assert "client_secret" in data["payment"]
    assert data["origin"] is None  # placed here, at the shop's checkout: it came from nowhere else
    order = db.session.scalar(sa.select(Order).where(Order.code == data["id"]))
    assert order.user_id == buyer.id and order.total_fen == data["total_fen"]


def test_shipping_is_per_shipment(client, db, api_token):
    s1, s2 = make_station(), make_station()
    a = make_product(price_fen=1000, station=s1, weight_g=2500)
    b = make_product(price_fen=1000, station=s2, weight_g=500)
    res = client.post(
        "/api/v1/orders",
        headers=api_token(make_user()),
        json={
            "items": [{"product_id": a.id, "quantity": 1}, {"product_id": b.id, "quantity": 1}],
            "address": ADDRESS_JSON,
            "payment_method": "cod",
        },
    )
    assert res.status_code == 201
    assert sorted(s["shipping_fen"] for s in res.json["shipments"]) == [800, 800 + 2 * 200]
    assert res.json["shipping_fen"] == 800 + 1200 and res.json["total_fen"] == 2000 + 2000


def test_client_prices_and_totals_are_ignored(client, db, api_token):
    product = make_product(price_fen=4500, stock=5)
    res = client.post(
        "/api/v1/orders",
        headers=api_token(make_user()),
        json={
            "items": [{"product_id": product.id, "quantity": 1, "price_fen": 1, "unit_price_fen": 1}],
            "address": ADDRESS_JSON,
            "payment_method": "cod",
            "total_fen": 1,
            "subtotal_fen": 1,
            "shipping_fen": 0,
        },
    )
    assert res.status_code == 201
    assert res.json["total_fen"] == 4500 + 800
    assert res.json["shipments"][0]["items"][0]["unit_price_fen"] == 4500


def test_shown_total_mismatch_is_409_and_changes_nothing(client, db, api_token):
    product = make_product(price_fen=4500, stock=5)
    res = client.post(
        "/api/v1/orders",
        headers=api_token(make_user()),
        json={
            "items": [{"product_id": product.id, "quantity": 1}],
            "address": ADDRESS_JSON,
            "payment_method": "cod",
            "shown_total_fen": 100,
        },
    )
    assert res.status_code == 409 and res.json["error"]["code"] == "price_changed"
    assert _count_orders(db) == 0
    assert db.session.get(StockRecord, product.stock.id).allocated == 0


@pytest.mark.parametrize(
    "item, status",
    [
        ({"quantity": 0}, 422),
        ({"quantity": -1}, 422),
        ({"quantity": 1.5}, 422),
        ({"quantity": "2"}, 422),
        ({"quantity": True}, 422),
        ({"quantity": 10**12}, 422),
        ({"quantity": None}, 422),
        ({"product_id": 99999999}, 422),
        ({"product_id": "abc"}, 422),
        ({"product_id": -5}, 422),
        ({"unpublished": True}, 409),
        ({"quantity": 6}, 409),  # more than the 5 in stock
    ],
)
def test_bad_items_are_refused_and_change_nothing(client, db, api_token, item, status):
    product = make_product(stock=5)
    hidden = make_product(stock=5, is_published=False)
    line = {"product_id": product.id, "quantity": 1}
    if item.pop("unpublished", False):
        line["product_id"] = hidden.id
    line.update(item)
    res = client.post(
        "/api/v1/orders",
        headers=api_token(make_user()),
        json={
            "items": [{"product_id": product.id, "quantity": 1}, line]
            if status == 409 and line["product_id"] != product.id
            else [line],
            "address": ADDRESS_JSON,
            "payment_method": "cod",
        },
    )
    assert res.status_code == status, res.json
    assert set(res.json["error"]) == {"code", "message", "fields"}
    assert _count_orders(db) == 0
    assert db.session.get(StockRecord, product.stock.id).allocated == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"items": [], "payment_method": "cod", "address": ADDRESS_JSON},
        {"items": [{"product_id": 1, "quantity": 1}] * 51, "payment_method": "cod", "address": ADDRESS_JSON},
        {"items": "x", "payment_method": "cod"},
        {"items": [{"product_id": 1, "quantity": 1}], "payment_method": "paypal", "address": ADDRESS_JSON},
        {"items": [{"product_id": 1, "quantity": 1}], "payment_method": "cod"},  # ship without address
        {"items": [{"product_id": 1, "quantity": 1}], "payment_method": "cod", "delivery": "pickup"},
        {"items": [{"product_id": 1, "quantity": 1}], "payment_method": "card", "address": ADDRESS_JSON},  # no Stripe
    ],
)
def test_bad_bodies_are_422(client, db, api_token, body):
    product = make_product(stock=5)
    for item in body.get("items", []) if isinstance(body.get("items"), list) else []:
        item["product_id"] = product.id
    res = client.post("/api/v1/orders", headers=api_token(make_user()), json=body)
    assert res.status_code == 422, res.json
    assert res.json["error"]["code"]
    assert _count_orders(db) == 0
    assert db.session.get(StockRecord, product.stock.id).allocated == 0


def test_non_json_body_is_422(client, db, api_token):
    res = client.post(
        "/api/v1/orders", headers=api_token(make_user()), data="not json", content_type="application/json"
    )
    assert res.status_code == 422


def test_orders_need_authentication(client, db):
    assert client.post("/api/v1/orders", json={}).status_code == 401
    assert client.get("/api/v1/orders").status_code == 401


def test_other_users_order_is_404_in_api(client, db, api_token, now):
    owner, other = make_user(), make_user()
    order = make_order(owner, [(make_product(), 1)], now=now)
    headers = api_token(other)
    assert client.get(f"/api/v1/orders/{order.code}", headers=headers).status_code == 404
    res = client.post(f"/api/v1/orders/{order.code}/cancel", headers=headers)
    assert res.status_code == 404 and res.json["error"]["code"] == "order_not_found"
    assert db.session.get(Order, order.id).status == "confirmed"
    assert client.get("/api/v1/orders", headers=headers).json["total"] == 0
    mine = client.get(f"/api/v1/orders/{order.code}", headers=api_token(owner))
    assert mine.status_code == 200 and mine.json["id"] == order.code


def test_other_users_order_is_404_in_html(client, db, auth, now):
    owner, other = make_user(), make_user()
    order = make_order(owner, [(make_product(), 1)], now=now)
    auth.login(other)
    assert client.get(f"/orders/{order.code}").status_code == 404
    assert client.post(f"/orders/{order.code}/cancel").status_code == 404
    assert order.code not in client.get("/orders").get_data(as_text=True)
    auth.logout()
    auth.login(owner)
    page = client.get(f"/orders/{order.code}")
    assert page.status_code == 200 and order.code in page.get_data(as_text=True)


def test_cancel_via_api_releases_stock(client, db, api_token, now):
    product = make_product(stock=5)
    buyer = make_user()
    order = make_order(buyer, [(product, 3)], now=now)
    assert db.session.get(StockRecord, product.stock.id).allocated == 3
    res = client.post(f"/api/v1/orders/{order.code}/cancel", headers=api_token(buyer))
    assert res.status_code == 200 and res.json["status"] == "canceled"
    assert {s["status"] for s in res.json["shipments"]} == {"canceled"}
    assert res.json["payment"]["status"] == "canceled"
    db.session.expire_all()
    assert db.session.get(StockRecord, product.stock.id).allocated == 0
    again = client.post(f"/api/v1/orders/{order.code}/cancel", headers=api_token(buyer))
    assert (again.status_code, again.json["status"]) == (200, "canceled")  # canceled already: nothing again
    assert db.session.get(StockRecord, product.stock.id).allocated == 0


def test_list_orders_is_paginated_and_own_only(client, db, api_token, now):
    buyer = make_user()
    product = make_product(stock=10)
    codes = {make_order(buyer, [(product, 1)], now=now).code for _ in range(3)}
    make_order(make_user(), [(product, 1)], now=now)
    res = client.get("/api/v1/orders?per_page=2", headers=api_token(buyer))
    assert res.status_code == 200 and res.json["total"] == 3 and len(res.json["items"]) == 2
    assert {o["id"] for o in res.json["items"]} <= codes


def test_openapi_lists_order_endpoints(client, db):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "post" in paths["/api/v1/orders"] and "/api/v1/orders/{code}/cancel" in paths
    assert "/api/v1/payments/stripe/webhook" in paths


def test_openapi_describes_where_an_order_came_from(client, db):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    origin = schemas["OrderOut"]["properties"]["origin"]
    assert {"$ref": "#/components/schemas/OrderOriginOut"} in origin["anyOf"] and {"type": "null"} in origin["anyOf"]
    assert "来自采购单" in origin["description"] and "null" in origin["description"]
    described = schemas["OrderOriginOut"]["properties"]
    assert set(described) == {"label", "url"} and all(field["description"] for field in described.values())


def test_an_order_answers_its_payment_deadline_only_while_it_waits_for_payment(client, db, api_token, now, fake_stripe):
    """`expires_at` is the 请在…前支付 of the order page: a pending card order's; a paid, pay-later or canceled
    order has none (the answer kept the deadline of an order paid long ago)."""
    buyer = make_user()
    headers = api_token(buyer)
    card = make_order(buyer, [(make_product(stock=5), 1)], now=now, payment_method="card")
    cod = make_order(buyer, [(make_product(stock=5), 1)], now=now)
    assert (card.status, cod.status) == ("pending", "confirmed")
    pending = client.get(f"/api/v1/orders/{card.code}", headers=headers).json
    assert pending["expires_at"] == card.expires_at.isoformat().replace("+00:00", "Z")
    assert client.get(f"/api/v1/orders/{cod.code}", headers=headers).json["expires_at"] is None
    canceled = client.post(f"/api/v1/orders/{card.code}/cancel", headers=headers).json
    assert (canceled["status"], canceled["expires_at"]) == ("canceled", None)
