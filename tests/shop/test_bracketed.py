"""A station's name with its code (or the pickup station with its address) is bracketed in the page's
language: 罗渡站（LD01） on a Chinese page, 罗渡站 (LD01) on an English one (English pages showed the
full-width brackets). One helper, `shop.filters.bracketed`, the `bracketed` filter of the templates; the
same for the station's asides (a low stock's alert line, a stock record's movements in all) and the
booked dates a refused closure names."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import make_product, make_station, make_user, make_village
from tests.tourism.factories import booked_to_pay_on_arrival


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


@pytest.mark.parametrize(
    ("stock", "page", "lang", "shown", "not_shown"),
    [
        (10, "/station/", "zh_CN", "罗渡站（LD01）", "罗渡站 (LD01)"),  # the operator's station, over each page
        (10, "/station/", "en", "罗渡站 (LD01)", "（LD01）"),
        (2, "/station/", "zh_CN", "可售 2 盒（提醒线 5）", "盒 (提醒线"),  # the desk's low stock: 2 left, alert at 5
        (2, "/station/", "en", "2 available 盒 (alert at 5)", "（alert at"),
        (5, "/station/stock/{record}", "zh_CN", "库存流水（合计 5）", "库存流水 ("),  # its movements: a receipt of 5
        (5, "/station/stock/{record}", "en", "Stock movements (Total 5)", "（Total"),
    ],
)
def test_the_station_pages_bracket_their_station_and_stock_asides_in_the_page_language(
    client, db, auth, stock, page, lang, shown, not_shown
):
    station = make_station(code="LD01")
    station.name = "罗渡站"
    operator = make_user(role="operator", station=station)
    product = make_product(stock=stock, station=station, unit="盒")
    db.session.commit()
    auth.login(operator)
    html = client.get(f"{page.format(record=product.stock.id)}?lang={lang}").get_data(as_text=True)
    assert shown in html and not_shown not in html


@pytest.mark.parametrize(("lang", "bracket"), [("zh_CN", "（"), ("en", " (")])
def test_a_closure_refused_over_bookings_brackets_their_dates_in_the_page_language(client, db, auth, lang, bracket):
    host = make_user(role="host")
    booking = booked_to_pay_on_arrival(host, days_ahead=3)
    db.session.commit()
    auth.login(host)
    day = booking.check_in_date
    form = {"confirm": "1", "start": day.isoformat(), "end": day.isoformat()}
    said = client.post(f"/host/listings/{booking.listing_id}/close?lang={lang}", data=form).get_data(as_text=True)
    dates = f"{day:%m-%d}–{day + timedelta(days=1):%m-%d}"
    assert f"{booking.code}{bracket}{dates}" in said
    assert f"{booking.code}{'（' if lang == 'en' else ' ('}" not in said
