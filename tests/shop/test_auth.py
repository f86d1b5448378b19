"""Register, log in, log out: hashed passwords, CSRF on every form, safe `next` redirects."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from shop import create_app
from shop.auth.models import User
from shop.auth.password import make_reset_token
from shop.db import commit
from tests.conftest import TEST_CONFIG
from tests.factories import make_product, make_station, make_user


def _user(db, email):
    return db.session.scalar(sa.select(User).where(User.email == email))


def test_register_creates_a_consumer_with_a_hashed_password_and_logs_in(client, db):
    response = client.post(
        "/register", data={"name": "小李", "email": "New@Test.cn", "password": "s3cret-pass", "confirm": "s3cret-pass"}
    )
    assert response.status_code == 302
    user = _user(db, "new@test.cn")
    assert user is not None and user.role == "consumer"
    assert "s3cret-pass" not in user.password_hash and user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert "小李" in client.get("/").get_data(as_text=True)  # logged in: the header names the user


def test_passwords_are_hashed_with_the_configured_method_scrypt_unless_set(app, db, now, monkeypatch):
    """Production hashes with scrypt N=2**13, r=8, p=10 (Config); the suite's TEST_CONFIG sets a cheap method. Both paths:
    the stored hash names the method, the right password passes, a wrong one and an unknown account fail
    (the unknown account is checked against a dummy hash of the same method)."""
    from config import Config
    from shop.auth.services import Registration, authenticate, register_user

    assert Config.PASSWORD_HASH_METHOD == "scrypt:8192:8:10"
    for method in (TEST_CONFIG["PASSWORD_HASH_METHOD"], Config.PASSWORD_HASH_METHOD):
        monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", method)
        email = f"{method.partition(':')[0]}@test.cn"
        user = register_user(Registration(email=email, password="s3cret-pass"), now=now)
        assert user.password_hash.startswith(method) and "s3cret-pass" not in user.password_hash
        assert authenticate(email, "s3cret-pass") is user
        assert authenticate(email, "wrong-pass1") is None and authenticate("nobody@test.cn", "s3cret-pass") is None


def test_a_password_hashed_by_an_older_method_is_hashed_again_at_the_next_login(client, auth, app, db, monkeypatch):
    """Changing PASSWORD_HASH_METHOD keeps every account working: the old hash still checks, and the
    first successful login (form or API token) stores a hash of the current method; a wrong password
    changes nothing."""
    user = make_user(email="old@test.cn")
    old_hash = user.password_hash
    assert old_hash.startswith("pbkdf2:sha256:1000$")
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:2000")
    assert auth.login(user, password="wrong-pass1").status_code == 422
    db.session.expire_all()
    assert _user(db, "old@test.cn").password_hash == old_hash
    assert auth.login(user).status_code == 302
    db.session.expire_all()
    new_hash = _user(db, "old@test.cn").password_hash
    assert new_hash.startswith("pbkdf2:sha256:2000$") and new_hash != old_hash
    auth.logout()
    assert auth.login(user).status_code == 302  # the new hash checks
    db.session.expire_all()
    assert _user(db, "old@test.cn").password_hash == new_hash  # and is kept: same method now


def test_register_refuses_a_taken_email_and_short_password(client, db):
    make_user(email="taken@test.cn")
    response = client.post(
        "/register", data={"email": "taken@test.cn", "password": "longenough1", "confirm": "longenough1"}
    )
    assert response.status_code == 422
    response = client.post("/register", data={"email": "fresh@test.cn", "password": "short", "confirm": "short"})
    assert response.status_code == 422 and _user(db, "fresh@test.cn") is None


def test_register_refuses_mismatched_confirmation(client, db):
    response = client.post("/register", data={"email": "m@test.cn", "password": "longenough1", "confirm": "other12345"})
    assert response.status_code == 422 and _user(db, "m@test.cn") is None


def test_login_with_the_right_password_then_logout(client, auth, db):
    user = make_user(name="王测试")
    response = auth.login(user)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "王测试" in client.get("/").get_data(as_text=True)
    assert auth.logout().status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert "王测试" not in html and "登录" in html


def test_login_with_a_wrong_password_is_refused_with_a_message(client, auth, db):
    user = make_user()
    response = auth.login(user, password="wrong-password")
    assert response.status_code == 422
    assert "邮箱或密码不正确" in response.get_data(as_text=True)


def test_login_for_an_unknown_email_gives_the_same_answer(client, auth, db):
    response = auth.login("nobody@test.cn", password="whatever123")
    assert response.status_code == 422 and "邮箱或密码不正确" in response.get_data(as_text=True)


def test_logout_needs_post(client, auth, db):
    auth.login(make_user())
    assert client.get("/logout").status_code == 405


@pytest.mark.parametrize("target", ["/products", "/products?page=2", "/villages/x"])
def test_login_follows_a_local_next(client, db, target):
    user = make_user()
    response = client.post(f"/login?next={target}", data={"email": user.email, "password": "password123"})
    assert response.status_code == 302 and response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "http://evil.com",
        "https://evil.com/x",
        "/\\evil.com",
        "\\\\evil.com",
        "javascript:alert(1)",
        "evil.com",
        "///evil.com",
        "http:/evil.com",
        " //evil.com",
    ],
)
def test_login_refuses_an_offsite_next(client, db, target):
    from urllib.parse import quote

    user = make_user()
    response = client.post(
        f"/login?next={quote(target, safe='')}", data={"email": user.email, "password": "password123"}
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/" and "evil" not in location


def test_register_refuses_an_offsite_next(client, db):
    response = client.post(
        "/register?next=//evil.com", data={"email": "n@test.cn", "password": "longenough1", "confirm": "longenough1"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_session_is_rotated_at_login_but_keeps_the_language(client, db):
    user = make_user()
    client.get("/lang/en")
    with client.session_transaction() as s:
        s["planted"] = "by-attacker"
    client.post("/login", data={"email": user.email, "password": "password123"})
    with client.session_transaction() as s:
        assert "planted" not in s and s.get("lang") == "en"


# --- CSRF: a second app with CSRF on (the test config switches it off for convenience) -----------


def _restore_celery(app) -> None:
    """create_app() makes its own Celery the current and default one; give the tasks back to the test app."""
    celery = app.extensions["celery"]
    celery.set_current()
    celery.set_default()


@pytest.fixture
def csrf_client(app):
    strict = create_app({**TEST_CONFIG, "WTF_CSRF_ENABLED": True, "TESTING": True})
    _restore_celery(app)  # a new app makes its Celery current; tasks must keep running in the test app
    try:
        with strict.app_context():
            yield strict.test_client()
            from shop.extensions import db as _db

            _db.session.remove()
            _db.engine.dispose()
    finally:
        _restore_celery(app)


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no csrf_token field in the form"
    return match.group(1)


@pytest.mark.parametrize(
    "path,data",
    [
        ("/login", {"email": "a@test.cn", "password": "whatever123"}),
        ("/register", {"email": "b@test.cn", "password": "longenough1", "confirm": "longenough1"}),
        ("/logout", {}),
    ],
)
def test_post_without_csrf_token_is_refused(csrf_client, path, data):
    response = csrf_client.post(path, data=data)
    assert response.status_code == 400
    assert "请求有误" in response.get_data(as_text=True) or "CSRF" in response.get_data(as_text=True)


def test_post_with_a_forged_csrf_token_is_refused(csrf_client):
    csrf_client.get("/login")
    response = csrf_client.post("/login", data={"email": "a@test.cn", "password": "x", "csrf_token": "forged"})
    assert response.status_code == 400


def test_forms_carry_a_csrf_token_that_is_accepted(csrf_client):
    for path in ("/login", "/register"):
        html = csrf_client.get(path).get_data(as_text=True)
        token = _token(html)
        response = csrf_client.post(
            "/login", data={"email": "nobody@test.cn", "password": "nope12345", "csrf_token": token}
        )
        assert response.status_code == 422  # past the CSRF check, refused on the credentials


def test_the_logout_form_in_the_header_carries_a_csrf_token(client, auth, db):
    auth.login(make_user())
    html = client.get("/").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/logout".*?</form>', html, re.S)
    assert form and 'name="csrf_token"' in form.group(0)


@pytest.mark.parametrize(
    ("role", "endpoint"),
    [
        ("consumer", "home.index"),
        ("operator", "stations.index"),
        ("host", "tourism.host_home"),
        ("county", "county.dashboard"),
        ("admin", "admin.index"),
    ],
)
def test_login_without_next_lands_each_role_on_its_workspace(app, client, db, role, endpoint):
    from flask import url_for

    user = make_user(role=role, station=make_station() if role == "operator" else None)
    response = client.post("/login", data={"email": user.email, "password": "password123"})
    with app.test_request_context():
        expected = url_for(endpoint)
    assert response.status_code == 302 and response.headers["Location"] == expected
    assert client.get(expected).status_code == 200  # the workspace opens for that role


def test_login_with_an_offsite_next_lands_an_operator_on_the_station(client, db):
    user = make_user(role="operator", station=make_station())
    response = client.post("/login?next=//evil.com", data={"email": user.email, "password": "password123"})
    assert response.status_code == 302 and response.headers["Location"] == "/station/"


@pytest.mark.parametrize("path", ["/orders", "/favourites"])
def test_a_page_that_needs_an_account_says_so_on_the_sign_in_page(client, db, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "该页面需要登录，登录后将自动打开。" in page
    # the plain sign-in page gives no reason, and the checkout's keeps its own
    assert "该页面需要登录" not in client.get("/login").get_data(as_text=True)
    checkout = client.get("/login?next=/checkout").get_data(as_text=True)
    assert "购物车里的商品和预订都会保留" in checkout and "该页面需要登录" not in checkout
    english = client.get(response.headers["Location"] + "&lang=en").get_data(as_text=True)
    assert "This page needs an account: it opens once you have signed in." in english
    # the sign-up link under the form (the last on the page, after the header's) keeps the reason
    assert "need=account" in page.rsplit("/register?", 1)[1].split('"', 1)[0]


def test_the_headers_sign_in_on_a_public_page_does_not_say_the_page_needs_an_account(client, db):
    """登录 / 注册 in the header carry the page they were tapped on as next: a product page needs no account."""
    product = make_product()
    commit()
    page = client.get(f"/products/{product.id}-{product.slug}").get_data(as_text=True)
    login = page.split('href="/login?', 1)[1].split('"', 1)[0]
    for path in (f"/login?{login}", f"/register?{login}"):
        sign_in_page = client.get(path.replace("&amp;", "&")).get_data(as_text=True)
        assert "登录" in sign_in_page and "该页面需要登录" not in sign_in_page


def _password_hint(html: str, field_id: str) -> str:
    """The hint of the field `field_id`, asserting the field points at it with aria-describedby."""
    field = re.search(rf'<input[^>]*\bid="{field_id}"[^>]*>', html)
    assert field and f'aria-describedby="{field_id}-hint"' in field.group(0), field_id
    hint = re.search(rf'<p class="hint" id="{field_id}-hint">([^<]*)</p>', html)
    assert hint, field_id
    return hint.group(1)


def test_new_password_fields_say_the_rule_up_front(client, auth, db):
    assert _password_hint(client.get("/register").get_data(as_text=True), "password") == "至少 8 个字符"
    user = make_user()
    commit()
    reset = client.get(f"/password/reset/{make_reset_token(user)}").get_data(as_text=True)
    assert _password_hint(reset, "password") == "至少 8 个字符"
    auth.login(user)
    change = client.get("/password/change").get_data(as_text=True)
    assert _password_hint(change, "password") == "至少 8 个字符"
    assert 'id="current-hint"' not in change  # the current password has no rule to state
    english = client.get("/password/change?lang=en").get_data(as_text=True)
    assert _password_hint(english, "password") == "At least 8 characters"


def test_choosing_a_language_on_a_page_opened_with_lang_in_its_address_keeps_the_choice(client):
    """A page opened as /stays?lang=zh_CN&page=1: 'English' came back to that address, whose lang=zh_CN put
    the page back in Chinese. The switch returns to the page without its lang, the rest of its query kept."""
    client.get("/stays?lang=zh_CN")
    r = client.get("/lang/en", query_string={"next": "/stays?lang=zh_CN&page=1"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/stays?page=1"), r.headers["Location"]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert '<html lang="en">' in page
