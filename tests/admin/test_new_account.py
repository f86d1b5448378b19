"""新建账号: the admin creates an account on the web (/admin/users/new) without ever choosing or seeing its
password; the owner is mailed a single-use link to set it (admin.services.users.invite_user,
shop.auth.password.send_setup_link)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from shop.audit import AuditEntry
from shop.auth.models import User
from shop.auth.password import make_reset_token, make_setup_token, user_for_setup_token
from shop.db import commit
from shop.extensions import db as _db
from shop.once import new_form_token
from tests.factories import make_user
from tests.sent_mail import mails_to

LINK = re.compile(r"https?://\S+/password/setup/(\S+)")


def _all_mails(caplog) -> list:
    return [r for r in caplog.records if r.name == "shop.mail" and r.msg.startswith("mail to")]


def _form(**fields) -> dict:
    return {"email": "new.op@test.cn", "name": "李站长", "role": "consumer", "form_token": new_form_token(), **fields}


def _user(email: str) -> User | None:
    _db.session.expire_all()
    return _db.session.scalar(sa.select(User).where(User.email == email))


def _count_users() -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0


def _token(body: str) -> str:
    match = LINK.search(body)
    assert match, body
    return match.group(1)


@pytest.mark.parametrize("lang,words", [("zh_CN", "新建账号"), ("en", "New account")])
def test_the_form_renders_in_both_languages_and_the_list_links_to_it(admin_client, db, station, lang, words):
    admin_client.get(f"/lang/{lang}")
    assert 'href="/admin/users/new"' in admin_client.get("/admin/users").get_data(as_text=True)
    html = admin_client.get("/admin/users/new").get_data(as_text=True)
    assert words in html and "NC77" in html
    assert 'type="password"' not in html  # the admin never chooses a password


def test_the_admin_creates_an_operator_who_sets_a_password_from_the_mail_and_signs_in(
    app, admin_client, admin_user, db, station, caplog
):
    data = _form(email="New.Op@Test.cn", role="operator", station=str(station.id))
    with caplog.at_level("INFO", logger="shop.mail"):
        response = admin_client.post("/admin/users/new", data=data)
        assert response.status_code == 302
        user = _user("new.op@test.cn")
        assert response.headers["Location"].endswith(f"/admin/users/{user.id}")
        assert "设置密码的链接已发到该邮箱" in admin_client.get(response.headers["Location"]).get_data(as_text=True)
        again = admin_client.post("/admin/users/new", data=data)  # a double tap creates nothing more
    assert again.status_code == 303 and again.headers["Location"].endswith("/admin/users")
    assert (user.role, user.station_id, user.name, user.is_active_account) == ("operator", station.id, "李站长", True)
    entry = _db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.subject_type == "users", AuditEntry.subject_id == user.id)
    )
    assert (entry.action, entry.actor_id) == ("user.create", admin_user.id)
    assert entry.detail == {"role": "operator", "station_id": station.id, "invited": True, "locale": "zh_CN"}
    assert user.locale == "zh_CN" and not user.has_own_password  # until the owner sets one from the link

    # one mail, in Chinese (the form's default language), with the link; no password anywhere
    [(subject, body)] = mails_to(caplog, "new.op@test.cn")
    assert subject == "乡村e线：请设置您的账号密码" and "3 天内" in body
    token = _token(body)
    assert user_for_setup_token(token) == user
    assert not user.has_own_password

    # the link sets a password; then the owner signs in with it
    owner = app.test_client()
    page = owner.get(f"/password/setup/{token}")
    assert page.status_code == 200 and "new.op@test.cn" in page.get_data(as_text=True)
    short = owner.post(f"/password/setup/{token}", data={"password": "short", "confirm": "short"})
    assert short.status_code == 422  # refused: the link still works
    form = {"password": "my-own-pass-1", "confirm": "my-own-pass-1"}
    response = owner.post(f"/password/setup/{token}", data=form)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    signed_in = owner.post("/login", data={"email": "new.op@test.cn", "password": "my-own-pass-1"})
    assert signed_in.status_code == 302
    assert owner.get("/station/").status_code == 200  # the operator's workspace

    # single use: once a password is set the link is dead
    for method in (owner.get, owner.post):
        response = method(f"/password/setup/{token}", data={"password": "other-pass-12", "confirm": "other-pass-12"})
        assert response.status_code == 302 and "/password/forgot" in response.headers["Location"]
    assert (
        app.test_client().post("/login", data={"email": "new.op@test.cn", "password": "other-pass-12"}).status_code
        != 302
    )


def test_the_setup_link_expires_and_is_not_a_reset_link(app, db):
    user = make_user(email="late@test.cn")
    commit()
    token = make_setup_token(user)
    assert user_for_setup_token(token) == user
    assert user_for_setup_token(token, max_age=-1) is None
    assert user_for_setup_token(token + "x") is None
    # a reset link is not a set-up link, nor the other way round
    assert user_for_setup_token(make_reset_token(user)) is None
    client = app.test_client()
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 302 and "/password/forgot" in response.headers["Location"]
    # ACCOUNT_SETUP_DAYS sets how long the link lives (-1: every link is already too old, without waiting)
    app.config["ACCOUNT_SETUP_DAYS"] = -1
    try:
        assert user_for_setup_token(token) is None
        response = client.get(f"/password/setup/{token}")
        assert response.status_code == 302 and "/password/forgot" in response.headers["Location"]
    finally:
        app.config["ACCOUNT_SETUP_DAYS"] = 3


def test_a_deactivated_accounts_link_does_not_work(app, admin_client, db, caplog):
    with caplog.at_level("INFO", logger="shop.mail"):
        assert admin_client.post("/admin/users/new", data=_form(email="gone@test.cn")).status_code == 302
    user = _user("gone@test.cn")
    token = _token(mails_to(caplog, "gone@test.cn")[0][1])
    admin_client.post(f"/admin/users/{user.id}/active", data={"active": "0", "confirm": "1"})
    response = app.test_client().get(f"/password/setup/{token}")
    assert response.status_code == 302 and "/password/forgot" in response.headers["Location"]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_mail_is_chinese_by_default_whatever_the_admins_page_language(admin_client, db, caplog, lang):
    """A form that names no language (the form's default is 简体中文): the account is Chinese and so is the
    mail, whatever the admin's page language; ACCOUNT_SETUP_DAYS appears in it."""
    admin_client.get(f"/lang/{lang}")
    with caplog.at_level("INFO", logger="shop.mail"):
        admin_client.post("/admin/users/new", data=_form(email="zh@test.cn"))
    [(subject, body)] = mails_to(caplog, "zh@test.cn")
    assert subject == "乡村e线：请设置您的账号密码" and "忘记密码" in body


@pytest.mark.parametrize("page_lang", ["zh_CN", "en"])
@pytest.mark.parametrize(
    "locale,subject,words",
    [
        ("zh_CN", "乡村e线：请设置您的账号密码", "3 天内"),
        ("en", "Village e-Line: set your account password", "within 3 days"),
    ],
)
def test_the_admin_chooses_the_accounts_language_and_the_mail_is_written_in_it(
    admin_client, db, caplog, page_lang, locale, subject, words
):
    """简体中文 (the default) or English on the form: stored as the account's `locale`, the set-up mail in it,
    whatever the admin's own page language."""
    admin_client.get(f"/lang/{page_lang}")
    html = admin_client.get("/admin/users/new").get_data(as_text=True)
    assert re.search(r'<option selected value="zh_CN">(简体中文|Chinese \(Simplified\))</option>', html), html
    assert '<option value="en">English</option>' in html
    with caplog.at_level("INFO", logger="shop.mail"):
        assert admin_client.post("/admin/users/new", data=_form(email="lang@test.cn", locale=locale)).status_code == 302
    assert _user("lang@test.cn").locale == locale
    [(sent_subject, body)] = mails_to(caplog, "lang@test.cn")
    assert sent_subject == subject and words in body
    assert bool(re.search(r"[\u4e00-\u9fff]", sent_subject + body)) == (locale == "zh_CN")
    page = admin_client.get(f"/admin/users/{_user('lang@test.cn').id}").get_data(as_text=True)
    shown = {
        ("zh_CN", "zh_CN"): "简体中文",
        ("zh_CN", "en"): "Chinese (Simplified)",
        ("en", "zh_CN"): "English",
        ("en", "en"): "English",
    }
    assert shown[(locale, page_lang)] in page


def test_an_english_account_gets_the_mail_in_english(app, db, caplog):
    from flask_babel import force_locale

    from shop.auth.password import send_setup_link

    user = make_user(email="en@test.cn")
    user.locale = "en"
    with app.test_request_context("/"), force_locale("zh_CN"), caplog.at_level("INFO", logger="shop.mail"):
        send_setup_link(user)
        commit()
    [(subject, body)] = mails_to(caplog, "en@test.cn")
    assert subject == "Village e-Line: set your account password"
    assert "within 3 days" in body and not re.search(r"[\u4e00-\u9fff]", subject + body)


@pytest.mark.parametrize("variant", ["same", "upper", "fullwidth"])
def test_a_taken_email_in_any_case_is_a_form_error_not_a_500(admin_client, db, caplog, variant):
    make_user(email="taken@test.cn")
    commit()
    email = {"same": "taken@test.cn", "upper": "TAKEN@Test.CN", "fullwidth": "ｔａｋｅｎ@test.cn"}[variant]
    before = _count_users()
    with caplog.at_level("INFO", logger="shop.mail"):
        response = admin_client.post("/admin/users/new", data=_form(email=email))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "该邮箱已注册" in html and 'role="alert"' in html
    assert _count_users() == before and _all_mails(caplog) == []


@pytest.mark.parametrize("lang,message", [("zh_CN", "站点操作员必须属于一个站点"), ("en", "operator")])
def test_an_operator_without_a_station_is_refused(admin_client, db, station, caplog, lang, message):
    admin_client.get(f"/lang/{lang}")
    before = _count_users()
    with caplog.at_level("INFO", logger="shop.mail"):
        response = admin_client.post("/admin/users/new", data=_form(role="operator", station="0"))
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert _count_users() == before and _all_mails(caplog) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"role": "host", "station": "STATION"},  # a station for another role: refused, never dropped
        {"role": "operator", "station": "999999"},  # no such station
        {"role": "superuser"},
        {"station": "x"},
        {"email": ""},
        {"email": "not-an-address"},
        {"email": "a" * 250 + "@test.cn"},
        {"name": "长" * 81},
        {"locale": "fr"},
        {"locale": ""},
        {"form_token": "bad"},
    ],
)
def test_bad_input_changes_nothing_and_sends_nothing(admin_client, db, station, caplog, fields):
    fields = {k: (str(station.id) if v == "STATION" else v) for k, v in fields.items()}
    before = _count_users()
    audits = _db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    with caplog.at_level("INFO", logger="shop.mail"):
        response = admin_client.post("/admin/users/new", data=_form(**fields))
    assert response.status_code == 422
    assert _count_users() == before and _all_mails(caplog) == []
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == audits


