"""A listing's page keeps the village its list was filtered to for its ‹ 返回列表 (`tourism.views.LIST_ARGS`),
but two paths dropped it: a refused 预订 (no room left, the dates wrong, a party too large) showed the page again
at `/listings/<id>/book`, without the list's arguments, and signing in again after a 预订 whose session had
ended landed on the listing without them. 返回列表 then led to every village's list. The booking form posts to
an address carrying the village, and that address's GET (after signing in) sends it on, as a number only."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from shop.auth.services import end_sessions
from shop.db import commit
from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.tourism.factories import make_booking, make_listing
from tourism.models import Booking

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def _day(n: int):
    return local_date(now_utc()) + timedelta(days=n)


def _href(page: str, text: str) -> str:
    found = re.search(rf'href="([^"]*)"[^>]*>\s*{re.escape(text)}', page)
    assert found, text
    return html.unescape(found.group(1))


def _booking_action(page: str) -> str:
    found = re.search(r'<form class="form" method="post" action="([^"]*)"', page)
    assert found
    return html.unescape(found.group(1))


def _bookings(db) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Booking))


def _page_of_village(client, listing) -> str:
    return client.get(f"/listings/{listing.id}-{listing.slug}?village={listing.village_id}").get_data(as_text=True)


def test_a_refused_booking_keeps_back_to_the_list_of_its_village(client, db, auth):
    listing = make_listing(units=1, max_guests=2, pay_on_arrival=True)
    make_booking(listing, check_in=_day(10))  # its one room, the night of day 10
    commit()
    village = listing.village_id
    auth.login(make_user())
    action = _booking_action(_page_of_village(client, listing))
    assert action == f"/listings/{listing.id}/book?village={village}"
    typed = {"guests": "2", "units": "1", "unit_type_id": str(listing.unit_types[0].id), "payment_method": "arrival"}
    refusals = {
        "no room left": {"checkin": _day(10).isoformat(), "checkout": _day(11).isoformat()},
        "checkout before check-in": {"checkin": _day(12).isoformat(), "checkout": _day(11).isoformat()},
        "party too large": {"checkin": _day(12).isoformat(), "checkout": _day(13).isoformat(), "guests": "99"},
        "party of none (the form refuses it)": {"checkin": _day(12).isoformat(), "guests": "0"},
    }
    for why, dates in refusals.items():
        r = client.post(action, data={**typed, **dates, "form_token": new_form_token()})
        page = r.get_data(as_text=True)
        assert r.status_code in (409, 422), why
        back = _href(page, "‹ 返回列表")
        assert back.startswith("/stays?") and f"village={village}" in back, (why, back)
        assert _booking_action(page) == action, why  # sent again from here, still kept
        assert f"village={village}" in _href(page, "下月"), why  # the calendar's links keep it too
    assert _bookings(db) == 1, "refused, nothing booked"
    # without a village on the page, nothing is added
    page = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
    assert _booking_action(page) == f"/listings/{listing.id}/book"


def test_signing_in_again_after_booking_lands_on_the_listing_of_the_village_list(client, db, auth):
    tourist = make_user(email="tourist@test.cn")
    listing = make_listing(units=2, max_guests=3, pay_on_arrival=True)
    commit()
    village = listing.village_id
    auth.login(tourist)
    action = _booking_action(_page_of_village(client, listing))
    end_sessions(tourist)  # signed out on another device: this browser's session signs nobody in now
    commit()
    typed = {"checkin": _day(20).isoformat(), "checkout": _day(22).isoformat(), "guests": "3", "form_token": "x"}
    sent = client.post(action, data=typed, headers=SAME_ORIGIN)
    assert sent.status_code == 302 and sent.location.startswith("/login?")
    signed_in = client.post(sent.location, data={"email": tourist.email, "password": "password123"})
    assert signed_in.location == f"/listings/{listing.id}/book?village={village}"
    shown = client.get(signed_in.location)
    assert shown.status_code == 303
    target = urlsplit(shown.location)
    assert target.path == f"/listings/{listing.id}-{listing.slug}" and not target.netloc
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query == {"checkin": typed["checkin"], "checkout": typed["checkout"], "guests": "3", "village": str(village)}
    page = client.get(shown.location).get_data(as_text=True)
    assert f"village={village}" in _href(page, "‹ 返回列表")
    assert _bookings(db) == 0, "shown again, not sent"


def test_the_book_address_sends_on_only_the_lists_village_and_numbers_in_range(client, db, auth):
    """Only the known list argument, as a number, goes on to the listing's own page (built by `url_for`):
    another argument or address is not followed, a village typed wrong is left out; a party kept from before
    signing in that the page cannot read (0) is left out rather than making the page a 400."""
    listing = make_listing(pay_on_arrival=True)
    commit()
    auth.login(make_user())
    base = f"/listings/{listing.id}/book"
    r = client.get(f"{base}?village=//evil.example&next=https://evil.example/&guests=0&units=abc&checkin=2026-02-30")
    target = urlsplit(r.location)
    assert r.status_code == 303 and not target.netloc and target.path == f"/listings/{listing.id}-{listing.slug}"
    assert parse_qs(target.query) == {"checkin": ["2026-02-30"]}  # the page says this date is wrong (422)
    assert client.get(r.location).status_code == 422


def test_a_refused_add_to_cart_from_a_refused_bookings_page_keeps_what_was_typed_and_the_village(client, db, auth):
    """The page of a refused 预订 is at `/listings/<id>/book?village=…`; its 加入购物车, refused too, came back
    there with what was typed in the query, which the address's GET dropped: the form came back empty."""
    listing = make_listing(units=2, max_guests=2, pay_on_arrival=True)
    commit()
    village = listing.village_id
    auth.login(make_user())
    action = f"/listings/{listing.id}/book?village={village}"
    typed = {"checkin": _day(12).isoformat(), "checkout": _day(14).isoformat(), "guests": "9", "units": "1"}
    refused = client.post(action, data={**typed, "payment_method": "arrival", "form_token": new_form_token()})
    assert refused.status_code in (409, 422)
    back = client.post(
        "/cart/bookings",
        data={**typed, "listing_id": str(listing.id)},
        headers={"Referer": f"http://localhost{action}"},
    )
    assert back.status_code == 303 and urlsplit(back.location).path == f"/listings/{listing.id}/book"
    shown = client.get(back.location)
    assert shown.status_code == 303
    query = {k: v[0] for k, v in parse_qs(urlsplit(shown.location).query).items()}
    assert query == {**typed, "village": str(village)}
    page = client.get(shown.location).get_data(as_text=True)
    assert f'value="{typed["checkin"]}"' in page and f'value="{typed["checkout"]}"' in page
    assert f"village={village}" in _href(page, "‹ 返回列表")
