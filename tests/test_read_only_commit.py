"""A transaction that only read ends with COMMIT, so psycopg keeps its prepared statements
(`shop.db.end_reads_with_commit`); one that wrote and was not committed is still rolled back.

psycopg forgets every statement it prepared on a connection (DEALLOCATE ALL) when that connection rolls
back. Pages read and commit nothing: rolled back at teardown, they left no prepared statement on any
pooled connection, and PostgreSQL planned every query of every request again. PostgreSQL only: psycopg's
prepared statements are the point, and SQLite ends every request as before."""

from __future__ import annotations

import threading
from contextlib import ExitStack

import sqlalchemy as sa

from shop.auth.models import User
from shop.db import commit
from shop.extensions import db as _db
from tests.conftest import requires_postgres
from tests.factories import make_user


def _prepared_on_pooled_connections(fragment: str) -> int:
    """Statements containing `fragment` prepared on any connection the pool holds: all of them are
    checked out at once (so none is missed), each asked for its own `pg_prepared_statements`."""
    engine = _db.engine
    found = 0
    with ExitStack() as stack:
        for _ in range(max(engine.pool.checkedin(), 1)):
            connection = stack.enter_context(engine.connect())
            found += connection.scalar(
                sa.text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :fragment"),
                {"fragment": f"%{fragment}%"},
            )
    return found


@requires_postgres
def test_a_page_that_only_reads_leaves_its_statements_prepared(app, committed_db):
    with app.app_context():
        make_user(email="reader@test.cn")
        commit()
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"email": "reader@test.cn", "password": "password123"})
    headers = {"Authorization": f"Bearer {token.json['token']}"}
    statuses = []
    # The app (and its pool) lives for the whole session: earlier threaded tests left connections in
    # it, and the pool hands them out in turn, so twelve requests over three of them would run the
    # query four times on each and prepare nothing. An empty pool gives the requests one connection.
    _db.engine.dispose()

    def twelve_requests():  # in a thread of its own: each request has its own app context and teardown
        for _ in range(12):  # psycopg prepares a query the fifth time a connection runs it
            statuses.append(client.get("/api/v1/me", headers=headers).status_code)

    worker = threading.Thread(target=twelve_requests)
    worker.start()
    worker.join()
    assert statuses == [200] * 12
    assert _prepared_on_pooled_connections("FROM api_tokens") >= 1


@requires_postgres
def test_a_write_left_uncommitted_is_still_rolled_back(app, committed_db):
    """An app context that flushed a change and did not commit (a refused action, an error) ends
    rolled back, as every transaction that wrote and was not committed always did; so does one that
    only read but holds a change not yet flushed."""
    with app.app_context():
        user_id = make_user(email="kept@test.cn", name="甲").id
        commit()
    with app.app_context():
        make_user(email="flushed@test.cn")  # the factory flushes: an INSERT was sent, and no commit
    with app.app_context():
        _db.session.get(User, user_id).name = "乙"  # read, then changed in memory only
    with app.app_context():
        users = dict(_db.session.execute(sa.select(User.email, User.name).where(User.email.like("%@test.cn"))).all())
    assert users == {"kept@test.cn": "甲"}
