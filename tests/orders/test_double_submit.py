"""Double submission (#19.8): two identical POSTs of the checkout page or the booking form create one
order / one booking (the page's once-token, shop.once); the payment preselected follows the delivery."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from orders.models import Order
from shop.timeutil import local_date, now_utc
from tests.factories import make_product, make_station, make_user
from tests.tourism.factories import make_listing
from tourism.models import Booking


def _hidden(html: str, name: str) -> str:
    match = re.search(r'<input[^>]*name="%s"[^>]*>' % name, html)
    return re.search(r'value="([^"]*)"', match.group(0)).group(1)


def _count(db, model):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_two_identical_checkout_posts_place_one_order(client, db, auth):
    station = make_station()
    product = make_product(price_fen=1000, stock=5)
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    page = client.get("/checkout").get_data(as_text=True)
    token = _hidden(page, "form_token")
    assert len(token) >= 16
    data = {
        "address_id": 0,
        "delivery": "pickup",
        "pickup_station_id": station.id,
        "payment_method": "station_cash",
        "shown_total_pickup": _hidden(page, "shown_total_pickup"),
        "form_token": token,
    }
    first = client.post("/checkout", data=data)
    assert first.status_code == 303 and "/orders/" in first.headers["Location"]
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})  # even with a cart again
    second = client.post("/checkout", data=data)
    assert second.status_code == 303 and second.headers["Location"].endswith("/orders")
    assert _count(db, Order) == 1
    assert "此表单已提交过" in client.get("/orders").get_data(as_text=True)


def test_two_identical_booking_posts_make_one_booking(client, db, auth):
    listing = make_listing(pay_on_arrival=True, units=3)
    auth.login(make_user())
    page = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
    token = _hidden(page, "form_token")
    day = local_date(now_utc()) + timedelta(days=8)
    data = {
        "checkin": day.isoformat(),
        "checkout": (day + timedelta(days=1)).isoformat(),
        "guests": 2,
        "units": 1,
        "unit_type_id": listing.unit_types[0].id,
        "payment_method": "arrival",
        "form_token": token,
    }
    assert client.post(f"/listings/{listing.id}/book", data=data).status_code == 302
    second = client.post(f"/listings/{listing.id}/book", data=data)
    assert second.status_code == 303 and second.headers["Location"].endswith("/bookings")
    assert _count(db, Booking) == 1
    # a fresh page (a new token, Back to the listing) of the same dates asks first (a second booking of them:
    # tests/tourism/test_booked_already.py), then books again: only the repeat is refused
    fresh = _hidden(client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True), "form_token")
    assert fresh != token
    asked = client.post(f"/listings/{listing.id}/book", data={**data, "form_token": fresh})
    assert asked.status_code == 303 and "/confirm/" in asked.headers["Location"]
    again = {**data, "form_token": fresh, "confirm": "1"}
    assert client.post(f"/listings/{listing.id}/book", data=again).status_code == 302
    assert _count(db, Booking) == 2


def test_a_refused_checkout_can_be_sent_again_with_the_same_page(client, db, auth):
    station = make_station()
    product = make_product(price_fen=1000, stock=5)
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    token = _hidden(client.get("/checkout").get_data(as_text=True), "form_token")
    data = {
        "address_id": 0,
        "delivery": "pickup",
        "pickup_station_id": station.id,
        "payment_method": "station_cash",
        "shown_total_pickup": "1",
        "form_token": token,
    }
    assert client.post("/checkout", data=data).status_code == 409  # the total changed: nothing placed
    assert client.post("/checkout", data={**data, "shown_total_pickup": "1000"}).status_code == 303
    assert _count(db, Order) == 1


def test_home_delivery_does_not_preselect_paying_at_the_station(client, db, auth):
    product = make_product(stock=5)
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    page = client.get("/checkout").get_data(as_text=True)
    checked = re.findall(
        r'<input[^>]*checked[^>]*name="payment_method"[^>]*>|<input[^>]*name="payment_method"[^>]*checked[^>]*>', page
    )
    assert len(checked) == 1 and 'value="cod"' in checked[0]
    assert 'data-pay-ship="cod"' in page and 'data-pay-pickup="station_cash"' in page


def test_back_to_the_checkout_after_placing_shows_the_order_placed_not_the_cart(client, db, auth):
    """The browser's Back from the new order's page asks for the checkout again; its cart is now empty (or
    holds only lines not chosen). That is no 购物车是空的 / 请先勾选 for the buyer who just ordered: the
    checkout says the order was placed, and not twice, and shows it — once; afterwards the checkout of an
    empty cart goes to the cart as before."""
    station = make_station()
    product = make_product(price_fen=1000, stock=5)
    auth.login(make_user())
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    page = client.get("/checkout").get_data(as_text=True)
    placed = client.post(
        "/checkout",
        data={
            "address_id": 0,
            "delivery": "pickup",
            "pickup_station_id": station.id,
            "payment_method": "station_cash",
            "shown_total_pickup": _hidden(page, "shown_total_pickup"),
            "form_token": _hidden(page, "form_token"),
        },
    )
    assert placed.status_code == 303
    order_page = placed.headers["Location"]
    back = client.get("/checkout")
    assert back.status_code == 302 and back.headers["Location"] == order_page
    code = order_page.rsplit("/", 1)[-1]
    assert f"订单 {code} 已提交，不会重复下单" in client.get(order_page).get_data(as_text=True)
    again = client.get("/checkout")
    assert again.status_code == 302 and again.headers["Location"].endswith("/cart")
    assert _count(db, Order) == 1
