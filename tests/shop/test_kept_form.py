"""A form that needs an account, sent by a visitor who is no longer signed in, is kept through signing in
(or signing up) and shown again, filled in, on its page (shop/kept_form.py, docs/journeys.md "Signing
in keeps what the guest did"). Nothing is sent by itself: the visitor checks it and taps again."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from orders.models import Order
from shop.auth.services import end_sessions
from shop.db import commit
from tests.factories import make_product, make_user
from tests.institutions.purchase_setup import organisation_with_products, purchase_form
from tests.orders.factories import checkout_form
from tests.tourism.factories import make_listing

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
KEPT = "您填写的内容已保留"


def _session_ended_elsewhere(db, user) -> None:
    """The buyer signed out on another device (or changed the password there): this browser's session no
    longer signs anyone in, though its cookie (and CSRF token) is still there."""
    end_sessions(user)
    commit()


def _orders(db) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(Order.id)))


def test_the_address_typed_at_checkout_comes_back_after_signing_in_again(client, db, auth):
    buyer = make_user(email="buyer@test.cn")
    product = make_product(name="三江腌菜", stock=10)
    auth.login(buyer)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 2})
    page = client.get("/checkout").get_data(as_text=True)
    _session_ended_elsewhere(db, buyer)
    typed = checkout_form(
        payment_method="station_cash",
        page=page,
        name="李秀英",
        phone="13912345678",
        line="幸福路8号",
        delivery="pickup",
        pickup_station_id=product.station_id,
    )

    sent = client.post("/checkout", data=typed, headers=SAME_ORIGIN)
    assert sent.status_code == 302 and sent.location.startswith("/login?next=")
    assert parse_qs(urlsplit(sent.location).query) == {"next": ["/checkout"], "need": ["form"]}
    assert KEPT in client.get(sent.location).get_data(as_text=True)
    assert _orders(db) == 0

    signed_in = client.post(sent.location, data={"email": buyer.email, "password": "password123"})
    assert signed_in.status_code == 302 and signed_in.location == "/checkout"
    again = client.get("/checkout").get_data(as_text=True)
    for value in ("李秀英", "13912345678", "幸福路8号"):
        assert f'value="{value}"' in again, value
    # the choices too, where a fresh checkout would start on home delivery, cash on delivery
    assert re.search(r'<input checked[^>]*value="pickup"', again)
    assert re.search(r'<input checked[^>]*value="station_cash"', again)
    assert _orders(db) == 0, "shown again, not sent"
    assert "李秀英" not in client.get("/checkout").get_data(as_text=True), "shown once"


def test_signing_up_instead_keeps_it_too(client, db):
    product = make_product(name="三江腌菜", stock=10)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    client.get("/cart")
    # the checkout's form, sent again from the page an expired form gets (shop.resubmit), signed out
    sent = client.post("/checkout", data=checkout_form(payment_method="cod", name="李秀英"), headers=SAME_ORIGIN)
    assert sent.status_code == 302 and "need=form" in sent.location
    login_page = client.get(sent.location).get_data(as_text=True)
    assert "/register?next=/checkout&amp;need=form" in login_page
    client.post(
        "/register?next=/checkout&need=form",
        data={"name": "新买家", "email": "new@test.cn", "password": "s3cret-pass", "confirm": "s3cret-pass"},
    )
    assert 'value="李秀英"' in client.get("/checkout").get_data(as_text=True)


def test_the_dates_of_a_booking_come_back_on_the_listing(client, db, auth):
    tourist = make_user(email="tourist@test.cn")
    listing = make_listing(units=2, max_guests=3)
    commit()
    auth.login(tourist)
    _session_ended_elsewhere(db, tourist)
    check_in = date.today() + timedelta(days=20)
    typed = {
        "checkin": check_in.isoformat(),
        "checkout": (check_in + timedelta(days=2)).isoformat(),
        "guests": "3",
        "units": "1",
        "unit_type_id": str(listing.unit_types[0].id),
        "form_token": "x",
    }
    sent = client.post(f"/listings/{listing.id}/book", data=typed, headers=SAME_ORIGIN)
    assert sent.status_code == 302 and "need=form" in sent.location
    back = client.post(sent.location, data={"email": tourist.email, "password": "password123"})
    assert back.location == f"/listings/{listing.id}/book"
    shown = client.get(back.location)
    assert shown.status_code == 303
    query = parse_qs(urlsplit(shown.location).query)
    assert {k: v[0] for k, v in query.items()} == {k: v for k, v in typed.items() if k != "form_token"}
    page = client.get(shown.location).get_data(as_text=True)
    assert f'value="{check_in.isoformat()}"' in page


def test_a_page_read_field_by_field_gets_it_too(client, db, auth):
    """The period invoice request (no WTForms form): its template reads `restored()`'s fields."""
    buyer = make_user(email="buyer@test.cn")
    auth.login(buyer)
    _session_ended_elsewhere(db, buyer)
    typed = {"kind": "ordinary", "title": "南昌县第一中学", "tax_number": "", "from": "2026-01-01", "to": "2026-01-31"}
    sent = client.post("/invoices/period", data=typed, headers=SAME_ORIGIN)
    client.post(sent.location, data={"email": buyer.email, "password": "password123"})
    page = client.get("/invoices/period").get_data(as_text=True)
    assert 'value="南昌县第一中学"' in page and 'value="2026-01-01"' in page


