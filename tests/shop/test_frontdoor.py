"""The front door (shop.frontdoor) answers signed-in and returning anonymous visitors from the page
cache exactly as Flask would, reads the user afresh each time, and leaves every doubt to Flask."""
from __future__ import annotations

import re
import time

import pytest
from flask_login.utils import _create_identifier

from shop.db import commit
from shop.frontdoor import FrontDoor, login_identifier
from tests.conftest import AuthActions
from tests.factories import make_product, make_user

NOW = 1_800_000_000.0


@pytest.fixture
def door(monkeypatch):
    """Counts the answers the front door gives (the rest went to Flask)."""
    answered = []
    real = FrontDoor._respond

    def counting(self, *args):
        answered.append(1)
        return real(self, *args)

    monkeypatch.setattr(FrontDoor, "_respond", counting)
    return answered


@pytest.fixture
def frozen(monkeypatch):
    """One second for the whole test: CSRF tokens signed by the door and by Flask are then the same bytes."""
    monkeypatch.setattr(time, "time", lambda: NOW)


def _without_nonce(text: str) -> str:
    return re.sub(r"nonce-[^']+'|nonce=\"[^\"]+\"", "NONCE", text)


def _header(page: str) -> str:
    return page[page.index("<!--pc:header-->"):page.index("<!--/pc:header-->")]


def _signed_in_as(page: str, user) -> bool:
    header = _header(page)
    return "/logout" in header and (user.name or user.email) in header


def _flask_answer(client, url, monkeypatch):
    """The same request answered by Flask (the door stands aside)."""
    with monkeypatch.context() as m:
        m.setattr(FrontDoor, "_with_session", lambda *a: None)
        return client.get(url)


def _same_answer(door_response, flask_response):
    assert door_response.status_code == flask_response.status_code == 200
    assert _without_nonce(door_response.get_data(as_text=True)) == _without_nonce(flask_response.get_data(as_text=True))
    skip = {"Content-Security-Policy", "Date"}
    assert {k: v for k, v in door_response.headers.items() if k not in skip} == \
        {k: v for k, v in flask_response.headers.items() if k not in skip}
    assert _without_nonce(door_response.headers["Content-Security-Policy"]) == \
        _without_nonce(flask_response.headers["Content-Security-Policy"])


def _signed_in_on_a_cached_page(app, email=None):
    """A signed-in client, its user and a product page it has seen once (the cache and the header
    memo filled through Flask)."""
    product = make_product(stock=3)
    user = make_user(email=email) if email else make_user()
    commit()
    url = f"/products/{product.id}-{product.slug}"
    client = app.test_client()
    AuthActions(client).login(user)
    client.get(url)
    return client, user, url


@pytest.mark.parametrize("environ", [
    {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": "Mozilla/5.0 (iPhone)"},
    {"REMOTE_ADDR": "10.0.0.9"},
    {"REMOTE_ADDR": "10.0.0.9", "HTTP_X_FORWARDED_FOR": "203.0.113.7, 10.0.0.1", "HTTP_USER_AGENT": "UA é"},
    {"HTTP_USER_AGENT": "微信".encode().decode("latin-1")},
])
def test_the_login_identifier_is_flask_logins(app, environ):
    headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": environ.get("REMOTE_ADDR")}, headers=headers):
        from flask import request

        assert login_identifier(request.environ) == _create_identifier()


def test_a_signed_in_hit_is_flasks_answer_with_the_user_read_afresh(app, db, cache_on, door, frozen, monkeypatch):
    product = make_product(name="柴鸡蛋", stock=3)
    user = make_user(email="door@example.com")
    commit()
    url = f"/products/{product.id}-{product.slug}?q=%E9%B8%A1%E8%9B%8B"
    client = app.test_client()
    AuthActions(client).login(user)
    client.get(url)  # a miss: Flask renders, stores the entry and the header fragment
    door.clear()
    reads = []
    from shop.auth import services

    real = services.session_user_values
    monkeypatch.setattr(services, "session_user_values", lambda v: (reads.append(v), real(v))[1])
    answered = client.get(url)
    assert door == [1] and len(reads) == 1, "answered by the door, after reading the user"
    page = answered.get_data(as_text=True)
    assert _signed_in_as(page, user) and "柴鸡蛋" in page and 'value="鸡蛋"' in page
    assert "Set-Cookie" not in answered.headers
    _same_answer(answered, _flask_answer(client, url, monkeypatch))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page[page.index('class="add-to-cart"'):]).group(1)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    added = client.post("/cart/add", data={"csrf_token": token, "product_id": product.id, "quantity": 1})
    assert added.status_code == 303


