"""Issue 17 (auth part): links from the configured site URL, trusted hosts, server-side session
revocation, NFKC e-mail addresses, Secure cookies on an https site, the Celery/mail timeout check."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from shop import create_app
from shop.auth.models import User
from shop.db import commit
from tests.alembic_logging import restore_logging
from tests.conftest import TEST_CONFIG
from tests.factories import PASSWORD, make_user


def _restore_celery(app) -> None:
    """create_app() makes its own Celery the current one; give the tasks back to the test app."""
    celery = app.extensions["celery"]
    celery.set_current()
    celery.set_default()


@pytest.fixture
def other_app(app):
    """create_app(overrides) for a test, the test app's Celery restored afterwards."""
    made = []

    def make(**overrides):
        made.append(create_app({**TEST_CONFIG, **overrides}))
        return made[-1]

    try:
        yield make
    finally:
        _restore_celery(app)
        for other in made:
            with other.app_context():
                from shop.extensions import db as _db

                _db.session.remove()
                _db.engine.dispose()


# --- #17.1: external links from SITE_URL, never from the request's Host -------------------------


def test_the_reset_link_points_at_the_configured_site_whatever_host_the_request_names(app, db, caplog):
    caplog.set_level(logging.INFO, logger="shop.mail")
    user = make_user()
    commit()
    client = app.test_client()
    response = client.post(
        "/password/forgot",
        data={"email": user.email},
        base_url="http://evil.example",
        headers={"X-Forwarded-Host": "evil2.example"},
    )
    assert response.status_code == 302
    assert "http://shop.test/password/reset/" in caplog.text
    assert "evil" not in caplog.text


def test_external_url_uses_the_site_urls_scheme_host_and_path(app):
    from shop.urls import external_url

    with app.test_request_context("/", base_url="http://evil.example"):
        app.config["SITE_URL"], saved = "https://shop.example.cn/shop/", app.config["SITE_URL"]
        try:
            assert external_url("password.reset", token="t") == "https://shop.example.cn/shop/password/reset/t"
        finally:
            app.config["SITE_URL"] = saved


def test_trusted_hosts_refuse_any_other_host(other_app):
    strict = other_app(TRUSTED_HOSTS=["shop.example.cn"])
    client = strict.test_client()
    refused = client.get("/healthz", base_url="http://evil.example")
    assert refused.status_code == 400 and "evil" not in refused.get_data(as_text=True)
    assert client.post("/password/forgot", base_url="http://evil.example", data={"email": "a@b.cn"}).status_code == 400
    assert client.get("/healthz", base_url="http://shop.example.cn:8000").status_code == 200


def test_behind_the_proxy_a_forwarded_host_is_checked_too(other_app):
    proxied = other_app(TRUSTED_HOSTS=["shop.example.cn"], BEHIND_PROXY=True)
    client = proxied.test_client()
    headers = {"X-Forwarded-Host": "evil.example", "X-Forwarded-For": "203.0.113.9"}
    assert client.get("/healthz", base_url="http://shop.example.cn", headers=headers).status_code == 400
    headers["X-Forwarded-Host"] = "shop.example.cn"
    assert client.get("/healthz", base_url="http://10.0.0.2", headers=headers).status_code == 200


def test_trusted_hosts_are_derived_from_the_site_url_unless_set(monkeypatch):
    import config

    monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    monkeypatch.delenv("SITE_URL", raising=False)
    assert config.trusted_hosts_from_env() is None  # the embedded default: any host
    monkeypatch.setenv("SITE_URL", "https://shop.example.cn")
    assert config.trusted_hosts_from_env() == ["shop.example.cn"]
    monkeypatch.setenv("TRUSTED_HOSTS", "shop.example.cn, .example.cn")
    assert config.trusted_hosts_from_env() == ["shop.example.cn", ".example.cn"]


# --- #17.6: logout ends the session server-side ------------------------------------------------


def _copy_of_the_session(app, user):
    client = app.test_client()
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    assert client.get("/orders").status_code == 200
    return client, client.get_cookie("session").value


def test_a_session_cookie_copied_before_logout_opens_no_signed_in_page_after_it(app, db):
    user = make_user()
    commit()
    client, copied = _copy_of_the_session(app, user)
    assert client.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied)
    for path in ("/orders", "/password/change"):
        response = thief.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert thief.post("/logout").status_code == 302  # not a signed-in logout: login_required redirects
    # signing in again works, and the new session is a new generation
    again, _cookie = _copy_of_the_session(app, user)
    assert again.get("/orders").status_code == 200


def test_a_password_change_revokes_a_copied_cookie_too(app, db):
    user = make_user()
    commit()
    client, copied = _copy_of_the_session(app, user)
    response = client.post(
        "/password/change", data={"current": PASSWORD, "password": "new-password-1", "confirm": "new-password-1"}
    )
    assert response.status_code == 302
    assert client.get("/orders").status_code == 200  # this session got the new generation
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/orders").status_code == 302


