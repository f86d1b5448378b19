"""重新发送设置密码链接: the admin sends the owner of an account it created, who has not set a password yet, a
new set-up link (admin.services.users.resend_setup_link): confirmed first, audited, in the account's
language, every earlier link dead, one mail for a double tap; refused for a deactivated account and for an
account whose owner has set a password."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from admin.services import users
from shop.audit import AuditEntry
from shop.auth.models import User
from shop.auth.password import user_for_setup_token
from shop.db import commit
from shop.errors import Conflict
from shop.extensions import db as _db
from shop.timeutil import now_utc
from tests.factories import make_user
from tests.sent_mail import mails_to

LINK = re.compile(r"https?://\S+/password/setup/(\S+)")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _all_mails(caplog) -> list:
    return [r for r in caplog.records if r.name == "shop.mail" and r.msg.startswith("mail to")]


def _invited(app, admin_user, *, email="owner@test.cn", locale="zh_CN", ago=timedelta(hours=1)) -> User:
    """An account the admin created `ago` (the pause after its first link is over), its mail sent."""
    with app.test_request_context("/"):
        user = users.invite_user(
            users.NewAccount(email=email, name="王二", locale=locale), actor=admin_user, now=now_utc() - ago
        )
        commit()
    return user


def _fresh(user_id: int) -> User:
    _db.session.expire_all()
    return _db.session.get(User, user_id)


def _audits(user_id: int) -> list[tuple[str, int | None]]:
    return [
        (e.action, e.actor_id)
        for e in _db.session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.subject_type == "users", AuditEntry.subject_id == user_id)
            .order_by(AuditEntry.id)
        )
    ]


def _token(body: str) -> str:
    match = LINK.search(body)
    assert match, body
    return match.group(1)


def _send(client, user, **extra):
    return client.post(f"/admin/users/{user.id}/setup-link", data={"confirm": "1", **extra})


@pytest.mark.parametrize("lang,words", [("zh_CN", "重新发送设置密码链接"), ("en", "Send the set-up link again")])
def test_the_account_page_offers_it_while_the_owner_has_no_password(app, admin_client, admin_user, db, lang, words):
    pending = _invited(app, admin_user)
    own = make_user(email="own@test.cn")
    commit()
    admin_client.get(f"/lang/{lang}")
    html = admin_client.get(f"/admin/users/{pending.id}").get_data(as_text=True)
    assert words in html and f'action="/admin/users/{pending.id}/setup-link"' in html
    html = admin_client.get(f"/admin/users/{own.id}").get_data(as_text=True)
    assert "/setup-link" not in html
    assert ("Set by the account holder" if lang == "en" else "已由本人设置") in html


@pytest.mark.parametrize(
    "locale,subject", [("zh_CN", "乡村e线：请设置您的账号密码"), ("en", "Village e-Line: set your account password")]
)
def test_it_asks_first_then_mails_a_new_link_in_the_accounts_language_and_the_old_one_dies(
    app, admin_client, admin_user, db, caplog, locale, subject
):
    with caplog.at_level("INFO", logger="shop.mail"):
        user = _invited(app, admin_user, locale=locale)
        [(_subject, first_body)] = mails_to(caplog, "owner@test.cn")
        old = _token(first_body)
        assert user_for_setup_token(old) == user

        asked = admin_client.post(
            f"/admin/users/{user.id}/setup-link", follow_redirects=True
        )  # unconfirmed: nothing sent
        assert asked.status_code == 200 and "owner@test.cn" in asked.get_data(as_text=True)
        assert len(mails_to(caplog, "owner@test.cn")) == 1 and _audits(user.id) == [("user.create", admin_user.id)]

        response = _send(admin_client, user)
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/users/{user.id}")
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "设置密码的链接已重新发到 owner@test.cn" in page
    assert _audits(user.id) == [("user.create", admin_user.id), ("user.setup_link", admin_user.id)]
    assert "重新发送设置密码链接" in page.split("变更记录")[1]  # the history names it

    # one new mail, to the account's address, in its language (whatever the admin's page language)
    assert [r.args[0] for r in _all_mails(caplog)] == ["owner@test.cn", "owner@test.cn"]
    [_first, (sent_subject, body)] = mails_to(caplog, "owner@test.cn")
    assert sent_subject == subject
    assert bool(CJK.search(sent_subject + body)) == (locale == "zh_CN")
    new = _token(body)
    assert new != old
    assert user_for_setup_token(old) is None  # the earlier link stopped working
    assert user_for_setup_token(new) == _fresh(user.id)

    # the new link sets the password; then the account has its own and nothing more is sent
    owner = app.test_client()
    done = owner.post(f"/password/setup/{new}", data={"password": "own-pass-123", "confirm": "own-pass-123"})
    assert done.status_code == 302 and _fresh(user.id).has_own_password
    assert owner.post("/login", data={"email": "owner@test.cn", "password": "own-pass-123"}).status_code == 302
    with caplog.at_level("INFO", logger="shop.mail"):
        refused = _send(admin_client, user)
    assert refused.status_code == 302 and len(mails_to(caplog, "owner@test.cn")) == 2
    assert "/setup-link" not in admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)


def test_a_double_tap_sends_one_mail_and_says_why_the_second_sent_nothing(app, admin_client, admin_user, db, caplog):
    user = _invited(app, admin_user)
    with caplog.at_level("INFO", logger="shop.mail"):
        assert _send(admin_client, user).status_code == 302
        again = _send(admin_client, user)
    assert again.status_code == 302
    assert "刚刚发出：5 分钟内不再重发" in admin_client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(mails_to(caplog, "owner@test.cn")) == 1
    assert [a for a, _actor in _audits(user.id)] == ["user.create", "user.setup_link"]


def test_a_link_sent_with_the_account_minutes_ago_waits_too(app, admin_client, admin_user, db, caplog):
    user = _invited(app, admin_user, ago=timedelta(minutes=2))
    admin_client.get("/lang/en")
    with caplog.at_level("INFO", logger="shop.mail"):
        response = _send(admin_client, user)
    assert "not sent again within 5 minutes" in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert _all_mails(caplog) == [] and [a for a, _actor in _audits(user.id)] == ["user.create"]


@pytest.mark.parametrize(
    "lang,said", [("zh_CN", "该账号已停用：请先启用账号"), ("en", "This account is deactivated: reactivate it")]
)
def test_a_deactivated_account_is_refused_clearly(app, admin_client, admin_user, db, caplog, lang, said):
    user = _invited(app, admin_user)
    assert admin_client.post(f"/admin/users/{user.id}/active", data={"active": "0", "confirm": "1"}).status_code == 302
    admin_client.get(f"/lang/{lang}")
    page = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "/setup-link" not in page  # the page says to reactivate first
    with caplog.at_level("INFO", logger="shop.mail"):
        for data in ({}, {"confirm": "1"}):  # refused at once, before any confirmation step
            response = admin_client.post(f"/admin/users/{user.id}/setup-link", data=data)
            assert response.status_code == 302
            assert said in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert _all_mails(caplog) == []
    assert [a for a, _actor in _audits(user.id)] == ["user.create", "user.deactivate"]


def test_an_account_whose_owner_set_a_password_is_refused(admin_client, db, caplog):
    user = make_user(email="own@test.cn")
    commit()
    with caplog.at_level("INFO", logger="shop.mail"):
        response = _send(admin_client, user)
    assert "忘记密码" in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert _all_mails(caplog) == [] and _audits(user.id) == []
    assert admin_client.post("/admin/users/999999/setup-link", data={"confirm": "1"}).status_code == 404


def test_the_service_refuses_as_the_page_does(app, db, admin_user):
    user = _invited(app, admin_user)
    now = now_utc()
    users.check_setup_link(user, now=now)  # allowed
    user.is_active_account = False
    _db.session.flush()  # the service reads the row again under its lock
    with pytest.raises(Conflict) as refused:
        users.resend_setup_link(user, actor=admin_user, now=now)
    assert refused.value.code == "setup_link_inactive"
    own = make_user()
    with pytest.raises(Conflict) as refused:
        users.check_setup_link(own, now=now)
    assert refused.value.code == "password_already_set"


@pytest.mark.parametrize("role", ["consumer", "operator", "host", "county"])
def test_other_roles_get_a_403_and_nothing_is_sent(app, admin_user, db, station, caplog, role):
    user = _invited(app, admin_user)
    other = make_user(role=role, station=station if role == "operator" else None, email=f"{role}@test.cn")
    commit()
    client = app.test_client()
    client.post("/login", data={"email": other.email, "password": "password123"})
    with caplog.at_level("INFO", logger="shop.mail"):
        assert _send(client, user).status_code == 403
        anonymous = _send(app.test_client(), user)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert _all_mails(caplog) == [] and [a for a, _actor in _audits(user.id)] == ["user.create"]


def test_it_is_csrf_protected(app, admin_client, admin_user, db, csrf_on, caplog):
    user = _invited(app, admin_user)
    with caplog.at_level("INFO", logger="shop.mail"):
        assert _send(admin_client, user).status_code == 400
        html = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        assert _send(admin_client, user, csrf_token=csrf).status_code == 302
    assert len(mails_to(caplog, "owner@test.cn")) == 1