def test_a_deactivated_user_or_a_changed_password_is_never_served_as_signed_in(app, db, cache_on, door):
    product = make_product(stock=3)
    alice, bob = make_user(email="alice@example.com"), make_user(email="bob@example.com")
    commit()
    url = f"/products/{product.id}-{product.slug}"
    a, b = app.test_client(), app.test_client()
    AuthActions(a).login(alice)
    AuthActions(b).login(bob)
    a.get(url)
    b.get(url)
    door.clear()
    assert _signed_in_as(a.get(url).get_data(as_text=True), alice) and door == [1]
    alice.is_active_account = False
    bob.session_generation += 1  # what a password change or a logout does
    commit()
    door.clear()
    for client in (a, b):
        header = _header(client.get(url).get_data(as_text=True))
        assert "/logout" not in header and "/login" in header
    assert door == []


def test_flashes_another_browser_or_a_language_choice_are_answered_right(app, db, cache_on, door, frozen,
                                                                        monkeypatch):
    client, _user, url = _signed_in_on_a_cached_page(app, "carol@example.com")
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "已加入购物车")]
    door.clear()
    assert "已加入购物车" in client.get(url).get_data(as_text=True) and door == []  # Flask shows and clears it
    assert client.get(url).status_code == 200 and door == [1]
    # the same cookie from another browser: Flask-Login marks the session not fresh (a new cookie)
    door.clear()
    other = client.get(url, headers={"User-Agent": "another browser"})
    assert door == [] and "Set-Cookie" in other.headers
    assert client.get(url, headers={"User-Agent": "another browser"}).status_code == 200 and door == [1]
    # English chosen: the English entry, the English header
    client.get(url + "?lang=en")
    client.get(url)  # the English entry and header: rendered once through Flask
    door.clear()
    english = client.get(url)
    assert door == [1] and 'lang="en"' in english.get_data(as_text=True)
    _same_answer(english, _flask_answer(client, url, monkeypatch))


def test_a_returning_anonymous_visitor_keeps_their_session_and_token(app, db, cache_on, door, frozen, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    product = make_product(name="富硒大米", stock=4)
    commit()
    url = f"/products/{product.id}-{product.slug}"
    app.test_client().get(url)  # fills the cache
    visitor = app.test_client()
    visitor.get(url)  # the first visit: the door, with a new session
    second = visitor.get(url)  # Flask-Login marks that session not fresh (it has no login identifier)
    assert "Set-Cookie" in second.headers
    door.clear()
    third = visitor.get(url)
    assert door == [1] and "Set-Cookie" not in third.headers
    _same_answer(third, _flask_answer(visitor, url, monkeypatch))
    page = third.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page[page.index('class="add-to-cart"'):]).group(1)
    added = visitor.post("/cart/add", data={"csrf_token": token, "product_id": product.id, "quantity": 1})
    assert added.status_code == 303