def test_a_session_id_that_is_not_two_ascii_numbers_signs_nobody_in(app, db):
    from shop.auth.services import load_session_user

    user = make_user()
    commit()
    assert load_session_user(f"{user.id}:{user.session_generation}") is user
    for bad in (
        f"{user.id}:{user.session_generation + 1}",
        f"{user.id}:²",
        "²:1",
        f"{user.id}",
        "",
        None,
        12,
        "9" * 40 + ":1",
        f"{user.id}:" + "9" * 40,
    ):
        assert load_session_user(bad) is None, bad


# --- #17.11: e-mail addresses NFKC-normalised ---------------------------------------------------


def test_a_full_width_look_alike_cannot_register_a_second_account(client, db):
    assert (
        client.post(
            "/register", data={"email": "alice@example.com", "password": "password123", "confirm": "password123"}
        ).status_code
        == 302
    )
    client.post("/logout")
    response = client.post(
        "/register", data={"email": "ＡＬＩＣＥ@example.com", "password": "password123", "confirm": "password123"}
    )
    assert response.status_code == 422
    api = client.post("/api/v1/auth/register", json={"email": "ａｌｉｃｅ@example.com", "password": "password123"})
    assert api.status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_the_look_alike_signs_in_to_the_one_account_and_is_stored_plain(app, client, db):
    from shop.auth.services import Registration, register_user
    from shop.timeutil import now_utc

    user = register_user(Registration(email="ｂｏｂ@Example.com", password="password123"), now=now_utc())
    commit()
    assert user.email == "bob@example.com"
    assert client.post("/login", data={"email": "ＢＯＢ@example.com", "password": "password123"}).status_code == 302
    token = app.test_client().post(
        "/api/v1/auth/token", json={"email": "ｂｏｂ@example.com", "password": "password123"}
    )
    assert token.status_code == 200


# --- #17.11: Secure cookies whenever the site is https -----------------------------------------


def test_the_session_cookie_is_secure_when_the_site_url_is_https(other_app):
    secure = other_app(SITE_URL="https://shop.example.cn")
    assert secure.config["SESSION_COOKIE_SECURE"] and secure.config["REMEMBER_COOKIE_SECURE"]
    response = secure.test_client().get("/login?lang=en", base_url="https://shop.example.cn")
    cookie = response.headers.get("Set-Cookie", "")
    assert cookie.startswith("session=") and "; Secure" in cookie


def test_the_session_cookie_is_not_forced_secure_on_a_plain_http_site(other_app):
    plain = other_app(SITE_URL="http://127.0.0.1:5000", SESSION_COOKIE_SECURE=False)
    assert not plain.config["SESSION_COOKIE_SECURE"]


# --- #17.11: the Celery visibility timeout must outlast a mail claim ----------------------------


@pytest.mark.parametrize("visibility, claim", [(300, 300), (120, 300)])
def test_start_up_refuses_a_visibility_timeout_not_longer_than_the_mail_claim(other_app, visibility, claim):
    from shop.celery import TimeoutMisconfigured

    with pytest.raises(TimeoutMisconfigured, match="MAIL_CLAIM_STALE_SECONDS"):
        other_app(CELERY_VISIBILITY_TIMEOUT=visibility, MAIL_CLAIM_STALE_SECONDS=claim)


def test_start_up_accepts_a_visibility_timeout_longer_than_the_mail_claim(other_app):
    assert other_app(CELERY_VISIBILITY_TIMEOUT=301, MAIL_CLAIM_STALE_SECONDS=300).extensions["celery"]


# --- the migrations: existing sessions kept, existing addresses normalised ----------------------


def test_the_migrations_keep_sessions_and_normalise_existing_addresses(app, tmp_path):
    from flask_migrate import upgrade

    from shop.extensions import db as _db

    saved = {n: lg.disabled for n, lg in logging.root.manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    url = f"sqlite:///{tmp_path}/m.sqlite3"
    other = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    users = sa.table(
        "users",
        *(
            sa.column(c)
            for c in (
                "id",
                "email",
                "password_hash",
                "name",
                "phone",
                "role",
                "is_active_account",
                "auth_version",
                "created_at",
            )
        ),
    )
    try:
        with other.app_context():
            upgrade(revision="8c3f1a2b9d04")  # before session generations and normalised addresses
            rows = [(1, "plain@example.com", 3), (2, "ＰＬＡＩＮ@example.com", 1), (3, "ｃａｒｏｌ@Example.com", 2)]
            with _db.engine.begin() as conn:
                conn.execute(
                    sa.insert(users),
                    [
                        {
                            "id": i,
                            "email": e,
                            "password_hash": "x",
                            "name": "",
                            "phone": "",
                            "role": "consumer",
                            "is_active_account": True,
                            "auth_version": v,
                            "created_at": "2026-01-01 00:00:00",
                        }
                        for i, e, v in rows
                    ],
                )
            upgrade()
            with _db.engine.connect() as conn:
                found = conn.execute(sa.text("SELECT id, email, session_generation FROM users ORDER BY id")).all()
            _db.session.remove()
            _db.engine.dispose()
    finally:
        restore_logging(saved)
        _restore_celery(app)
    assert [tuple(r) for r in found] == [
        (1, "plain@example.com", 3),  # a session cookie of before ('1:3') still signs in
        (2, "ＰＬＡＩＮ@example.com", 1),  # the same address as account 1: left for a person to merge
        (3, "carol@example.com", 2),
    ]
