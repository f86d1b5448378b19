"""The session user on PostgreSQL with real commits (`committed_db`): loaded through the ORM afresh
for every request, so logout, a password change or a deactivation in another process counts at once
for every copy of the session cookie.

These need real commits: the `db` fixture shares one connection whose data other connections
cannot see."""

from __future__ import annotations

import sqlalchemy as sa

from shop.db import commit
from tests.concurrency.race import Loaded, at_once
from tests.conftest import AuthActions, requires_postgres
from tests.factories import make_user

pytestmark = requires_postgres


def _login(app, user):
    client = app.test_client()
    assert AuthActions(client).login(user).status_code in (302, 303)
    client.get("/")  # shows the welcome message
    return client


def test_password_change_ends_other_sessions_and_keeps_this_one(app, committed_db, monkeypatch):
    user = make_user(email="change@example.com")
    commit()
    this, other = _login(app, user), _login(app, user)
    response = this.post(
        "/password/change", data={"current": "password123", "password": "new-password-1", "confirm": "new-password-1"}
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    committed_db.session.remove()  # each request below starts afresh, as in production
    assert "退出" in this.get("/").get_data(as_text=True), "this session carries the new generation"
    committed_db.session.remove()
    assert other.get("/orders").status_code in (302, 401), "the other session ended at once"
    committed_db.session.remove()
    stored = committed_db.session.scalar(sa.select(type(user)).where(type(user).email == "change@example.com"))
    assert stored.auth_version == 2 and stored.session_generation == 2


def test_deactivated_account_is_logged_out_on_its_next_request(app, committed_db):
    user = make_user(email="gone@example.com")
    commit()
    client = _login(app, user)
    assert client.get("/orders").status_code == 200
    with committed_db.engine.begin() as conn:  # another process deactivates the account
        conn.execute(sa.text("UPDATE users SET is_active_account = false WHERE email = 'gone@example.com'"))
    committed_db.session.remove()  # a new request (the fixture's app context outlives requests)
    assert client.get("/orders").status_code in (302, 401)


def test_an_api_token_gives_its_user_only_while_unexpired_unchanged_and_active(app, committed_db):
    from datetime import timedelta

    from shop.auth import services
    from shop.auth.models import ApiToken
    from shop.timeutil import now_utc

    user = make_user(email="token@example.com", name="令牌")
    commit()
    token = services.issue_token(user, now=now_utc())
    commit()
    user_id = user.id
    committed_db.session.remove()
    found = services.user_for_token(token)
    assert found.id == user_id and found.name == "令牌"
    assert services.user_for_token(token + "x") is None
    assert services.user_for_token(token, now=now_utc() + timedelta(days=365)) is None  # expired
    committed_db.session.remove()
    with committed_db.engine.begin() as conn:  # a password change elsewhere
        conn.execute(
            sa.update(type(user)).where(type(user).id == user_id).values(auth_version=type(user).auth_version + 1)
        )
    assert services.user_for_token(token) is None
    committed_db.session.remove()
    with committed_db.engine.begin() as conn:  # a fresh token, then the account deactivated
        conn.execute(
            sa.update(ApiToken)
            .where(ApiToken.user_id == user_id)
            .values(auth_version=sa.select(type(user).auth_version).where(type(user).id == user_id).scalar_subquery())
        )
    assert services.user_for_token(token) is not None
    committed_db.session.remove()
    with committed_db.engine.begin() as conn:
        conn.execute(sa.update(type(user)).where(type(user).id == user_id).values(is_active_account=False))
    assert services.user_for_token(token) is None


def test_a_cookie_copied_before_logout_opens_nothing_after_it(app, committed_db):
    user = make_user(email="copied@example.com")
    commit()
    client = _login(app, user)
    copied = client.get_cookie("session").value
    committed_db.session.remove()
    assert client.post("/logout").status_code == 302
    committed_db.session.remove()
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/orders").status_code == 302  # to the login page
    committed_db.session.remove()
    assert thief.get("/password/change").status_code == 302


def test_concurrent_registrations_of_one_address_make_one_account_and_409s(app, committed_db):
    from shop.auth.models import User

    n = 8

    def register(i):
        # the plain and the full-width spelling are one address
        email = "race@example.com" if i % 2 else "ｒａｃｅ@example.com"
        return Loaded(
            app.test_client,
            lambda client: (
                client.post("/api/v1/auth/register", json={"email": email, "password": "password123"}).status_code
            ),
        )

    race = at_once(app, [register(i) for i in range(n)], refused=(), context="client")
    assert race.errors == []
    statuses = race.values
    assert sorted(statuses) == [201] + [409] * (n - 1), statuses
    committed_db.session.remove()
    assert committed_db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