def test_tampered_expired_or_remembered_sessions_go_to_flask(app, db, cache_on, door):
    client, _user, url = _signed_in_on_a_cached_page(app)
    cookie = client.get_cookie("session").value
    door.clear()
    stranger = app.test_client()
    stranger.set_cookie("session", cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    page = stranger.get(url).get_data(as_text=True)
    assert door == [] and "/login" in page
    with client.session_transaction() as session:
        session["_remember"] = "set"
    client.get(url)
    assert door == []
    assert client.get("/products/%00").status_code == 400 and door == []


def test_session_user_values_checks_what_the_login_loader_checks(app, db):
    from shop.auth.services import load_session_user, session_user_values

    active, inactive = make_user(email="on@example.com"), make_user(email="off@example.com")
    inactive.is_active_account = False
    commit()
    cases = [f"{active.id}:{active.session_generation}", f"{active.id}:{active.session_generation + 1}",
             f"{inactive.id}:{inactive.session_generation}", "999999:1", "x:1", "1", "", None, 12]
    with app.test_request_context("/"):
        for value in cases:
            values = session_user_values(value)
            user = load_session_user(value) if isinstance(value, str) or value is None else None
            assert (values is None) == (user is None), value
            if user is not None:
                assert (values["id"], values["email"], values["name"], values["role"]) == \
                    (user.id, user.email, user.name, user.role)


def test_the_cart_is_answered_per_user_in_their_locale_and_never_stale(app, db, cache_on, door, frozen, monkeypatch):
    rice, eggs = make_product(name="富硒大米", stock=5), make_product(name="土鸡蛋", stock=5)
    user = make_user(email="cart@example.com")
    user.locale = "en"  # a user page reads the user's locale (a shared cached page does not)
    commit()
    client = app.test_client()
    AuthActions(client).login(user)
    assert client.post("/cart/add", data={"product_id": rice.id, "quantity": 1}).status_code == 303
    client.get("/cart")  # a miss: Flask renders and stores the user's entry
    door.clear()
    cart = client.get("/cart")
    assert door == [1] and "富硒大米" in cart.get_data(as_text=True) and 'lang="en"' in cart.get_data(as_text=True)
    _same_answer(cart, _flask_answer(client, "/cart", monkeypatch))
    assert client.post("/cart/add", data={"product_id": eggs.id, "quantity": 2}).status_code == 303
    page = client.get("/cart").get_data(as_text=True)
    assert "土鸡蛋" in page and "富硒大米" in page
    other = app.test_client()
    AuthActions(other).login(make_user(email="other@example.com"))
    commit()
    door.clear()
    assert "富硒大米" not in other.get("/cart").get_data(as_text=True)
    anonymous = app.test_client()
    anonymous.get("/cart")
    anonymous.get("/cart")
    assert "富硒大米" not in anonymous.get("/cart").get_data(as_text=True)


def test_a_search_page_is_answered_for_a_first_visit(app, db, cache_on, door, monkeypatch):
    make_product(name="三江腌菜", stock=5)
    commit()
    url = "/search?q=%E8%85%8C%E8%8F%9C"
    first = app.test_client().get(url)  # a miss: Flask renders and stores
    door.clear()
    again = app.test_client().get(url)
    assert door == [1] and again.status_code == 200
    assert _without_nonce(again.get_data(as_text=True)) == _without_nonce(first.get_data(as_text=True))


def test_sessions_go_to_flask_when_the_login_manager_can_sign_in_otherwise(app, db, cache_on, door, monkeypatch):
    """A request loader (or anything else the door does not know) could sign a visitor in: then
    every visitor with a session is left to Flask."""
    client, user, url = _signed_in_on_a_cached_page(app)
    client.get(url)
    assert door == [1]
    monkeypatch.setattr(app.login_manager, "_request_callback", lambda request: None)
    door.clear()
    fresh = FrontDoor(app, app.wsgi_app.wsgi_app)
    monkeypatch.setattr(app, "wsgi_app", fresh)
    assert _signed_in_as(client.get(url).get_data(as_text=True), user) and door == []


def test_a_language_chosen_as_the_default_one_is_answered_by_the_door(app, db, cache_on, door):
    """`lang=zh_CN` in the session: the door keys the page as the app's selector names it (babel's
    zh_Hans_CN), so it finds the entry Flask stored."""
    client, user, url = _signed_in_on_a_cached_page(app)
    client.get(url + "?lang=zh_CN")
    client.get(url)
    door.clear()
    assert _signed_in_as(client.get(url).get_data(as_text=True), user) and door == [1]
