"""A station's name with its code (or the pickup station with its address) is bracketed in the page's
language: 罗渡站（LD01） on a Chinese page, 罗渡站 (LD01) on an English one (English pages showed the
full-width brackets). One helper, `shop.filters.bracketed`, the `bracketed` filter of the templates."""

from __future__ import annotations

import pytest

from tests.factories import make_product, make_station, make_user, make_village


@pytest.mark.parametrize(
    ("lang", "shown", "not_shown"), [("zh_CN", "罗渡站（LD01）", "罗渡站 (LD01)"), ("en", "罗渡站 (LD01)", "（LD01）")]
)
def test_the_village_page_brackets_its_station_code_in_the_page_language(client, db, lang, shown, not_shown):
    village = make_village()
    station = make_station(village=village, code="LD01")
    station.name = "罗渡站"
    db.session.commit()
    html = client.get(f"/villages/{village.slug}?lang={lang}").get_data(as_text=True)
    assert shown in html and not_shown not in html


@pytest.mark.parametrize(
    ("lang", "shown", "not_shown"), [("zh_CN", "罗渡站（LD01）", "罗渡站 (LD01)"), ("en", "罗渡站 (LD01)", "（LD01）")]
)
def test_the_station_pages_bracket_the_operators_station_in_the_page_language(client, db, auth, lang, shown, not_shown):
    station = make_station(code="LD01")
    station.name = "罗渡站"
    operator = make_user(role="operator", station=station)
    db.session.commit()
    auth.login(operator)
    html = client.get(f"/station/?lang={lang}").get_data(as_text=True)
    assert shown in html and not_shown not in html


@pytest.mark.parametrize(("lang", "shown"), [("zh_CN", "罗渡站（村委会旁）"), ("en", "罗渡站 (村委会旁)")])
def test_the_checkouts_pickup_stations_are_named_with_their_address_in_the_page_language(client, db, auth, lang, shown):
    station = make_station(code="LD01")
    station.name = "罗渡站"
    buyer = make_user()
    product = make_product(stock=5, station=station)
    db.session.commit()
    auth.login(buyer)
    client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
    html = client.get(f"/checkout?lang={lang}").get_data(as_text=True)
    assert shown in html
