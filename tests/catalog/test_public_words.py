"""#19.11: pages a buyer or tourist reads use today's public terms (脱贫村, 脱贫户, 防止返贫监测对象), never
贫困村 / 贫困户; the registry's own status fields stay on the county office's pages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shop.timeutil import local_date, now_utc
from tests.factories import make_household, make_product, make_user, make_village
from tests.orders.factories import make_order
from tests.tourism.factories import make_booking, make_listing


@pytest.fixture
def public_world(db):
    village = make_village(name="花海村", signature_product="花海门票")  # a former poverty village
    households = [make_household(village=village), make_household(village=village)]
    product = make_product(name="花海蜂蜜", village=village, households=households)
    listing = make_listing(village=village, name="花海原乡民宿", households=households)
    buyer = make_user()
    order = make_order(buyer, [(product, 1)], now=now_utc())
    day = local_date(now_utc()) + timedelta(days=9)
    booking = make_booking(listing, user=buyer, check_in=day, check_out=day + timedelta(days=1))
    return village, product, listing, buyer, order, booking


def _public_urls(village, product, listing, order, booking):
    return [
        "/",
        "/products",
        f"/products/{product.id}-{product.slug}",
        f"/villages/{village.slug}",
        "/stays",
        "/tickets",
        f"/listings/{listing.id}-{listing.slug}",
        "/cart",
        "/orders",
        f"/orders/{order.code}",
        f"/bookings/{booking.code}",
        "/bookings",
        "/search?q=花海",
    ]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_no_buyer_or_tourist_page_says_poor(client, auth, public_world, lang):
    village, product, listing, buyer, order, booking = public_world
    auth.login(buyer)
    client.get(f"/?lang={lang}")
    for url in _public_urls(village, product, listing, order, booking):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert "贫困" not in html, url
        assert "poor household" not in html.lower() and "poverty village" not in html.lower(), url


def test_the_public_pages_use_todays_terms(client, public_world):
    village, product, listing, _buyer, _order, _booking = public_world
    assert "脱贫村" in client.get(f"/villages/{village.slug}").get_data(as_text=True)
    assert "2 户脱贫户" in client.get(f"/products/{product.id}-{product.slug}").get_data(as_text=True)
    assert "脱贫户" in client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)


def test_buyer_mails_use_todays_terms(app, public_world):
    from flask import render_template

    _village, _product, _listing, _buyer, order, booking = public_world
    with app.test_request_context("/"):
        mails = [
            render_template("emails/order_confirmation.txt", order=order),
            render_template("emails/booking_confirmation.txt", booking=booking),
        ]
    assert all("贫困" not in m for m in mails)
