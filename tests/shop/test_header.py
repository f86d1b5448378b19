"""shop.header: a signed-in visitor's header rendered once per (user, locale), filled per request,
is exactly what the template renders for that request."""
from __future__ import annotations

import pytest
from flask import render_template, session
from flask_login import login_user

from shop import header
from tests.factories import make_station, make_user

PATHS = ["/", "/products?page=3", "/search?q=%3Cb%3E%22%26amp%3B%27", "/products?a=1&b=2&a=3",
         "/search?q=%E8%85%8C%E8%8F%9C", "/villages/liu-xi?sort=price_asc&in_stock=1", "/cart"]


@pytest.fixture(autouse=True)
def _fresh_fragments():
    header.clear()
    yield
    header.clear()


def _both(app, user, path, lang=None):
    with app.test_request_context(path):
        if lang:
            session["lang"] = lang
        login_user(user)
        cached = str(header.site_header())
        plain = render_template(header.TEMPLATE)
        return cached, plain


@pytest.mark.parametrize("role", ["consumer", "operator", "admin", "county", "host"])
@pytest.mark.parametrize("lang", [None, "en"])
def test_fragment_is_the_template_for_every_path(app, db, role, lang):
    station = make_station() if role == "operator" else None
    user = make_user(role=role, email=f"{role}@example.com", name=f"名{role}", station=station)
    for path in PATHS + PATHS:  # the second round is served from the fragments stored by the first
        cached, plain = _both(app, user, path, lang)
        assert cached == plain, path
    assert len(header._fragments) == 1, "one fragment per user and locale"


def test_each_user_gets_their_own_fragment(app, db):
    alice = make_user(email="alice@example.com", name="爱丽丝")
    bob = make_user(email="bob@example.com", name="鲍勃", role="admin")
    a, _ = _both(app, alice, "/products")
    b, _ = _both(app, bob, "/products")
    assert "爱丽丝" in a and "鲍勃" not in a
    assert "鲍勃" in b and "爱丽丝" not in b
    bob.name = "鲍勃二"  # a changed name is a new key: never the old fragment
    b2, plain = _both(app, bob, "/products")
    assert b2 == plain and "鲍勃二" in b2


def test_placeholders_never_leak_and_the_token_is_this_requests(app, db):
    user = make_user()
    first, _ = _both(app, user, "/products?page=2")
    second, _ = _both(app, user, "/search?q=x")
    for text in (first, second):
        for placeholder in (header.Q_PLACEHOLDER, header.NEXT_PLACEHOLDER, header.CSRF_PLACEHOLDER):
            assert placeholder not in text
    assert 'value="x"' in second and "next=/search?q%3Dx" in second


def test_anonymous_header_is_not_cached(app, db):
    with app.test_request_context("/products"):
        text = str(header.site_header())
    assert "/login" in text and header._fragments == {}
