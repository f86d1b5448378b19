"""The connection pool survives a PostgreSQL restart without pinging on every checkout.

`shop.db.ping_idle_connections`: a pooled connection idle for DB_PING_IDLE_SECONDS is pinged when
checked out and replaced if the server dropped it; a busy shop pays no round trip for that. (A
connection in steady use fails once, cleanly: tests/faults/test_postgres_restart.py.)
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from tests.conftest import requires_postgres


def _kill_other_backends(engine) -> int:
    """Terminate every other connection to this database, as a server restart would."""
    killer = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    try:
        with killer.begin() as conn:
            return len(
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        killer.dispose()


@requires_postgres
def test_an_idle_pooled_connection_dropped_by_the_server_is_replaced_before_use(app, committed_db):
    engine = committed_db.engine
    idle = app.config["DB_PING_IDLE_SECONDS"]
    assert 0 < idle <= 5
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    try:
        assert _kill_other_backends(engine) >= 1  # the pooled connection is dead now
        time.sleep(idle + 0.2)
        with engine.connect() as conn:  # pinged, found dead, replaced: no error reaches us
            after = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        assert after != before
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged_and_an_idle_one_is(app, committed_db, monkeypatch):
    engine = committed_db.engine
    pings: list[int] = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda dbapi_conn: pings.append(1) or real_ping(dbapi_conn))
    engine.dispose()  # a fresh pool: new connections are never pinged
    for _ in range(5):
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 2")).scalar() == 2
    assert pings == []  # no round trip per checkout (SQLAlchemy's pool_pre_ping would make five)
    time.sleep(app.config["DB_PING_IDLE_SECONDS"] + 0.2)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 3"))
    assert pings == [1]
