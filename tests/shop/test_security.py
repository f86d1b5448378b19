"""Security headers, rate limits on login and token, password change and reset."""

import logging
import re

from shop.auth.password import make_reset_token
from shop.db import commit
from tests.factories import PASSWORD, make_user


def test_pages_send_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert re.search(r"script-src 'self' 'nonce-[\w-]+'", csp)
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_api_errors_send_security_headers_too(client):
    response = client.get("/api/v1/products/999999")
    assert response.status_code == 404
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_stripe_origin_is_allowed_only_when_card_payments_are_configured(client, app):
    assert "stripe" not in client.get("/").headers["Content-Security-Policy"]
    app.config.update(STRIPE_PUBLISHABLE_KEY="pk_test_x", STRIPE_JS_URL="https://js.stripe.com/v3/")
    try:
        csp = client.get("/").headers["Content-Security-Policy"]
    finally:
        app.config.update(STRIPE_PUBLISHABLE_KEY="")
    assert "https://js.stripe.com" in csp.split("script-src")[1].split(";")[0]


def test_session_cookie_is_httponly_and_samesite(client, db):
    user = make_user()
    commit()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_login_is_rate_limited_with_a_clear_message(app, monkeypatch):
    # no `db` fixture: nothing is written; the shared app has limits off, turn them on here
    monkeypatch.setitem(app.config, "RATE_LIMITS", True)
    from shop.security import limiter

    limiter.reset()
    client = app.test_client()
    statuses = [
        client.post("/login", data={"email": "nobody@test.cn", "password": "wrong-password"}).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    api = app.test_client()
    limiter.reset()
    api_statuses = [
        api.post("/api/v1/auth/token", json={"email": "nobody@test.cn", "password": "x"}).status_code for _ in range(11)
    ]
    assert api_statuses[-1] == 429
    body = api.post("/api/v1/auth/token", json={"email": "nobody@test.cn", "password": "x"}).json
    assert body["error"]["code"] == "too_many_requests"


def test_the_password_reset_and_register_forms_are_rate_limited_too(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMITS", True)
    from shop.security import limiter

    limiter.reset()
    client = app.test_client()
    statuses = [client.post("/password/forgot", data={"email": "nobody@test.cn"}).status_code for _ in range(11)]
    assert statuses[-1] == 429
    limiter.reset()
    statuses = [client.post("/register", data={"email": "x"}).status_code for _ in range(11)]
    assert statuses[-1] == 429


def test_password_change_logs_out_every_other_session_and_token(app, db, api_token):
    user = make_user()
    commit()
    other_device = app.test_client()
    other_device.post("/login", data={"email": user.email, "password": PASSWORD})
    headers = api_token(user)
    this_device = app.test_client()
    this_device.post("/login", data={"email": user.email, "password": PASSWORD})
    response = this_device.post(
        "/password/change",
        data={"current": PASSWORD, "password": "new-password-1", "confirm": "new-password-1"},
    )
    assert response.status_code == 302
    assert this_device.get("/password/change").status_code == 200  # still logged in here
    assert other_device.get("/password/change").status_code == 302  # sent to login
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401


def test_password_change_refuses_a_wrong_current_password(app, db):
    user = make_user()
    commit()
    c = app.test_client()
    c.post("/login", data={"email": user.email, "password": PASSWORD})
    response = c.post(
        "/password/change", data={"current": "nope-nope", "password": "new-password-1", "confirm": "new-password-1"}
    )
    assert response.status_code == 422
    assert c.post("/logout").status_code == 302
    assert c.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


def test_password_change_to_the_current_password_is_refused_and_ends_no_session(app, db, api_token):
    """The same password again changed nothing yet logged out every other device and token, and said
    nothing: now it is refused under 新密码, in the reader's language, and everything stays signed in."""
    user = make_user()
    commit()
    headers = api_token(user)
    other_device = app.test_client()
    other_device.post("/login", data={"email": user.email, "password": PASSWORD})
    c = app.test_client()
    c.post("/login", data={"email": user.email, "password": PASSWORD})
    same = {"current": PASSWORD, "password": PASSWORD, "confirm": PASSWORD}
    response = c.post("/password/change", data=same)
    assert response.status_code == 422
    assert "新密码不能与当前密码相同" in response.get_data(as_text=True)
    assert other_device.get("/password/change").status_code == 200  # still signed in there
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 200
    wrong = c.post("/password/change", data={**same, "current": "nope-nope"}).get_data(as_text=True)
    assert "当前密码不正确" in wrong and "新密码不能与当前密码相同" not in wrong
    english = c.post("/password/change?lang=en", data=same).get_data(as_text=True)
    assert "The new password must differ from the current one" in english


def test_password_reset_link_works_once(app, db, client):
    user = make_user()
    commit()
    token = make_reset_token(user)
    form = {"password": "reset-password-1", "confirm": "reset-password-1"}
    assert client.post(f"/password/reset/{token}", data=form).status_code == 302
    assert client.post("/login", data={"email": user.email, "password": "reset-password-1"}).status_code == 302
    client.post("/logout")
    # the same link again: refused, password unchanged
    response = client.post(f"/password/reset/{token}", data={"password": "third-pass-1", "confirm": "third-pass-1"})
    assert response.status_code == 302 and "/password/forgot" in response.headers["Location"]
    assert client.post("/login", data={"email": user.email, "password": "third-pass-1"}).status_code == 422


def test_password_reset_link_expires(app, db):
    from shop.auth.password import user_for_reset_token

    user = make_user()
    commit()
    token = make_reset_token(user)
    assert user_for_reset_token(token) == user
    assert user_for_reset_token(token, max_age=-1) is None
    assert user_for_reset_token(token + "x") is None


def test_forgot_password_answers_the_same_for_unknown_addresses(client, db, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    user = make_user()
    commit()
    known = client.post("/password/forgot", data={"email": user.email})
    unknown = client.post("/password/forgot", data={"email": "nobody@test.cn"})
    assert known.status_code == unknown.status_code == 302
    assert "/password/reset/" in caplog.text  # the mail (logged on the default) carries the link


def test_a_nul_character_in_a_form_or_path_is_a_400_and_changes_nothing(client, db):
    """PostgreSQL cannot store NUL: a form carrying one is refused up front, never a 500 (found by the
    API fuzzer in JSON bodies; HTML forms take the same guard)."""
    import sqlalchemy as sa

    from shop.auth.models import User

    r = client.post(
        "/register",
        data={"name": "张\x00三", "email": "nul@example.cn", "password": "password123", "password2": "password123"},
    )
    assert r.status_code == 400
    assert db.session.scalar(sa.select(User).where(User.email == "nul@example.cn")) is None
    assert client.get("/products/1-%00").status_code in (400, 404)
    assert client.get("/categories/%00").status_code == 400
    # the same form without the NUL is not refused by the guard
    r = client.post(
        "/register",
        data={"name": "张三", "email": "nul@example.cn", "password": "password123", "password2": "password123"},
    )
    assert r.status_code in (200, 302, 422)  # a form answer, not the guard
