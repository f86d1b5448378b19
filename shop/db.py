"""Database kernel: declarative base with the naming convention, column helpers, `commit()`.

The transaction rule (STYLE.md B2): services only `flush()`; the request or task boundary calls
`commit()`, which commits and then runs the side effects queued with `after_commit()` (Celery
enqueues, e-mail, search index updates). Nothing talks to Stripe, SMTP or Whoosh while a database
transaction holds locks.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Callable

import sqlalchemy as sa
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Big integer primary keys on PostgreSQL, plain INTEGER on SQLite (so that it auto-increments).
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UTCDateTime(sa.types.TypeDecorator):
    """timestamptz that only accepts aware datetimes and always returns aware UTC (SQLite too)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


def pk() -> Mapped[int]:
    """An identity primary key column."""
    return mapped_column(BigIntPK, primary_key=True, autoincrement=True)


def fk(target: str, *, nullable: bool = False, ondelete: str = "RESTRICT", index: bool = True):
    """A foreign key column, indexed, with an explicit ON DELETE."""
    return mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.ForeignKey(target, ondelete=ondelete),
        nullable=nullable,
        index=index,
    )


def _session():
    from shop.extensions import db

    return db.session


def after_commit(callback: Callable[[], None], *, session=None) -> None:
    """Run `callback` once the current transaction has been committed by `commit()`.

    For Celery tasks use `shop.celery.enqueue_after_commit`, which keeps the task in the outbox
    (`shop.outbox`) when the broker is down; a bare callback here is lost if it fails."""
    (session if session is not None else _session()).info.setdefault("after_commit", []).append(callback)


def commit() -> None:
    """Commit the session, then run the queued side effects (in order)."""
    session = _session()
    session.commit()
    callbacks = session.info.pop("after_commit", [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a side effect must never undo a committed request
            log.exception("after-commit callback failed: %r", callback)


def rollback() -> None:
    """Roll back and forget queued side effects."""
    session = _session()
    session.info.pop("after_commit", None)
    session.info.pop("outbox_batch", None)
    session.rollback()


def is_postgres() -> bool:
    from shop.extensions import db

    return db.engine.dialect.name == "postgresql"


def ping_idle_connections(engine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling that costs a busy shop nothing: a pooled connection that has
    sat unused for `idle_seconds` or more is pinged when it is checked out, and replaced if the ping
    fails (the pool retries the checkout with a new connection). SQLAlchemy's `pool_pre_ping` would
    ping on every checkout: one more round trip for every request and task.

    A connection in steady use is not pinged: if the server restarted since its last use, that use
    fails with an OperationalError (a clean 503, see `register_outage_handler`, or a task retry), and
    SQLAlchemy then invalidates every connection of the pool that is older than the failure, so
    the next checkouts connect afresh. `tests/faults/test_postgres_restart.py` shows both."""
    from sqlalchemy import event, exc

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool discards this connection and checks out another
            raise exc.DisconnectionError(f"idle connection failed its ping: {error}") from error


_STATEMENTS: dict = {}


def statement(key, build):
    """The statement `build()` makes, built once per process on first use and then reused with new
    bind parameters. Building a select with its joins and loader options (and its cache key) on
    every request cost about as much CPU as running it. First use, not import: loader options
    need the mappers configured, which needs every model imported. `key` names the statement
    (a string, or a tuple for its variants); `build` must give the same statement every time."""
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS.setdefault(key, build())
    return found


def register_outage_handler(app) -> None:
    """The database unreachable (a PostgreSQL restart, a failover) or a transient lock/serialisation
    failure: roll back and answer 503 with Retry-After, in the API's error envelope or the error page.
    Nothing was written (the transaction is gone); the pool replaces the dead connections (SQLAlchemy
    invalidates the pool on a disconnect, `ping_idle_connections` checks idle ones), so the next
    requests work again without restarting the app."""
    from flask import render_template
    from flask_babel import gettext as _
    from sqlalchemy.exc import InterfaceError, OperationalError

    def _unavailable(exc):
        from shop.errors import json_error, wants_json

        log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        try:
            rollback()
        except Exception:  # the connection is what failed; the pool discards it
            log.debug("rollback after a database error failed", exc_info=True)
        message = _("服务器出错了，请稍后再试。")
        if wants_json():
            response, status = json_error(503, "service_unavailable", message)
        else:
            try:
                response, status = render_template("errors/error.html", status=503, message=message), 503
            except Exception:  # the page itself needs the database (the signed-in user)
                response, status = message, 503
        response = app.make_response((response, status))
        response.headers["Retry-After"] = "1"
        return response

    app.register_error_handler(OperationalError, _unavailable)
    app.register_error_handler(InterfaceError, _unavailable)
