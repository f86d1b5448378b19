"""The session user's load on PostgreSQL (shop.auth.services._get_user): one round trip on an
autocommit connection through the driver (no SQLAlchemy transaction at all for a request that needs
nothing else), the row made exactly what the ORM would load — and still read fresh on every request:
a password change or a deactivation ends other sessions at once.

These need real commits (`committed_db`): the `db` fixture shares one connection whose data other
connections cannot see, and there the loader is `session.get`."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import g
from flask_login import current_user

from shop.db import commit
from tests.conftest import AuthActions, requires_postgres
from tests.factories import make_user

pytestmark = requires_postgres


@pytest.fixture
def transactions(committed_db):
    """The isolation level of every transaction begun on the engine (None = the default)."""
    seen: list = []
    engine = committed_db.engine

    def begin(conn):
        seen.append(conn.get_execution_options().get("isolation_level"))

    sa.event.listen(engine, "begin", begin)
    yield seen
    sa.event.remove(engine, "begin", begin)


def _login(app, user):
    client = app.test_client()
    assert AuthActions(client).login(user).status_code in (302, 303)
    client.get("/")  # shows the welcome message
    return client


def test_a_logged_in_request_that_needs_only_the_user_opens_no_transaction(app, committed_db, transactions,
                                                                            monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE", True)
    monkeypatch.setitem(app.config, "CACHE_REDIS_URL", "")
    user = make_user(email="fast@example.com", name="快")
    commit()
    client = _login(app, user)
    client.get("/products")  # a miss: rendered and stored
    committed_db.session.remove()  # as in a new request (the fixture's app context outlives requests)
    transactions.clear()
    page = client.get("/products").get_data(as_text=True)
    assert ">快<" in page and "退出" in page
    assert transactions == [], transactions  # the user is read on the driver's autocommit connection
    assert committed_db.engine.pool.checkedout() == 0, "the connection went back to the pool"


def test_the_user_is_a_clean_persistent_object_of_the_request_session(app, committed_db):
    user = make_user(email="obj@example.com")
    commit()
    client = _login(app, user)
    committed_db.session.remove()  # as in a new request
    cookie = client.get_cookie("session").value
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        g.pop("_login_user", None)  # the fixture's app context (and its g) outlives requests
        obj = current_user._get_current_object()
        assert obj.email == "obj@example.com"
        state = sa.inspect(obj)
        assert state.persistent and not committed_db.session.is_modified(obj)
        assert committed_db.session.get(type(obj), obj.id) is obj


def test_the_user_read_through_the_driver_is_what_the_orm_loads(app, committed_db):
    from datetime import timezone

    from shop.auth import services

    user = make_user(email="same@example.com", name="同")
    commit()
    user_id = user.id
    committed_db.session.remove()
    orm = committed_db.session.get(type(user), user_id)
    expected = {c.key: getattr(orm, c.key) for c in sa.inspect(type(user)).column_attrs}
    committed_db.session.remove()
    values = services._read_user_row(committed_db.engine, user_id)
    assert values == expected
    assert values["created_at"].tzinfo == timezone.utc  # the column type's result processing applied
    assert services._read_user_row(committed_db.engine, user_id + 1000) is None
    assert committed_db.engine.pool.checkedout() == 0


def test_a_driver_error_discards_the_connection_and_reads_through_sqlalchemy(app, committed_db, monkeypatch):
    from shop.auth import services

    user = make_user(email="fallback@example.com")
    commit()
    user_id = user.id
    committed_db.session.remove()
    services._read_user_row(committed_db.engine, user_id)  # the driver's SQL, built once
    key = (committed_db.engine.dialect, services._USER_BY_ID)
    monkeypatch.setitem(services._driver_sql, key,
                        ("SELECT no_such_column FROM users WHERE id = %(key)s", services._driver_sql[key][1]))
    invalidated = []

    def on_invalidate(*_args):
        invalidated.append(True)

    sa.event.listen(committed_db.engine, "invalidate", on_invalidate)
    try:
        values = services._read_user_row(committed_db.engine, user_id)
    finally:
        sa.event.remove(committed_db.engine, "invalidate", on_invalidate)
    assert values["email"] == "fallback@example.com"
    assert invalidated, "the connection that failed never goes back to the pool"
    assert committed_db.engine.pool.checkedout() == 0


def test_password_change_ends_other_sessions_and_keeps_this_one(app, committed_db, monkeypatch):
    user = make_user(email="change@example.com")
    commit()
    this, other = _login(app, user), _login(app, user)
    response = this.post("/password/change", data={"current": "password123", "password": "new-password-1",
                                                   "confirm": "new-password-1"})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    committed_db.session.remove()  # each request below starts afresh, as in production
    assert "退出" in this.get("/").get_data(as_text=True), "this session carries the new auth version"
    committed_db.session.remove()
    assert other.get("/orders").status_code in (302, 401), "the other session ended at once"
    committed_db.session.remove()
    stored = committed_db.session.scalar(sa.select(type(user)).where(type(user).email == "change@example.com"))
    assert stored.auth_version == 2


def test_deactivated_account_is_logged_out_on_its_next_request(app, committed_db):
    user = make_user(email="gone@example.com")
    commit()
    client = _login(app, user)
    assert client.get("/orders").status_code == 200
    with committed_db.engine.begin() as conn:  # another process deactivates the account
        conn.execute(sa.text("UPDATE users SET is_active_account = false WHERE email = 'gone@example.com'"))
    committed_db.session.remove()  # a new request (the fixture's app context outlives requests)
    assert client.get("/orders").status_code in (302, 401)


def test_an_api_token_and_its_user_come_in_one_driver_read_with_every_check(app, committed_db, monkeypatch):
    """`user_for_token` on PostgreSQL: the token and its user in one read through the driver, the
    user attached as the ORM would load it; expired tokens, tokens from before a password change and
    deactivated accounts give no user."""
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
    reads = []
    real = services._read_row
    monkeypatch.setattr(services, "_read_row", lambda *a: (reads.append(a[1]), real(*a))[1])
    found = services.user_for_token(token)
    assert reads == [services._USER_BY_TOKEN] and found.id == user_id and found.name == "令牌"
    state = sa.inspect(found)
    assert state.persistent and not committed_db.session.is_modified(found)
    assert committed_db.session.get(type(found), user_id) is found
    assert services.user_for_token(token + "x") is None
    assert services.user_for_token(token, now=now_utc() + timedelta(days=365)) is None  # expired
    committed_db.session.remove()
    with committed_db.engine.begin() as conn:  # a password change elsewhere
        conn.execute(sa.update(type(user)).where(type(user).id == user_id).values(auth_version=type(user).auth_version + 1))
    assert services.user_for_token(token) is None
    committed_db.session.remove()
    with committed_db.engine.begin() as conn:  # a fresh token, then the account deactivated
        conn.execute(sa.update(ApiToken).where(ApiToken.user_id == user_id)
                     .values(auth_version=sa.select(type(user).auth_version).where(type(user).id == user_id)
                             .scalar_subquery()))
    assert services.user_for_token(token) is not None
    committed_db.session.remove()
    with committed_db.engine.begin() as conn:
        conn.execute(sa.update(type(user)).where(type(user).id == user_id).values(is_active_account=False))
    assert services.user_for_token(token) is None
    assert committed_db.engine.pool.checkedout() == 0
