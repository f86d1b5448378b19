"""The session cookie and CSRF token serializers that remember what they verified and signed
(shop.sessions): the same bytes as itsdangerous and flask_wtf, the same checks (a tampered cookie
is refused, an expired one expires even after it was verified), and no request can change what the
next one reads."""
from __future__ import annotations

import time

import pytest
from flask import g, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from shop import sessions
from shop.sessions import CookieSessionInterface, MemoSerializer

NOW = 1_800_000_000


@pytest.fixture
def frozen(monkeypatch):
    clock = {"now": float(NOW)}
    monkeypatch.setattr(time, "time", lambda: clock["now"])
    return clock


def _pair(**kwargs):
    return (URLSafeTimedSerializer("k", salt="s", **kwargs), MemoSerializer("k", salt="s", **kwargs))


@pytest.mark.parametrize("obj", [
    {"csrf_token": "a" * 40},
    {"_user_id": "6:1", "_fresh": False, "_id": "f" * 128, "csrf_token": "b" * 40},  # compresses
    {"_flashes": [("message", "已加入购物车")], "lang": "en"},
    "0123456789abcdef0123456789abcdef01234567",
])
def test_dumps_gives_what_itsdangerous_gives_again_within_the_second(frozen, obj):
    plain, memo = _pair()
    first = memo.dumps(obj)
    assert first == plain.dumps(obj)
    assert memo.dumps(obj) == first
    frozen["now"] += 1
    assert memo.dumps(obj) == plain.dumps(obj) != first  # the next second signs anew


def test_dumps_gives_what_itsdangerous_gives_with_flasks_session_serializer(app, frozen):
    from flask.sessions import SecureCookieSessionInterface

    data = {"_user_id": "6:1", "_flashes": [("message", "x")], "csrf_token": "c" * 40}
    with app.test_request_context("/"):
        plain = SecureCookieSessionInterface().get_signing_serializer(app)
        memo = CookieSessionInterface().get_signing_serializer(app)
        assert isinstance(memo, MemoSerializer)
        assert memo.dumps(data) == plain.dumps(data)
        assert memo.loads(plain.dumps(data)) == data


def test_loads_refuses_a_tampered_value_after_verifying_the_original(frozen):
    plain, memo = _pair()
    good = plain.dumps({"_user_id": "6:1"})
    assert memo.loads(good) == {"_user_id": "6:1"}
    forged = plain.dumps({"_user_id": "1:1"}).rsplit(".", 1)[0] + "." + good.rsplit(".", 1)[1]
    with pytest.raises(BadSignature):
        memo.loads(forged)
    with pytest.raises(BadSignature):
        MemoSerializer("other key", salt="s").loads(good)


def test_a_verified_value_still_expires(frozen):
    plain, memo = _pair()
    value = plain.dumps({"_user_id": "6:1"})
    assert memo.loads(value, max_age=60) == {"_user_id": "6:1"}
    frozen["now"] += 60
    assert memo.loads(value, max_age=60) == {"_user_id": "6:1"}
    frozen["now"] += 1
    with pytest.raises(SignatureExpired):
        memo.loads(value, max_age=60)
    frozen["now"] = NOW - 5  # a clock set back: itsdangerous calls a signature from the future expired
    with pytest.raises(SignatureExpired):
        memo.loads(value, max_age=60)


def test_each_load_is_a_copy(frozen):
    plain, memo = _pair()
    value = plain.dumps({"_flashes": [["message", "hi"]], "n": 1})
    first = memo.loads(value)
    first["_flashes"].pop()
    first["n"] = 2
    assert memo.loads(value) == {"_flashes": [["message", "hi"]], "n": 1}


def test_the_memos_are_bounded(frozen, monkeypatch):
    monkeypatch.setattr(sessions, "MEMO_ENTRIES", 3)
    plain, memo = _pair()
    for i in range(10):
        assert memo.loads(plain.dumps({"i": i})) == {"i": i}
        memo.dumps({"j": i})
    assert len(memo._verified) <= 3 and len(memo._signed) <= 3


def test_a_rotated_secret_key_gets_its_own_serializer_and_fallbacks_still_verify(app, monkeypatch):
    iface = CookieSessionInterface()
    with app.test_request_context("/"):
        old = iface.get_signing_serializer(app)
        assert iface.get_signing_serializer(app) is old
        value = old.dumps({"_user_id": "6:1"})
        monkeypatch.setattr(app, "secret_key", "a new key")
        monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", ["test-secret"])
        new = iface.get_signing_serializer(app)
        assert new is not old
        assert new.loads(value) == {"_user_id": "6:1"}
        monkeypatch.setitem(app.config, "SECRET_KEY_FALLBACKS", [])
        with pytest.raises(BadSignature):
            iface.get_signing_serializer(app).loads(value)


def test_the_app_uses_it_and_a_changed_session_reaches_the_next_request(app, client):
    assert isinstance(app.session_interface, CookieSessionInterface)
    client.get("/lang/en?next=/")
    assert client.get("/").status_code == 200
    with client.session_transaction() as sess:
        assert sess["lang"] == "en"


def test_csrf_token_is_flask_wtfs_token_and_validates(app, frozen):
    from flask_wtf.csrf import generate_csrf, validate_csrf

    from shop.security import csrf_token

    with app.test_request_context("/"):
        token = csrf_token()
        assert session["csrf_token"] and g.csrf_token == token
        assert generate_csrf() == token  # the request's one token
        validate_csrf(token)
        raw = session["csrf_token"]
    with app.test_request_context("/"):
        session["csrf_token"] = raw
        expected = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)
        assert csrf_token() == expected
    with app.test_request_context("/"):
        session["csrf_token"] = raw
        assert csrf_token() == expected  # the same second: remembered, the same bytes
        validate_csrf(expected)


def test_a_remembered_signature_is_never_one_of_an_equal_looking_value(frozen):
    plain, memo = _pair()
    for obj in ({"a": True}, {"a": 1}, {"a": "1"}, {"a": None}, {"a": 1, "b": "x"}, {"b": "x", "a": 1}):
        assert memo.dumps(obj) == plain.dumps(obj), obj
