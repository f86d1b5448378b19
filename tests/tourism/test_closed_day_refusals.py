"""A day the host closed (休息 on the listing's calendar) is refused as such, never as 已订满: the host takes
no bookings that day, whoever else booked it (`tourism.services.booking.day_closed`)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from shop.db import commit
from shop.once import new_form_token
from shop.timeutil import now_utc
from tests.factories import make_product, make_user
from tests.orders.cart_items import stay_item
from tests.orders.factories import ADDRESS_JSON
from tests.tourism.booking_setup import book, day_ahead
from tests.tourism.factories import make_listing, make_session
from tourism.models import Booking
from tourism.services.host import close_dates

pytestmark = pytest.mark.usefixtures("fake_stripe")

#: The day the host closes: the second night of a stay from day 10 to day 12.
CLOSED = 11


def _bookings(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Booking))


def _flashed(page: str) -> str:
    """The page's error messages at its top (the flashes), one string."""
    return " ".join(
        " ".join(re.findall(r'<div class="alert alert-error" role="status">(.*?)</div>', page, re.S)).split()
    )


def _closed_listings():
    """A stay, a ticket and an experience (its session on the closed day), each with day CLOSED closed by
    its host (the calendar's 关闭 action's service), and what each one's booking form sends for that day."""
    stay = make_listing(name="罗渡山居", units=3, pay_on_arrival=True)
    ticket = make_listing(kind="ticket", name="花海门票", units=50, max_guests=6, pay_on_arrival=True)
    experience = make_listing(kind="experience", name="草莓采摘", max_guests=6, pay_on_arrival=True)
    session = make_session(experience, day=day_ahead(CLOSED), hour=14)
    for listing in (stay, ticket, experience):
        close_dates(listing, [day_ahead(CLOSED)], now=now_utc())
    return [
        (stay, {"checkin": day_ahead(10).isoformat(), "checkout": day_ahead(12).isoformat()}),
        (ticket, {"checkin": day_ahead(CLOSED).isoformat()}),
        (experience, {"session_id": session.id}),
    ]


def test_booking_a_closed_day_on_the_page_says_the_host_is_closed_that_day_not_sold_out(client, db, auth):
    """预订 on the listing's page, signed in or (a guest) into the cart: 休息, not taking bookings, the day
    named — in Chinese and in English — and nothing is held."""
    forms = _closed_listings()
    commit()
    day = day_ahead(CLOSED).isoformat()
    for listing, fields in forms:
        page = client.post(
            "/cart/bookings", data={"listing_id": listing.id, "guests": 2, **fields}, follow_redirects=True
        ).get_data(as_text=True)
        assert f"「{listing.name}」{day} 休息，不接待预订，请改选日期" in _flashed(page), listing.kind
        assert "已订满" not in _flashed(page)
    auth.login(make_user())
    for listing, fields in forms:
        for lang, said in (("zh_CN", f"{day} 休息，不接待预订，请改选日期"), ("en", f"Closed on {day}")):
            response = client.post(
                f"/listings/{listing.id}/book?lang={lang}",
                data={"form_token": new_form_token(), "guests": 2, "payment_method": "arrival", **fields},
            )
            page = response.get_data(as_text=True)
            assert response.status_code == 409 and said in _flashed(page), (listing.kind, lang, _flashed(page))
            assert "已订满" not in page and "fully booked" not in page
    assert _bookings(db) == 0


def test_the_api_refuses_a_closed_day_with_its_own_code(client, db, api_token):
    """POST /bookings: 409 `day_closed` naming the day; POST /orders: its booking line 409
    `booking_line_closed` naming the line and the day — not `sold_out` / `booking_line_unavailable`."""
    stay = _closed_listings()[0][0]
    product = make_product(price_fen=1500, stock=5)
    commit()
    headers = api_token(make_user())
    day = day_ahead(CLOSED).isoformat()
    refused = book(client, headers, stay)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "day_closed", refused.json
    assert refused.json["error"]["message"] == f"{day} 休息，不接待预订，请改选日期"
    body = {
        "items": [{"product_id": product.id, "quantity": 1}, stay_item(stay, checkin=10, nights=2)],
        "address": ADDRESS_JSON,
        "payment_method": "card",
    }
    order = client.post("/api/v1/orders", json=body, headers=headers)
    assert order.status_code == 409 and order.json["error"]["code"] == "booking_line_closed", order.json
    assert "罗渡山居" in order.json["error"]["message"] and f"{day} 休息" in order.json["error"]["message"]
    assert "已订满" not in order.json["error"]["message"]
    # the account's language is the one it last chose (docs/api.md): English from here on
    english = client.post(
        "/api/v1/bookings?lang=en",
        json=stay_item(stay, checkin=10),
        headers=headers,
    )
    assert english.json["error"]["message"].startswith(f"Closed on {day}"), english.json
    assert _bookings(db) == 0


def test_a_full_day_is_still_sold_out(client, db, api_token):
    """Only a closed day says so: a day whose rooms are all booked is still 409 `sold_out`."""
    stay = make_listing(units=1)
    commit()
    assert book(client, api_token(make_user()), stay).status_code == 201
    refused = book(client, api_token(make_user()), stay)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "sold_out"
