"""The header shows each role its own desks, and a cart link to everyone."""

from __future__ import annotations

import pytest

from tests.factories import make_station, make_user

LINKS = {"/station/": "站点工作台", "/host/": "接待管理", "/county/": "扶贫办", "/orders": "我的订单"}
SEES = {
    "consumer": {"/orders"},
    "operator": {"/station/", "/orders"},
    "host": {"/host/", "/orders"},
    "county": {"/county/", "/orders"},
    "admin": {"/station/", "/county/", "/orders"},  # host pages are for hosts (docs/auth.md)
}


def _header(html: str) -> str:
    return html.split("</header>", 1)[0]


def _expected_links(app, hrefs):
    endpoints = {
        "/station/": "stations.index",
        "/host/": "tourism.host_home",
        "/county/": "county.dashboard",
        "/orders": "orders.order_list",
    }
    return {h for h in hrefs if endpoints[h] in app.view_functions}


@pytest.mark.parametrize("role", sorted(SEES))
def test_header_links_follow_the_role(app, client, auth, db, role):
    user = make_user(role=role, station=make_station() if role == "operator" else None)
    auth.login(user)
    header = _header(client.get("/").get_data(as_text=True))
    for href in _expected_links(app, LINKS):
        shown = f'href="{href}"' in header
        assert shown == (href in SEES[role]), (role, href)


def test_anonymous_header_has_login_register_language_and_cart(app, client, db):
    header = _header(client.get("/").get_data(as_text=True))
    assert 'href="/login' in header and 'href="/register' in header and "English" in header
    for href in _expected_links(app, LINKS):
        assert f'href="{href}"' not in header
    if "orders.cart_page" in app.view_functions:
        assert 'href="/cart"' in header


def test_has_endpoint_global_reflects_the_url_map(app):
    with app.test_request_context("/"):
        has_endpoint = app.jinja_env.globals["has_endpoint"]
        assert has_endpoint("home.index") and not has_endpoint("nope.nothing")


def test_role_links_follow_each_request_language_and_role(app, client, auth, db):
    """The role links are rendered once per role and language and kept (shop.filters.role_links): each
    request still gets its own role's links in its own language."""
    consumer = make_user(role="consumer")
    auth.login(consumer)
    for lang, label, other in (
        ("en", "My orders", "我的订单"),
        ("zh_CN", "我的订单", "My orders"),
        ("en", "My orders", "我的订单"),
    ):
        header = _header(client.get(f"/?lang={lang}").get_data(as_text=True))
        assert label in header and other not in header, lang
        assert 'href="/county/' not in header
    auth.logout()
    auth.login(make_user(role="county"))
    header = _header(client.get("/?lang=en").get_data(as_text=True))
    assert "My orders" in header and 'href="/county/' in header
