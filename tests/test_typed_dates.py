"""A date or month typed wrong by hand into a page's URL (?from=2026-13-45, ?date=garbage, ?month=2026-13)
is the page itself with its default (every date, today, this or last month) and the reason above it, status
422 — it was a 400 page ('from 须为 2000-01-01 到 2099-12-31 之间的日期（YYYY-MM-DD）', the argument's
English name in a Chinese sentence, and no way back but the home page). Every HTML view that reads a date
from its query string is here; an export still refuses a bad period (a file of the wrong period is worse
than none)."""

from __future__ import annotations

import pytest

from shop.db import commit
from tests.factories import make_household, make_station, make_user, make_village
from tests.tourism.factories import make_listing


@pytest.fixture
def world(db):
    village = make_village()
    station = make_station(village=village)
    host = make_user(role="host")
    listing = make_listing(host=host, village=village)
    household = make_household(village=village)
    world = {
        "county": make_user(role="county"),
        "operator": make_user(role="operator", station=station),
        "host": host,
        "listing": listing,
        "household": household,
        "village": village,
    }
    commit()
    return world


# (who, the page, the field's name on the page, what is typed, the page's own mark)
CASES = [
    ("county", "/county/?from=2026-13-45", "开始日期", "2026-13-45", "county-nav"),
    ("county", "/county/?to=2026-02-30", "结束日期", "2026-02-30", "county-nav"),
    ("county", "/county/income?from=2026-13-45&to=2026-12-01", "开始日期", "2026-13-45", 'id="income-table"'),
    ("county", "/county/households/{household}/statement?from=yesterday", "开始日期", "yesterday", "county-nav"),
    ("county", "/county/households/{household}/card?month=2026-13", "月份", "2026-13", "county-nav"),
    ("county", "/county/cards?village_id={village}&month=11-2026", "月份", "11-2026", "county-nav"),
    ("operator", "/station/cash?date=2026-13-45", "日期", "2026-13-45", 'name="counted"'),
    ("host", "/host/cash?date=20260-01-01", "日期", "20260-01-01", 'name="counted"'),
    ("host", "/host/listings/{listing}?month=2026-13", "月份", "2026-13", "tour-calendar"),
    (None, "/stays?checkin=2026-13-45", "入住日期", "2026-13-45", "罗渡农家乐"),
    (None, "/listings/{listing}-{slug}?checkout=not-a-day", "离店日期", "not-a-day", "tour-calendar"),
    (None, "/listings/{listing}-{slug}?month=2026-00", "月份", "2026-00", "tour-calendar"),
]


@pytest.mark.parametrize(("who", "url", "label", "typed", "mark"), CASES)
def test_a_date_typed_wrong_into_the_url_is_said_on_the_page(client, auth, world, who, url, label, typed, mark):
    if who is not None:
        auth.login(world[who])
    url = url.format(
        household=world["household"].id,
        village=world["village"].id,
        listing=world["listing"].id,
        slug=world["listing"].slug,
    )
    response = client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, url
    assert 'class="site-header"' in html and "<h1>422" not in html and "请求有误" not in html, url
    assert mark in html, url  # the page itself, its default shown
    assert f"{label}「{typed}」无效" in html, url
    assert "须为" not in html, url


def test_the_reason_is_in_the_readers_language(client, auth, world):
    auth.login(world["operator"])
    html = client.get("/station/cash?date=2026-13-45&lang=en").get_data(as_text=True)
    assert "Date “2026-13-45” is not valid" in html and "2000-01-01" in html and "无效" not in html


def test_a_month_beyond_the_calendars_reach_shows_this_month(client, auth, world):
    auth.login(world["host"])
    response = client.get(f"/host/listings/{world['listing'].id}?month=2031-01")
    assert response.status_code == 422 and "月份超出范围" in response.get_data(as_text=True)


def test_an_export_still_refuses_a_bad_period(client, auth, world):
    auth.login(world["county"])
    export = client.get("/county/income?from=2026-13-45&format=csv")
    assert export.status_code == 400