def test_nothing_is_kept_from_a_post_that_does_not_say_it_came_from_the_shop(client, db, auth):
    buyer = make_user(email="buyer@test.cn")
    product = make_product(stock=10)
    auth.login(buyer)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    _session_ended_elsewhere(db, buyer)
    sent = client.post("/checkout", data=checkout_form(payment_method="cod", name="李秀英"))
    assert sent.status_code == 302 and "need=account" in sent.location
    client.post(sent.location, data={"email": buyer.email, "password": "password123"})
    assert "李秀英" not in client.get("/checkout").get_data(as_text=True)


def test_a_password_is_never_kept(client, db, auth, app):
    buyer = make_user(email="buyer@test.cn")
    auth.login(buyer)
    _session_ended_elsewhere(db, buyer)
    sent = client.post(
        "/password/change",
        data={"old_password": "password123", "password": "n3w-Passw0rd!", "confirm": "n3w-Passw0rd!"},
        headers=SAME_ORIGIN,
    )
    assert sent.status_code == 302 and "need=account" in sent.location, "nothing worth keeping"
    client.post(sent.location, data={"email": buyer.email, "password": "password123"})
    assert "n3w-Passw0rd!" not in client.get("/password/change").get_data(as_text=True)


def test_a_post_larger_than_any_form_of_the_shop_is_not_kept(client, db, auth):
    """A signed-out visitor's request writes into the shared store; one far larger than any of the shop's
    forms (here 20 fields of 1,000 characters) keeps nothing, and the sign-in page says only that an account
    is needed."""
    buyer = make_user(email="buyer@test.cn")
    product = make_product(stock=10)
    auth.login(buyer)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    _session_ended_elsewhere(db, buyer)
    padded = {**checkout_form(payment_method="cod", name="李秀英"), **{f"x{n}": "长" * 1000 for n in range(20)}}
    sent = client.post("/checkout", data=padded, headers=SAME_ORIGIN)
    assert sent.status_code == 302 and "need=account" in sent.location
    client.post(sent.location, data={"email": buyer.email, "password": "password123"})
    assert "李秀英" not in client.get("/checkout").get_data(as_text=True)


def test_an_organisations_purchase_draft_comes_back_with_its_product_rows(client, db, auth):
    """The purchase form's product rows (product_N, quantity_N) are read field by field: they come back
    with the form's own fields, on the new purchase form and on a draft's edit form."""
    organisation, buyer, *_others, rice, eggs = organisation_with_products()
    auth.login(buyer)
    _session_ended_elsewhere(db, buyer)
    url = f"/organisations/{organisation.id}/purchases/new"
    added = {"added_addresses": "1", "a1_label": "北区食堂", "a1_product_0": str(eggs.id), "a1_quantity_0": "9"}
    sent = client.post(
        url, data=purchase_form(rice, eggs, label="南区食堂", quantity_1="7", **added), headers=SAME_ORIGIN
    )
    assert sent.status_code == 302 and "need=form" in sent.location
    client.post(sent.location, data={"email": buyer.email, "password": "password123"})
    page = client.get(url).get_data(as_text=True)
    assert 'value="南区食堂"' in page
    # an address added after the first (添加收货地址) comes back too, with its rows
    assert 'value="北区食堂"' in page and re.search(r'name="a1_quantity_0"[^>]*value="9"', page)
    assert f'<option value="{rice.id}" selected>' in page and f'<option value="{eggs.id}" selected>' in page
    assert re.search(r'name="quantity_0"[^>]*value="3"', page) and re.search(r'name="quantity_1"[^>]*value="7"', page)
    client.post(url, data=purchase_form(rice, eggs))  # saved as a draft, signed in
    draft = client.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    edit = re.search(r"/purchases/(\d+)", draft).group(0) + "/edit"
    _session_ended_elsewhere(db, buyer)
    sent = client.post(edit, data=purchase_form(rice, eggs, quantity_0="11"), headers=SAME_ORIGIN)
    assert sent.status_code == 302 and "need=form" in sent.location
    client.post(sent.location, data={"email": buyer.email, "password": "password123"})
    page = client.get(edit).get_data(as_text=True)
    assert re.search(r'name="quantity_0"[^>]*value="11"', page), "the changed row, not the draft's 3"
