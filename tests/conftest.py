"""Test fixtures (README.md, "Tests").

Database: `TEST_DATABASE_URL` (PostgreSQL in CI) or, when unset, a throwaway SQLite file; under
`CI=true` PostgreSQL is required. The schema is built once per session by the Alembic migrations; each test runs inside a
transaction that is rolled back (the app's `commit()` releases a SAVEPOINT instead). Tests that
need real commits from several threads use `committed_db`, which empties the tables afterwards.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from celery.result import allow_join_result
from flask import has_app_context
from flask.globals import app_ctx
from flask.testing import FlaskClient

from shop import create_app
from shop.extensions import db as _db
from shop.timeutil import local_date, now_utc


def _services_of_this_worker() -> None:
    """Under pytest-xdist (`make test` runs `-n 2`, README "Tests") each worker process gets its own
    PostgreSQL database (`<TEST_DATABASE_URL's database>_gw0`, created when missing) and its own Redis
    database (`TEST_REDIS_URL`'s number minus the worker's index), so one worker's commits, emptied
    tables, queues and caches never meet another's. Everything below reads the environment, and the
    processes tests start (live servers, Celery workers, fault checks) inherit it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker or os.environ.get("TEST_SERVICES_OF") == worker:
        return  # not a worker, or a process a worker started (a fault check's pytest): already its own
    os.environ["TEST_SERVICES_OF"] = worker
    index = int(worker.removeprefix("gw"))
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        base = sa.make_url(url)
        name = f"{base.database}_{worker}"
        admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                    conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        os.environ["TEST_DATABASE_URL"] = base.set(database=name).render_as_string(hide_password=False)
    redis_url = os.environ.get("TEST_REDIS_URL", "")
    if redis_url:
        head, _, number = redis_url.rstrip("/").rpartition("/")
        if not number.isdigit() or int(number) < index:
            raise RuntimeError(f"TEST_REDIS_URL must end in a database number of at least {index}: {redis_url}")
        os.environ["TEST_REDIS_URL"] = f"{head}/{int(number) - index}"


_services_of_this_worker()

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
IS_CI = os.environ.get("CI") == "true"

if IS_CI and not TEST_DATABASE_URL.startswith("postgresql"):
    raise RuntimeError("CI=true needs TEST_DATABASE_URL pointing at PostgreSQL")

_TMP = tempfile.mkdtemp(prefix="shop-tests-")


def _database_url() -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{_TMP}/test.sqlite3"


TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "SQLALCHEMY_DATABASE_URI": _database_url(),
    "WTF_CSRF_ENABLED": False,
    "CELERY_BROKER_URL": "",
    "OUTBOX_RELAY_SECONDS": 0,  # published in the request (tests/faults/test_outbox.py tests the relay)
    "OUTBOX_DELETE_SECONDS": 0,  # published outbox rows deleted at once (tests/faults/test_outbox.py tests the batches)
    "SEARCH_INDEX_DIR": os.path.join(_TMP, "index"),
    "UPLOAD_DIR": os.path.join(_TMP, "uploads"),
    "STRIPE_SECRET_KEY": "",
    "SERVER_NAME": None,
    "SITE_URL": "http://shop.test",  # where e-mailed links point, whatever Host a request names
    "TRUSTED_HOSTS": None,
    # tests log in far more often than a person; tests/shop/test_security.py turns limits on
    "RATE_LIMITS": False,
    # passwords hashed cheaply (production: scrypt, ~0.1 s of CPU a hash); tests/shop/test_auth.py checks both
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
}


def is_postgres() -> bool:
    return _database_url().startswith("postgresql")


requires_postgres = pytest.mark.skipif(
    not is_postgres(), reason="needs PostgreSQL (set TEST_DATABASE_URL); SQLite cannot show row locking"
)


def pytest_report_header(config):
    return f"database: {'PostgreSQL' if is_postgres() else 'SQLite (concurrency tests skipped)'}"


def _reset_schema(app) -> None:
    """A fresh schema built by the migrations (`flask db upgrade`), as in production."""
    from flask_migrate import upgrade

    from shop.schema import drop_schema

    with app.app_context():
        drop_schema()
        upgrade()


