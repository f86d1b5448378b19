"""The API answers in the caller's language (docs/api.md "Language"): `?lang=`, else the session's choice,
else the saved language of the account calling, a bearer token's holder included, else Chinese."""

from __future__ import annotations

import pytest

from shop.auth.models import User
from shop.extensions import db as _db
from tests.factories import make_user

#: Requests a token caller gets an error for: a code no order has (the view, after the token is checked),
#: an id past any row's (refused before the token is looked at), a path the API does not have (no view runs).
ERRORS = [
    ("/api/v1/orders/NOSUCHCODE", 404, "订单不存在", "Order not found"),
    ("/api/v1/products/99999999999999999999", 404, "您要找的内容不存在", "Not found"),
    ("/api/v1/no-such-endpoint", 404, "页面不存在。", "This page does not exist."),
]


def _token_user(locale: str | None) -> User:
    user = make_user()
    user.locale = locale
    _db.session.flush()
    return user


@pytest.mark.parametrize("path,status,chinese,english", ERRORS)
def test_a_token_caller_gets_errors_in_its_saved_language(client, db, api_token, path, status, chinese, english):
    english_headers = api_token(_token_user("en"))
    chinese_headers = api_token(_token_user("zh_CN"))
    unset_headers = api_token(_token_user(None))

    for headers, message in ((english_headers, english), (chinese_headers, chinese), (unset_headers, chinese)):
        response = client.get(path, headers=headers)
        assert response.status_code == status
        assert response.json["error"]["message"] == message


def test_lang_wins_over_the_token_callers_saved_language_and_does_not_change_it(client, db, api_token):
    user = _token_user("en")
    headers = api_token(user)

    response = client.get("/api/v1/orders/NOSUCHCODE?lang=zh_CN", headers=headers)

    assert response.json["error"]["message"] == "订单不存在"
    assert db.session.get(User, user.id).locale == "en"  # the mails' language is chosen on the pages


def test_a_bad_token_is_answered_in_chinese_not_in_anyones_language(client, db, api_token):
    api_token(_token_user("en"))
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"
    assert response.json["error"]["message"] == "令牌无效或已过期"


def test_a_token_caller_with_another_accounts_session_gets_the_token_holders_language(client, db, api_token, auth):
    """The API's caller is the token's holder (`shop.api`), so its language is theirs, not that of an account
    signed in on the pages of the same browser."""
    signed_in = _token_user("zh_CN")
    headers = api_token(_token_user("en"))
    assert auth.login(signed_in).status_code in (302, 303)

    response = client.get("/api/v1/orders/NOSUCHCODE", headers=headers)

    assert response.json["error"]["message"] == "Order not found"
