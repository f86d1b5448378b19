"""到站点付款 (`station_cash`) is for a pick-up order only: a parcel shipped home is paid by card or at the door
(货到付款). Asked for with home delivery — through the API, the checkout form sent without JavaScript, or an
organisation's purchase — it is refused with 422 `station_cash_not_for_ship`, saying what to choose instead,
before anything is written; the checkout shows 到站点付款 with 到站自提 only."""

from __future__ import annotations

import re

import sqlalchemy as sa

from orders.models import Order
from orders.services.placement import payment_methods_for
from stock.models import StockRecord
from tests.factories import make_product, make_user
from tests.institutions.purchase_setup import organisation_with_products, purchase_body
from tests.orders.factories import ADDRESS_JSON, checkout_form

REFUSED = {
    "zh_CN": "快递到家的订单不能到站点付款：请选择货到付款，或改为到站自提后到站点付款",
    "en": "Paying at the station is not available for home delivery: choose cash on delivery, "
    "or pick the order up at the station and pay there",
}


def _nothing_written(db, product) -> None:
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    assert db.session.get(StockRecord, product.stock.id).allocated == 0


def test_the_api_refuses_paying_at_the_station_for_home_delivery_and_writes_nothing(client, db, api_token):
    product = make_product(price_fen=1000, stock=5)
    headers = api_token(make_user())
    body = {
        "items": [{"product_id": product.id, "quantity": 1}],
        "address": ADDRESS_JSON,
        "delivery": "ship",
        "payment_method": "station_cash",
    }
    for lang in ("zh_CN", "en"):
        response = client.post(f"/api/v1/orders?lang={lang}", json=body, headers=headers)
        assert response.status_code == 422, response.json
        error = response.json["error"]
        assert error["code"] == "station_cash_not_for_ship"
        assert error["fields"] == {"payment_method": "not_for_delivery"}
        assert error["message"] == REFUSED[lang]
    _nothing_written(db, product)
    # cash on delivery shipped home, or paying at the station for a pick-up, is taken
    assert client.post("/api/v1/orders", json={**body, "payment_method": "cod"}, headers=headers).status_code == 201
    pickup = {"items": body["items"], "delivery": "pickup", "pickup_station_id": product.station_id}
    assert (
        client.post("/api/v1/orders", json={**pickup, "payment_method": "station_cash"}, headers=headers).status_code
        == 201
    )


def test_the_checkout_form_refuses_paying_at_the_station_for_home_delivery_and_writes_nothing(client, db, auth):
    """Sent without JavaScript (every method shows), home delivery with 到站点付款 is refused with why, in the
    page's language; no order, no stock taken, the cart as it was."""
    product = make_product(price_fen=1000, stock=5)
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": product.id, "quantity": 2})
    page = client.get("/checkout").get_data(as_text=True)
    for lang in ("zh_CN", "en"):
        response = client.post(f"/checkout?lang={lang}", data=checkout_form(payment_method="station_cash", page=page))
        assert response.status_code == 422
        assert REFUSED[lang] in response.get_data(as_text=True)
    _nothing_written(db, product)
    assert "× 2" in client.get("/checkout").get_data(as_text=True), "the cart as it was"


def test_the_checkout_for_home_delivery_offers_no_paying_at_the_station(client, db, auth):
    """The methods of home delivery leave 到站点付款 out; its radio is marked for pick-up only (checkout.js
    hides it while 快递到家 is chosen) and never preselected for home delivery."""
    assert "station_cash" not in payment_methods_for(goods=True, booking_methods=[], delivery="ship")
    assert "station_cash" in payment_methods_for(goods=True, booking_methods=[], delivery="pickup")
    product = make_product(price_fen=1000, stock=5)
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    page = client.get("/checkout").get_data(as_text=True)
    label = re.search(r'<label class="([^"]*)"><input[^>]*name="payment_method"[^>]*value="station_cash"', page)
    assert label and "pickup-only" in label.group(1).split()
    checked = re.findall(r'<input[^>]*checked[^>]*name="payment_method"[^>]*value="([a-z_]+)"', page)
    assert checked and checked != ["station_cash"]


def test_a_purchase_shipped_to_its_addresses_may_not_be_paid_at_the_station(client, db, api_token):
    organisation, buyer, *_rest = organisation_with_products()
    body = purchase_body(organisation, *_rest[-2:], payment_method="station_cash")
    response = client.post("/api/v1/purchases", headers=api_token(buyer), json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "station_cash_not_for_ship"
    assert db.session.scalar(sa.text("SELECT count(*) FROM purchases")) == 0


def test_the_purchase_form_says_which_delivery_each_cash_payment_is_for(app, db):
    """The purchase form lists every payment whatever the delivery (a select, no switching): it says before the
    draft is saved that 到站付款 is for pick-ups and 货到付款 for deliveries, rather than only refusing after."""
    organisation, buyer, *_rest = organisation_with_products()
    web = app.test_client()
    web.post("/login", data={"email": buyer.email, "password": "password123"})
    page = web.get(f"/organisations/{organisation.id}/purchases/new").get_data(as_text=True)
    assert "到站付款只用于到服务站自提，货到付款只用于送货到单位" in page
