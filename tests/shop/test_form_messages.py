"""Every message a person reads goes through the shop's catalogue (#19.7): WTForms' and Flask-WTF's
built-in messages (shop.forms.ShopForm), CSRF and rate-limit refusals (shop.errors.http_message) and a
booking's refused fields — never WTForms' own Chinese with a field's name in it, never English on a
zh page, never Chinese on an en page."""

from __future__ import annotations

import re

import pytest
from flask_wtf import FlaskForm

from shop import create_app
from shop.forms import BUILTIN_MESSAGES, ShopForm
from shop.once import new_form_token
from tests.conftest import TEST_CONFIG

CJK = re.compile(r"[\u4e00-\u9fff\uff1a]")
ENGLISH_WORDS = re.compile(r"[A-Za-z]{2,}(?: [A-Za-z]{2,})+")


def _errors(html: str) -> list[str]:
    return re.findall(r'<p class="error" role="alert">([^<]*)</p>', html)


def test_registration_errors_in_chinese_and_english(app, db):
    bad = {"email": "not-an-address", "password": "short", "confirm": "other"}
    zh = app.test_client().post("/register", data=bad).get_data(as_text=True)
    en = app.test_client().post("/register?lang=en", data=bad).get_data(as_text=True)
    assert "请填写有效的邮箱地址" in _errors(zh) and "长度须为 8 到 200 个字符" in _errors(zh)
    assert "两次输入不一致" in _errors(zh)
    for raw in ("字段必须和", "password", "无效的 Email", "字段长度必须介于", "Invalid email", "Field must"):
        assert raw not in " ".join(_errors(zh)), raw
    en_errors = _errors(en)
    assert en_errors and not any(CJK.search(e) for e in en_errors), en_errors
    assert "A valid e-mail address is required" in en_errors and "The two entries do not match" in en_errors


def test_a_missing_field_is_named_in_the_readers_language(app, db):
    zh = app.test_client().post("/login", data={}).get_data(as_text=True)
    en = app.test_client().post("/login?lang=en", data={}).get_data(as_text=True)
    assert _errors(zh) and set(_errors(zh)) == {"请填写此项"}
    assert set(_errors(en)) == {"This field is required"}


def _every_form_class():
    seen, todo = [], list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return [
        c for c in seen if c.__module__.split(".")[0] in ("shop", "orders", "tourism", "stations", "county", "catalog")
    ]


def test_every_form_of_the_shop_is_a_shop_form(app):
    forms = _every_form_class()
    assert len(forms) > 10
    assert [f.__qualname__ for f in forms if not issubclass(f, ShopForm)] == []


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_forms_builtin_messages_speak_the_language(app, lang):
    """Each form filled with rubbish, then empty: every error is in the language asked for."""
    from flask_babel import force_locale
    from werkzeug.datastructures import MultiDict

    problems = []
    for cls in _every_form_class():
        for data in ({}, None):
            with app.test_request_context("/", method="POST"), force_locale(lang):
                fields = [name for name in cls.__dict__ if not name.startswith("_")]
                formdata = MultiDict({name: "x" * 300 for name in fields}) if data is None else MultiDict()
                form = cls(formdata=formdata, meta={"csrf": False})
                for field in form:
                    if getattr(field, "choices", ()) is None:
                        field.choices = []
                form.validate()
                for field_errors in form.errors.values():
                    for message in field_errors:
                        text = str(message)
                        wrong = ENGLISH_WORDS.search(text) if lang == "zh_CN" else CJK.search(text)
                        if wrong:
                            problems.append((cls.__qualname__, text))
    assert problems == []


def test_every_builtin_message_has_an_english_translation(app):
    from flask_babel import force_locale

    with app.test_request_context("/"), force_locale("en"):
        untranslated = [k for k, v in BUILTIN_MESSAGES.items() if CJK.search(str(v))]
    assert untranslated == []


def test_a_bad_csrf_token_says_so_in_the_readers_language(db):
    app = create_app({**TEST_CONFIG, "WTF_CSRF_ENABLED": True})
    zh = app.test_client().post("/login", data={"email": "a@b.cn", "password": "x", "csrf_token": "forged"})
    en = app.test_client().post("/login?lang=en", data={"email": "a@b.cn", "password": "x", "csrf_token": "x"})
    assert zh.status_code == en.status_code == 400
    assert "页面已过期，请刷新后重试" in zh.get_data(as_text=True) and "CSRF" not in zh.get_data(as_text=True)
    assert "This page has expired" in en.get_data(as_text=True) and "CSRF" not in en.get_data(as_text=True)


def test_the_rate_limit_is_explained_not_quoted(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMITS", True)
    from shop.security import limiter

    limiter.reset()
    client = app.test_client()
    answers = [client.post("/login", data={"email": "nobody@test.cn", "password": "wrong-password"}) for _ in range(11)]
    assert answers[-1].status_code == 429
    html = answers[-1].get_data(as_text=True)
    assert "操作太频繁，请稍后再试" in html and "per 1 minute" not in html and "10 per" not in html
    api = app.test_client()
    limiter.reset()
    bodies = [
        api.post("/api/v1/auth/token?lang=en", json={"email": "nobody@test.cn", "password": "x"}) for _ in range(11)
    ]
    assert bodies[-1].status_code == 429
    assert bodies[-1].json["error"]["message"] == "Too many attempts, please try again later"
    limiter.reset()


def test_the_rate_limit_page_says_too_many_attempts_not_a_bad_request(app, monkeypatch):
    """The 429 page's line under its number read 请求有误。 (any 4xx's words), with 操作太频繁 below it: it
    now says what happened, once, in the reader's language."""
    monkeypatch.setitem(app.config, "RATE_LIMITS", True)
    from shop.security import limiter

    for lang, says in (("zh", "操作太频繁，请稍后再试"), ("en", "Too many attempts, please try again later")):
        limiter.reset()
        client = app.test_client()
        form = {"email": "nobody@test.cn", "password": "wrong-password"}
        answers = [client.post(f"/login?lang={lang}", data=form) for _ in range(11)]
        assert answers[-1].status_code == 429
        html = answers[-1].get_data(as_text=True)
        assert "请求有误" not in html and "Bad request" not in html, lang
        assert html.count(says) == 1, lang
    limiter.reset()


def test_a_refused_booking_names_no_machine_code(client, db, auth):
    from datetime import timedelta

    from shop.timeutil import local_date, now_utc
    from tests.factories import make_user
    from tests.tourism.factories import make_listing

    listing = make_listing(pay_on_arrival=True)
    auth.login(make_user())
    day = lambda n: (local_date(now_utc()) + timedelta(days=n)).isoformat()  # noqa: E731
    html = client.post(
        f"/listings/{listing.id}/book",
        data={
            "form_token": new_form_token(),
            "checkin": day(7),
            "checkout": day(5),
            "guests": 2,
            "units": 1,
            "unit_type_id": listing.unit_types[0].id,
            "payment_method": "arrival",
        },
    ).get_data(as_text=True)
    assert "离店日期必须晚于入住日期" in html and "not after check-in" not in html