def test_a_station_for_another_role_says_why_under_the_field(admin_client, db, station):
    response = admin_client.post("/admin/users/new", data=_form(role="host", station=str(station.id)))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "只有站点操作员属于站点" in html


@pytest.mark.parametrize("role", ["consumer", "operator", "host", "county"])
def test_other_roles_get_a_403_and_create_nothing(app, db, station, caplog, role):
    user = make_user(role=role, station=station if role == "operator" else None, email=f"{role}@test.cn")
    commit()
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": "password123"})
    before = _count_users()
    assert client.get("/admin/users/new").status_code == 403
    with caplog.at_level("INFO", logger="shop.mail"):
        assert client.post("/admin/users/new", data=_form()).status_code == 403
    assert _count_users() == before and _all_mails(caplog) == []


def test_the_form_is_csrf_protected(admin_client, db, csrf_on, caplog):
    with caplog.at_level("INFO", logger="shop.mail"):
        assert admin_client.post("/admin/users/new", data=_form()).status_code == 400
    assert _user("new.op@test.cn") is None and _all_mails(caplog) == []
    html = admin_client.get("/admin/users/new").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    once = re.search(r'name="form_token"[^>]*value="([^"]+)"', html).group(1)
    response = admin_client.post("/admin/users/new", data=_form(csrf_token=csrf, form_token=once))
    assert response.status_code == 302 and _user("new.op@test.cn") is not None
