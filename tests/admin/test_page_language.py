"""Every page of the admin's workspace speaks one language (tests/page_language.py's rules), the
confirmation steps and refused forms included."""

from __future__ import annotations

import pytest

from shop.db import commit
from tests.factories import make_category, make_station, make_user
from tests.page_language import chinese_ui_on_en, english_ui_on_zh, page_text_nodes


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_admin_page_speaks_one_language(admin_client, db, lang):
    station = make_station(code="NC90")
    village = station.villages[0]
    user = make_user(role="operator", station=station, name="站长老李")
    category = make_category(name="禽蛋", slug="qin-dan")
    category.name_en = "Eggs and poultry"  # English data is not shown on a zh page (the list says 已填写)
    commit()
    data = {
        station.name,
        station.address,
        village.name,
        village.township.name,
        user.name,
        "禽蛋",
        village.signature_product,
    }
    admin_client.get(f"/lang/{lang}")
    pages = {
        path: admin_client.get(path)
        for path in (
            "/admin/",
            "/admin/users",
            "/admin/users?role=operator",
            f"/admin/users/{user.id}",
            "/admin/categories",
            f"/admin/categories/{category.id}",
            "/admin/villages",
            f"/admin/villages/{village.id}",
            "/admin/stations",
            f"/admin/stations/{station.id}",
            "/admin/villages/new",
            "/admin/stations/new",
        )
    }
    pages["confirm role"] = admin_client.post(
        f"/admin/users/{user.id}/role", data={"role": "host"}, follow_redirects=True
    )
    pages["confirm deactivate"] = admin_client.post(
        f"/admin/users/{user.id}/active", data={"active": "0"}, follow_redirects=True
    )
    pages["bad category"] = admin_client.post("/admin/categories", data={"name": "", "food_class": "farm"})
    pages["bad new station"] = admin_client.post("/admin/stations/new", data={"code": "NC90", "name": "x"})
    pages["bad station"] = admin_client.post(f"/admin/stations/{station.id}", data={"code": "NC90", "name": "x"})
    problems = {}
    for name, response in pages.items():
        assert response.status_code in (200, 422), name
        nodes = page_text_nodes(response.get_data(as_text=True))
        bad = english_ui_on_zh(nodes) if lang == "zh_CN" else chinese_ui_on_en(nodes, data)
        if bad:
            problems[name] = bad
    assert problems == {}


def test_the_lists_of_villages_and_stations_are_named_in_the_plural_in_english(admin_client, db):
    """The admin's menu, overview and list pages name the list of villages and of stations: Villages and
    Service stations (they said Village (18), Service station (18)); one village's page is still singular."""
    make_station(code="NC91")
    commit()
    admin_client.get("/lang/en")
    overview = admin_client.get("/admin/").get_data(as_text=True)
    assert '<p class="label">Villages</p>' in overview and '<p class="label">Service stations</p>' in overview
    assert "<h1>Villages <small>(1)</small></h1>" in admin_client.get("/admin/villages").get_data(as_text=True)
    page = admin_client.get("/admin/stations").get_data(as_text=True)
    assert "<h1>Service stations <small>(1)</small></h1>" in page and ">Villages</a>" in page