class RequestIsolatingClient(FlaskClient):
    """Each request starts with an empty `g` and no cached locale, as it would in production.

    The `db` fixture keeps one app context open for the whole test, and Flask reuses an active app
    context for test requests, so without this the logged-in user (cached on `g`) and the locale
    would leak from one client's request into another client's.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            for name in list(vars(app_ctx.g)):
                delattr(app_ctx.g, name)
            for name in ("babel_locale", "babel_tzinfo", "babel_translations", "forced_babel_locale"):
                if hasattr(app_ctx, name):
                    delattr(app_ctx, name)
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app():
    application = create_app(dict(TEST_CONFIG))
    application.test_client_class = RequestIsolatingClient
    _reset_schema(application)
    yield application
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """Per-test isolation: everything the test and the app commit is rolled back afterwards."""
    with app.app_context():
        engines = _db.engines
        engine = engines[None]
        connection = engine.connect()
        transaction = connection.begin()
        engines[None] = connection
        _db.session.remove()
        try:
            yield _db
        finally:
            _db.session.remove()
            transaction.rollback()
            connection.close()
            engines[None] = engine


@pytest.fixture
def committed_db(app):
    """For threaded tests: real commits; every table the test wrote to is emptied afterwards."""
    with app.app_context():
        _db.session.remove()
        yield _db
        _db.session.remove()
        tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
        if is_postgres():
            _empty_postgres_tables(tables)
            return
        with _db.engine.begin() as conn:
            for name in tables:
                conn.execute(sa.text(f"DELETE FROM {name}"))


def _empty_postgres_tables(tables: list[str]) -> None:
    """Empty the tables that hold rows (one query finds them). TRUNCATE gives every table it names,
    and every table referencing one (CASCADE), new files: a second or more a test for the ~70 tables,
    where deleting the few rows a test wrote takes milliseconds. The DELETEs run with triggers off
    (`session_replication_role = replica`, for a superuser, as in CI): the append-only guards refuse
    a DELETE, and the foreign-key checks are moot when everything goes. Otherwise TRUNCATE them."""
    probe = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in tables)
    with _db.engine.begin() as conn:
        filled = list(conn.scalars(sa.text(probe)))
        if not filled:
            return
        if conn.scalar(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for name in filled:
                conn.execute(sa.text(f"DELETE FROM {name}"))
        else:
            conn.execute(sa.text(f"TRUNCATE {', '.join(filled)} RESTART IDENTITY CASCADE"))


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def now():
    return datetime(2026, 11, 28, 4, 0, tzinfo=timezone.utc)  # 12:00 in Beijing


@pytest.fixture
def today():
    """Beijing's date on the real clock when the test runs, for tests of pages and APIs that read the clock.

    Read per test, never at import time: a run that crosses midnight in Beijing (16:00 UTC) would otherwise
    compare against yesterday's date and flip boundary cases such as "harvest tomorrow is refused"."""
    return local_date(now_utc())


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, user_or_email, password: str = "password123"):
        email = getattr(user_or_email, "email", user_or_email)
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def api_token(client):
    """api_token(user) -> headers with a bearer token for that user."""

    def make(user, password: str = "password123") -> dict:
        response = client.post("/api/v1/auth/token", json={"email": user.email, "password": password})
        assert response.status_code == 200, response.json
        return {"Authorization": f"Bearer {response.json['token']}"}

    return make


@pytest.fixture(autouse=True)
def _reset_celery_join_flag():
    """Celery's eager `apply()` sets a process-global "joins would block" flag and restores it on
    exit; eager tasks overlapping in threads (the concurrency tests) can leave it set, after which
    any `.get()` on an eager result raises. Every test starts with joins allowed, through Celery's
    public `allow_join_result`."""
    with allow_join_result():
        yield


@pytest.fixture
def fake_stripe(app, monkeypatch):
    """Card payments on, provider replaced by FakeStripeProvider (tests/orders/factories.py)."""
    from orders import providers
    from tests.orders.factories import WEBHOOK_SECRET, FakeStripeProvider

    FakeStripeProvider.reset()
    monkeypatch.setitem(providers.PROVIDERS, "stripe", FakeStripeProvider)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_PUBLISHABLE_KEY", "pk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    yield FakeStripeProvider
    FakeStripeProvider.reset()


@pytest.fixture
def cache_on(app, db, monkeypatch):
    """The page cache on (in process memory: the suite's app has no CACHE_REDIS_URL), emptied before
    and after the test."""
    from shop import pagecache

    monkeypatch.setitem(app.config, "PAGE_CACHE", True)
    with app.app_context():
        pagecache.clear()
    yield
    with app.app_context():
        pagecache.clear()
