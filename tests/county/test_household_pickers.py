"""Every list a household is picked from names it by one label (`catalog.services.household_labels`): its
number, the head's name masked, its village — with its township when a village of another township has its
name. Two households of one 新村 whose heads read 张* alike, and the other township's 新村, told apart on
every picker page; no head's name unmasked."""

from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa

from shop.db import commit
from stock.models import StockRecord
from tests.factories import make_household, make_product, make_station, make_township, make_user, make_village

NAMES = ("张三", "张四")


def _world(db):
    """Two households of 新村 (三江镇) whose heads mask alike (张*), a station serving it, and a 新村 of another
    township."""
    here, there = make_township(name="三江镇"), make_township(name="柳溪镇")
    village = make_village(name="新村", township=here)
    make_village(name="新村", township=there)
    one, two = (make_household(village=village, head_name=name) for name in NAMES)
    station = make_station(village=village)
    return village, one, two, station


def _label(household) -> str:
    return f"#{household.id} 张* · 三江镇 · 新村"


def _options(page: str, household) -> list[str]:
    """The texts of the page's options (select or datalist) that offer `household` (its id, and a text that
    begins with its number: a category or a product of that id is not it)."""
    found = re.findall(rf'<option value="{household.id}"(?: selected)?>([^<]*)</option>', page)
    return [text for text in found if text.startswith(f"#{household.id} ") or "张" in text]


def _clean(page: str) -> None:
    for name in NAMES:
        assert name not in page


def test_the_stations_pickers_tell_two_households_and_two_villages_of_one_name_apart(client, auth, db):
    """代卖农户 and 受益农户 (a new product) and 交货农户 (a lot's intake)."""
    _village, one, two, station = _world(db)
    product = make_product(station=station)
    operator = make_user(role="operator", station=station)
    commit()
    record = db.session.scalar(sa.select(StockRecord).where(StockRecord.product_id == product.id))
    auth.login(operator)
    for url in ("/station/products/new", f"/station/stock/{record.id}"):
        page = unescape(client.get(url).get_data(as_text=True))
        for household in (one, two):
            assert _options(page, household) == [_label(household)], url
        _clean(page)


def test_the_benefit_recording_pages_tell_two_households_apart(client, auth, db):
    """The station's and the host's 登记收益 list their households as the other pickers do, not 「新村 · 张*」
    twice."""
    from tests.tourism.factories import make_listing

    village, one, two, station = _world(db)
    operator = make_user(role="operator", station=station)
    host = make_user(role="host")
    make_listing(host=host, village=village)
    commit()
    for user, url in ((operator, "/station/benefits"), (host, "/host/benefits")):
        auth.login(user)
        page = unescape(client.get(url).get_data(as_text=True))
        for household in (one, two):
            label = f"{_label(household)}（{household.members} 口人）"
            assert _options(page, household) == [label], url
            assert f'<li data-household="{household.id}">{label}</li>' in page, url
        _clean(page)
        auth.logout()


def test_the_countys_links_and_approvals_tell_two_households_and_two_villages_apart(client, auth, db):
    village, one, two, station = _world(db)
    product = make_product(station=station, village=village, households=[one, two], approval_status="pending")
    county = make_user(role="county")
    commit()
    auth.login(county)
    page = unescape(client.get(f"/county/links/product/{product.id}").get_data(as_text=True))
    for household in (one, two):
        assert _label(household) in _options(page, household)
    _clean(page)
    page = unescape(client.get("/county/approvals").get_data(as_text=True))
    for household in (one, two):
        assert f'/county/households/{household.id}">{_label(household)}</a>' in page
    _clean(page)


def test_a_village_whose_name_no_other_township_shares_is_named_alone(client, auth, db):
    village = make_village(name="独一村")
    household = make_household(village=village, head_name="李四")
    station = make_station(village=village)
    operator = make_user(role="operator", station=station)
    commit()
    auth.login(operator)
    page = unescape(client.get("/station/products/new").get_data(as_text=True))
    assert _options(page, household) == [f"#{household.id} 李* · 独一村"]
