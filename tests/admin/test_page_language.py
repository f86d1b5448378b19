"""Every page of the admin's workspace speaks one language (tests/page_language.py's rules), the
confirmation steps and refused forms included."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from shop.db import commit
from tests.factories import make_category, make_station, make_user
from tests.page_language import chinese_ui_on_en, english_ui_on_zh


class _Text(HTMLParser):
    """The visible text nodes of a page, with the attributes a reader sees (as tests/page_language.py)."""

    def __init__(self):
        super().__init__()
        self.nodes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style", "template")
        self.nodes += [v.strip() for k, v in attrs if k in ("placeholder", "title", "aria-label", "alt") and v]

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.nodes.append(" ".join(data.split()))


def nodes_of(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.nodes


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
        nodes = nodes_of(response.get_data(as_text=True))
        bad = english_ui_on_zh(nodes) if lang == "zh_CN" else chinese_ui_on_en(nodes, data)
        if bad:
            problems[name] = bad
    assert problems == {}


def chinese_ui_on_en(nodes, data):
    from tests.page_language import chinese_ui_on_en

    return chinese_ui_on_en(nodes, data)
