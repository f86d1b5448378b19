"""What the buyer of a pick-up order sees (#18.3): the chosen station's name, address, hours and phone
before ordering (checkout) and after (order page), and the order's one pick-up code as digits and a QR
code; the code is the buyer's alone."""

from __future__ import annotations

import base64
import io
import re

import sqlalchemy as sa

from orders.models import Order
from orders.services import payments
from shop.db import commit
from shop.once import new_form_token
from shop.timeutil import now_utc
from tests.factories import make_product, make_station, make_user
from tests.orders.factories import make_order


def _station(code: str, name: str, phone: str):
    station = make_station(code=code)
    station.name, station.address, station.hours, station.phone = name, f"{name}村委会一楼", "08:30-17:30", phone
    return station


def test_checkout_shows_the_pick_up_stations_details_and_the_order_page_the_code_and_qr(client, db, auth):
    chosen = _station("NCX1", "柳溪村站", "0791-85700001")
    other = _station("NCX2", "新联村站", "0791-85700002")
    a = make_product(price_fen=1000, station=chosen, stock=5)
    b = make_product(price_fen=2000, station=other, stock=5)
    user = make_user()
    auth.login(user)
    client.post("/cart/add", data={"product_id": a.id, "quantity": 1})
    client.post("/cart/add", data={"product_id": b.id, "quantity": 1})
    html = client.get("/checkout").get_data(as_text=True)
    for text in ("柳溪村站", "柳溪村站村委会一楼", "08:30-17:30", "0791-85700001"):
        assert text in html, text
    total = re.search(r'name="shown_total_pickup" value="(\d+)"', html).group(1)
    response = client.post(
        "/checkout",
        data={
            "form_token": new_form_token(),
            "address_id": 0,
            "delivery": "pickup",
            "pickup_station_id": chosen.id,
            "payment_method": "station_cash",
            "shown_total_pickup": total,
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    order = db.session.scalar(sa.select(Order))
    assert order.pickup_station_id == chosen.id and len(order.shipments) == 2
    codes = {s.pickup_code for s in order.shipments}
    assert len(codes) == 1 and codes != {""}  # one code for the whole order
    (code,) = codes
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    for text in ("柳溪村站", "柳溪村站村委会一楼", "08:30-17:30", "0791-85700001", code, "送往 柳溪村站"):
        assert text in page, text
    assert page.count(code) == 1  # shown once, for the whole order
    qr = re.search(r'class="pickup-qr" src="data:image/png;base64,([^"]+)"', page)
    assert qr, "no QR code image"
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(qr.group(1))))
    assert image.format == "PNG" and image.size[0] == image.size[1] >= 100


def test_placement_gives_every_shipment_of_a_pick_up_order_the_same_code(db, now):
    chosen, other, third = make_station(), make_station(), make_station()
    buyer = make_user()
    items = [(make_product(station=s, stock=5), 1) for s in (chosen, other, third)]
    order = make_order(buyer, items, now=now, delivery="pickup", pickup_station_id=chosen.id)
    assert len(order.shipments) == 3 and len({s.pickup_code for s in order.shipments}) == 1
    post = make_order(buyer, items, now=now, payment_method="cod")
    assert {s.pickup_code for s in post.shipments} == {""}


def test_the_confirmation_mail_names_the_station_and_the_one_code(db, now, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="shop.mail")
    chosen = _station("NCX3", "柳溪村站", "0791-85700003")
    buyer = make_user(email="pickup-buyer@test.cn")
    items = [(make_product(station=s, stock=5), 1) for s in (chosen, make_station())]
    order = make_order(buyer, items, now=now, delivery="pickup", pickup_station_id=chosen.id)
    commit()
    [text] = [r.getMessage() for r in caplog.records if r.name == "shop.mail" and order.code in r.getMessage()]
    code = order.shipments[0].pickup_code
    assert "柳溪村站" in text and "0791-85700003" in text and text.count(code) == 1


def test_the_stations_api_gives_what_a_pick_up_buyer_needs(client, db):
    _station("NCX4", "柳溪村站", "0791-85700004")
    commit()
    [item] = [s for s in client.get("/api/v1/stations").json["items"] if s["code"] == "NCX4"]
    assert (item["name"], item["address"], item["hours"], item["phone"]) == (
        "柳溪村站",
        "柳溪村站村委会一楼",
        "08:30-17:30",
        "0791-85700004",
    )


