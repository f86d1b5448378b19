from __future__ import annotations

import pytest

from shop.db import commit
from tests.factories import make_station, make_user


@pytest.fixture
def admin_user(db):
    user = make_user(role="admin", email="boss@test.cn", name="管理员老王")
    commit()
    return user


@pytest.fixture
def admin_client(app, db, admin_user):
    client = app.test_client()
    response = client.post("/login", data={"email": admin_user.email, "password": "password123"})
    assert response.status_code in (302, 303)
    return client


@pytest.fixture
def station(db):
    station = make_station(code="NC77")
    commit()
    return station


@pytest.fixture
def csrf_on(app):
    """CSRF checked as in production (the test config switches it off), for this test only."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
