"""An operator of station A gets 403/404 for everything of station B: pages, API, slips, stock, products."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from orders.models import Shipment
from stock.models import StockMovement
from tests.stations.factories import make_order

# (method, url template, json body or form data, api?)
B_RESOURCES = [
    ("GET", "/station/shipments/{b_shipment}", None, False),
    ("GET", "/station/shipments/{b_shipment}/slip", None, False),
    ("POST", "/station/shipments/{b_shipment}/action", {"action": "accept"}, False),
    ("POST", "/station/shipments/{b_shipment}/cash", {}, False),
    ("POST", "/station/shipments/{b_shipment}/lines/{b_line}/cancel", {"reason": "x"}, False),
    ("GET", "/station/stock/{b_record}", None, False),
    ("POST", "/station/stock/{b_record}/receive", {"quantity": "5", "from_household_id": "0"}, False),
    ("POST", "/station/stock/{b_record}/correct", {"delta": "-1", "reason": "盘点"}, False),
    ("GET", "/station/?station={b_code}", None, False),
    ("POST", "/station/products/{b_product}/edit", {"price": "0.01", "is_published": "0"}, False),
    ("GET", "/api/v1/stations/{b_station}/shipments", None, True),
    ("POST", "/api/v1/shipments/{b_shipment}/transition", {"action": "accept"}, True),
    ("PATCH", "/api/v1/products/{b_product}", {"price_fen": 1}, True),
    ("PATCH", "/api/v1/products/{b_product}", {"stock": 0, "reason": "盘点"}, True),
    (
        "POST",
        "/api/v1/products",
        {"household_id": "{b_household}", "name": "偷", "category_id": "{category}", "price_fen": 100},
        True,
    ),
]


def _fill(value, ids):
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("method,url,data,is_api", B_RESOURCES)
def test_operator_of_a_cannot_touch_station_b(db, world, client, auth, api_token, method, url, data, is_api):
    order = make_order([(world.b.product, 2)])
    shipment = order.shipments[0]
    ids = dict(
        b_shipment=shipment.code,
        b_line=order.lines[0].id,
        b_record=world.b.product.stock.id,
        b_station=world.b.station.id,
        b_code=world.b.station.code,
        b_product=world.b.product.id,
        b_household=world.b.h1.id,
        category=world.category.id,
    )
    movements_before = db.session.scalar(sa.select(sa.func.count(StockMovement.id)))
    price_before = world.b.product.price_fen
    if is_api:
        response = client.open(
            _fill(url, ids), method=method, json=_fill(data, ids), headers=api_token(world.a.operator)
        )
        assert response.status_code in (403, 404, 422), response.json
        assert response.json["error"]["code"] in (
            "forbidden",
            "not_found",
            "validation_error",
            "not_your_station",
            "shipment_not_found",
            "station_product_not_found",
            "household_not_served",
        )
    else:
        auth.login(world.a.operator)
        response = client.open(_fill(url, ids), method=method, data=_fill(data, ids))
        if "?station=" in url:  # an operator's dashboard ignores ?station: always its own station
            assert response.status_code == 200
            body = response.get_data(as_text=True)
            assert world.a.station.name in body and world.b.station.name not in body
            assert shipment.code not in body
        else:
            assert response.status_code in (403, 404)
    db.session.expire_all()
    assert db.session.get(Shipment, shipment.id).status == "new"
    assert db.session.get(Shipment, shipment.id).cash_received_at is None
    assert db.session.scalar(sa.select(sa.func.count(StockMovement.id))) == movements_before
    assert world.b.product.price_fen == price_before and world.b.product.is_published
    assert order.lines[0].status == "open"


def test_creating_a_product_for_another_stations_household_is_refused(db, world, client, api_token):
    response = client.post(
        "/api/v1/products",
        headers=api_token(world.a.operator),
        json={"household_id": world.b.h1.id, "name": "借名商品", "category_id": world.category.id, "price_fen": 100},
    )
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"household_id": "invalid"}


@pytest.mark.parametrize("role", ["consumer", "county", "host"])
def test_other_roles_get_403_on_station_pages_and_api(db, world, client, auth, api_token, role):
    from tests.factories import make_user

    user = make_user(role=role)
    headers = api_token(user)
    response = client.get(f"/api/v1/stations/{world.a.station.id}/shipments", headers=headers)
    assert response.status_code == 403
    auth.login(user)
    assert client.get("/station/").status_code == 403
    assert client.get("/station/stock").status_code == 403


def test_anonymous_is_sent_to_login(db, client):
    response = client.get("/station/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_may_pick_any_station(db, world, client, auth, api_token):
    order = make_order([(world.b.product, 1)])
    response = client.get(f"/api/v1/stations/{world.b.station.id}/shipments", headers=api_token(world.admin))
    assert response.status_code == 200 and response.json["items"][0]["id"] == order.shipments[0].code
    auth.login(world.admin)
    body = client.get(f"/station/?station={world.b.station.code}").get_data(as_text=True)
    assert order.shipments[0].code in body
    assert client.get("/station/?station=NOPE").status_code == 404


def test_api_lists_only_the_stations_shipments_filtered_by_status(db, world, client, api_token):
    mine = make_order([(world.a.product, 1)])
    make_order([(world.b.product, 1)])
    headers = api_token(world.a.operator)
    response = client.get(f"/api/v1/stations/{world.a.station.id}/shipments", headers=headers)
    assert response.status_code == 200
    assert [s["id"] for s in response.json["items"]] == [mine.shipments[0].code]
    item = response.json["items"][0]
    assert item["order_id"] == mine.code and item["status"] == "new" and item["items"][0]["quantity"] == 1
    response = client.get(f"/api/v1/stations/{world.a.station.id}/shipments?status=delivered", headers=headers)
    assert response.json["items"] == []
    assert (
        client.get(f"/api/v1/stations/{world.a.station.id}/shipments?status=bogus", headers=headers).status_code == 422
    )
    assert client.get("/api/v1/stations/999999/shipments", headers=headers).status_code == 404