def test_an_unpaid_card_pick_up_order_shows_no_pick_up_code_until_it_is_paid(
    client, db, auth, api_token, now, fake_stripe
):
    """The pick-up code is shown while the order is confirmed (orders.services.pickup.pickup_code_to_show,
    shipment_code_to_show), on the order page and in the API; a card order awaiting its payment showed it
    anyway, under its shipment (the fallback for orders of one code per shipment) and in the API's
    shipments, inviting the buyer to collect goods not paid for."""
    chosen = _station("NCX5", "柳溪村站", "0791-85700005")
    buyer = make_user()
    order = make_order(
        buyer,
        [(make_product(station=chosen, stock=5), 1)],
        now=now,
        payment_method="card",
        delivery="pickup",
        pickup_station_id=chosen.id,
    )
    commit()
    assert order.status == "pending"
    code = order.shipments[0].pickup_code
    headers = api_token(buyer)
    auth.login(buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert code not in page and "取货码" not in page, "no pick-up code before the payment"
    assert client.get(f"/api/v1/orders/{order.code}", headers=headers).json["shipments"][0]["pickup_code"] is None
    payments.confirm_payment(order.payments[0], now=now)
    commit()
    assert order.status == "confirmed"
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert page.count(code) == 1 and 'class="pickup-qr"' in page, "the code once paid"
    assert client.get(f"/api/v1/orders/{order.code}", headers=headers).json["shipments"][0]["pickup_code"] == code


def _payment_label(html: str, method: str) -> str:
    """The class of the checkout's label around the payment radio of `method`."""
    found = re.search(rf'<label class="([^"]*)"><input[^>]*name="payment_method"[^>]*value="{method}"', html)
    assert found, method
    return found.group(1)


def test_checkout_offers_cash_on_delivery_with_home_delivery_only(client, db, auth):
    """货到付款 is paid at the door: shown with 快递到家 only (`ship-only`, which checkout.js hides for a
    pick-up), and 到站点付款 with 到站自提 only (`pickup-only`, hidden for home delivery)."""
    product = make_product(price_fen=1000, stock=5)
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    html = client.get("/checkout").get_data(as_text=True)
    assert _payment_label(html, "cod").split() == ["choice", "ship-only"]
    assert _payment_label(html, "station_cash").split() == ["choice", "pickup-only"]


def test_a_pick_up_order_with_cash_on_delivery_is_refused_and_nothing_is_placed(client, db, auth):
    """Sent without JavaScript (every method shows), a pick-up with 货到付款 is refused with why, in the
    page's language; no order, no stock taken, the cart as it was."""
    station = make_station()
    product = make_product(price_fen=1000, station=station, stock=5)
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": product.id, "quantity": 2})
    html = client.get("/checkout").get_data(as_text=True)
    form = {
        "address_id": 0,
        "delivery": "pickup",
        "pickup_station_id": station.id,
        "payment_method": "cod",
        "shown_total_pickup": re.search(r'name="shown_total_pickup" value="(\d+)"', html).group(1),
    }
    response = client.post("/checkout", data={"form_token": new_form_token(), **form})
    assert response.status_code == 422
    assert "货到付款只用于快递到家；站点自提的订单请选择到站点付款" in response.get_data(as_text=True)
    response = client.post("/checkout?lang=en", data={"form_token": new_form_token(), **form})
    assert response.status_code == 422
    assert "Cash on delivery is for home delivery only" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    db.session.expire_all()
    assert product.stock.allocated == 0
    assert "× 2" in client.get("/checkout").get_data(as_text=True), "the cart as it was"


def test_the_api_refuses_cash_on_delivery_for_a_pick_up_order(client, db, api_token):
    station = make_station()
    product = make_product(price_fen=1000, station=station, stock=5)
    body = {
        "items": [{"product_id": product.id, "quantity": 1}],
        "delivery": "pickup",
        "pickup_station_id": station.id,
        "payment_method": "cod",
    }
    response = client.post("/api/v1/orders", json=body, headers=api_token(make_user()))
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "cod_not_for_pickup"
    assert response.json["error"]["fields"] == {"payment_method": "not_for_delivery"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    body["payment_method"] = "station_cash"
    assert client.post("/api/v1/orders", json=body, headers=api_token(make_user())).status_code == 201


def _proposed_station(html: str) -> int | None:
    """The pick-up station selected in the checkout's 自提站点 box when the page opens (None: none marked)."""
    box = re.search(r'<select[^>]*name="pickup_station_id"[^>]*>(.*?)</select>', html, re.S).group(1)
    chosen = re.search(r'<option selected value="(\d+)"|<option value="(\d+)" selected', box)
    return int(chosen.group(1) or chosen.group(2)) if chosen else None


def test_checkout_proposes_the_goods_station_then_the_buyers_last_pick_up_station(client, db, auth):
    """站点自提 proposes the station the goods are packed at (no transfer) for a first pick-up, and the
    station the buyer last collected at after that — not the list's first station whatever the goods."""
    first = _station("NCA1", "柳溪村站", "0791-85700011")  # first in the list (by code)
    goods_station = _station("NCB2", "前进村站", "0791-85700012")
    mine = _station("NCC3", "新联村站", "0791-85700013")
    pickles = make_product(price_fen=1880, station=goods_station, stock=5)
    user = make_user()
    auth.login(user)
    client.post("/cart/add", data={"product_id": pickles.id, "quantity": 1})
    html = client.get("/checkout").get_data(as_text=True)
    assert _proposed_station(html) == goods_station.id != first.id

    eggs = make_product(price_fen=4500, station=mine, stock=5)
    make_order(user, [(eggs, 1)], now=now_utc(), delivery="pickup", pickup_station_id=mine.id)
    commit()
    html = client.get("/checkout").get_data(as_text=True)
    assert _proposed_station(html) == mine.id
