"""A page one may not open (403) or that is none (404) gives a way back that fits who follows the link:
返回上一页 to the page of this site it came from (never to another site), the signed-in user's own work
area — the station desk, the host desk, the county office, 系统管理, an organisation's page, 我的 — and
for a visitor not signed in 登录; 返回首页 always."""

from __future__ import annotations

from html import escape

import pytest

from shop.db import commit
from tests.factories import make_station, make_user
from tests.institutions.factories import make_organisation


def _ways_back(html: str) -> str:
    return html.split('<p class="ways-back">', 1)[1].split("</p>", 1)[0]


#: role -> (a page it may not open, its own work area, that link's words in Chinese and English)
FORBIDDEN = {
    "operator": ("/county/", "/station/", "站点工作台", "Station desk"),
    "host": ("/station/", "/host/", "接待管理", "My listings"),
    "county": ("/host/", "/county/", "扶贫办", None),
    "admin": ("/host/", "/admin/", "系统管理", None),
    "consumer": ("/station/", "/account", "我的", "My account"),
}


@pytest.mark.parametrize("role", sorted(FORBIDDEN))
def test_a_403_leads_each_role_back_to_where_it_works_and_to_the_page_it_came_from(client, auth, db, role):
    user = make_user(role=role, station=make_station() if role == "operator" else None)
    commit()
    auth.login(user)
    forbidden, desk, words, _english = FORBIDDEN[role]
    r = client.get(forbidden, headers={"Referer": "http://localhost/orders?tab=to_pay"})
    assert r.status_code == 403, role
    ways = _ways_back(r.get_data(as_text=True))
    assert f'<a class="btn" href="{escape("/orders?tab=to_pay")}">返回上一页</a>' in ways, role
    assert f'<a class="btn work-area" href="{desk}">{words}</a>' in ways, role
    assert 'href="/">返回首页</a>' in ways and "登录" not in ways, role


def test_a_referer_of_another_site_is_never_linked(client, auth, db):
    operator = make_user(role="operator", station=make_station())
    commit()
    auth.login(operator)
    for referer in ("https://evil.example/station/", "//evil.example/station/", "javascript:alert(1)"):
        r = client.get("/county/", headers={"Referer": referer})
        page = r.get_data(as_text=True)
        assert r.status_code == 403 and "evil.example" not in page and "javascript:" not in page, referer
        ways = _ways_back(page)
        assert "返回上一页" not in ways and "data-history-back" not in ways, referer
        assert 'href="/station/">站点工作台</a>' in ways, referer


def test_an_organisations_member_is_led_back_to_the_organisation(client, auth, db):
    buyer, manager = make_user(), make_user()
    school = make_organisation(name="南昌县第一中学", members={"buyer": buyer, "approver:manager": manager})
    make_organisation(name="县总工会", kind="union", members={"approver": manager})
    commit()
    auth.login(buyer)
    ways = _ways_back(client.get("/station/").get_data(as_text=True))
    assert f'<a class="btn work-area" href="/organisations/{school.id}">南昌县第一中学</a>' in ways
    auth.logout()
    auth.login(manager)  # a member of two: 单位采购, the list of them
    ways = _ways_back(client.get("/station/").get_data(as_text=True))
    assert '<a class="btn work-area" href="/organisations">单位采购</a>' in ways


def test_a_404_has_the_same_ways_back_and_a_visitor_not_signed_in_gets_login(client, auth, db):
    r = client.get("/no-such-page", headers={"Referer": "http://localhost/products"})
    ways = _ways_back(r.get_data(as_text=True))
    assert r.status_code == 404
    assert '<a class="btn" href="/products">返回上一页</a>' in ways
    assert 'href="/login">登录</a>' in ways and 'href="/">返回首页</a>' in ways
    host = make_user(role="host")
    commit()
    auth.login(host)
    r = client.get("/no-such-page?lang=en", headers={"Referer": "http://localhost/host/"})
    ways = _ways_back(r.get_data(as_text=True))
    assert r.status_code == 404
    assert '<a class="btn" href="/host/">Back to the previous page</a>' in ways
    assert '<a class="btn work-area" href="/host/">My listings</a>' in ways and "Sign in" not in ways


@pytest.mark.parametrize("role", ["operator", "host", "consumer"])
def test_the_ways_back_are_in_english_on_an_english_page(client, auth, db, role):
    user = make_user(role=role, station=make_station() if role == "operator" else None)
    commit()
    auth.login(user)
    forbidden, desk, _words, english = FORBIDDEN[role]
    ways = _ways_back(client.get(f"{forbidden}?lang=en").get_data(as_text=True))
    assert f'<a class="btn work-area" href="{desk}">{english}</a>' in ways
    assert "Back to the home page" in ways and "返回" not in ways
