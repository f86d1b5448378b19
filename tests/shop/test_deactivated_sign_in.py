"""A deactivated account is told so when it proves who it is (the right password), on the sign-in page and
the API's token; a wrong password says what it says to anyone; a session open when the account was
deactivated lands on the sign-in page saying why."""

from __future__ import annotations

import pytest

from shop.db import commit
from tests.factories import make_user

DEACTIVATED = "账号已停用，请联系管理员"
WRONG = "邮箱或密码不正确"


@pytest.fixture
def gone(db):
    user = make_user(email="gone@test.cn")
    commit()
    return user


def _deactivate(app, user) -> None:
    admin = make_user(role="admin")
    commit()
    client = app.test_client()
    client.post("/login", data={"email": admin.email, "password": "password123"})
    response = client.post(f"/admin/users/{user.id}/active", data={"active": "0", "confirm": "1"})
    assert response.status_code == 302


def test_the_right_password_of_a_deactivated_account_is_told_it_was_deactivated(app, client, gone):
    _deactivate(app, gone)
    right = client.post("/login", data={"email": gone.email, "password": "password123"})
    html = right.get_data(as_text=True)
    assert right.status_code == 422 and DEACTIVATED in html and WRONG not in html
    wrong = client.post("/login", data={"email": gone.email, "password": "not-the-password"})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and WRONG in html and DEACTIVATED not in html
    english = client.post("/login?lang=en", data={"email": gone.email, "password": "password123"})
    assert "This account has been deactivated; please contact the administrator" in english.get_data(as_text=True)
    assert client.get("/orders").status_code == 302  # not signed in


def test_the_api_token_of_a_deactivated_account(app, client, gone):
    _deactivate(app, gone)
    right = client.post("/api/v1/auth/token", json={"email": gone.email, "password": "password123"})
    assert right.status_code == 403
    assert right.json["error"]["code"] == "account_deactivated" and right.json["error"]["message"] == DEACTIVATED
    wrong = client.post("/api/v1/auth/token", json={"email": gone.email, "password": "nope-nope"})
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "invalid_credentials"


def test_an_open_session_of_a_deactivated_account_is_told_why(app, gone):
    client = app.test_client()
    client.post("/login", data={"email": gone.email, "password": "password123"})
    assert client.get("/orders").status_code == 200
    _deactivate(app, gone)
    landed = client.get("/orders", follow_redirects=True)
    html = landed.get_data(as_text=True)
    assert landed.request.path == "/login" and DEACTIVATED in html and "该页面需要登录" not in html
    other = app.test_client().get("/orders", follow_redirects=True).get_data(as_text=True)
    assert "该页面需要登录" in other and DEACTIVATED not in other
