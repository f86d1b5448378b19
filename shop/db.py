"""Database kernel: `commit()`, `rollback()`, after-commit side effects, `unique_or` (a write a unique index
may refuse), cached statements, pings.

The declarative base and the column helpers are `shop.columns`.

The transaction rule (docs/ARCHITECTURE.md, "A request, from route to side effects"): services only `flush()`;
the request or task boundary calls `commit()`, which commits and then runs the side effects queued with
`after_commit()` (Celery enqueues, e-mail, search index updates). Nothing talks to Stripe, SMTP or Whoosh
while a database transaction holds locks.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, cast

from sqlalchemy import event, exc
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Session

from shop.extensions import db

log = logging.getLogger(__name__)


def _session():
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


@contextmanager
def unique_or(refuse: Exception | Callable[[], object]) -> Iterator[None]:
    """Flush the changes made in the with-block in a savepoint of their own; when a unique index refuses
    them (a concurrent request wrote the same key between our look and our write), only the savepoint is
    rolled back, the session stays usable, and the caller's refusal is raised: `refuse` itself when it is
    an exception, else `refuse()` runs (e.g. the caller's look for a taken name, which now sees the other
    row and raises) and the IntegrityError follows if it returns.

    Changes pending before the block are flushed as the savepoint begins, outside it: make the changes
    the index may refuse inside the block."""
    try:
        with db.session.begin_nested():
            yield
            db.session.flush()
    except exc.IntegrityError:
        if isinstance(refuse, Exception):
            raise refuse from None
        refuse()
        raise


def is_postgres() -> bool:

    return db.engine.dialect.name == "postgresql"


#: `Connection.info` key: every statement of the connection's transaction so far began with SELECT.
_ONLY_READ = "only_read"
#: `Session.info` key: the connection of the session's transaction (`after_begin`).
_READ_CONNECTION = "read_connection"
_SELECT = re.compile(r"\s*SELECT\b", re.IGNORECASE)


def _session_begun(session, _transaction, connection) -> None:
    session.info[_READ_CONNECTION] = connection


def end_reads_with_commit(app, engine) -> None:
    """PostgreSQL: a request or task whose transaction only read ends it with COMMIT, not ROLLBACK.

    For the data the two are the same when nothing was written. For psycopg they are not: its
    `Connection.rollback()` forgets every statement it prepared on the connection and has the server
    DEALLOCATE them (a rollback may undo the objects they name). Every page reads, commits nothing and
    was rolled back at teardown, so no pooled connection ever kept a prepared statement, and PostgreSQL
    parsed and planned every query of every request: the cart page's joined SELECT spent about 1.5 ms
    being planned for 0.1 ms of execution. After a COMMIT psycopg keeps them: it prepares a query the
    fifth time a connection runs it (its `prepare_threshold`) and the server plans it once for all.

    Read only: every statement the transaction sent began with SELECT (engine events `begin` and
    `before_cursor_execute`), and the session holds no unflushed change and no queued side effect
    (`after_commit`, the outbox's batch). Anything else (an INSERT, UPDATE or DELETE, a `WITH`, a
    SAVEPOINT, DDL, an error) ends as before: Flask-SQLAlchemy's teardown rolls it back. This teardown
    runs before that one (Flask calls app-context teardowns in the reverse order of registration), and
    also at the end of each Celery task's app context."""

    @event.listens_for(engine, "begin")
    def _begun(connection):
        connection.info[_ONLY_READ] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _sent(connection, _cursor, statement, _parameters, _context, _executemany):
        if not _SELECT.match(statement):
            connection.info[_ONLY_READ] = False

    if not event.contains(Session, "after_begin", _session_begun):  # once per process, for every app
        event.listen(Session, "after_begin", _session_begun)

    @app.teardown_appcontext
    def _end_reads(error):
        scoped = _session()
        if not scoped.registry.has():  # no session this time: nothing to end
            return
        session = scoped()
        connection = session.info.get(_READ_CONNECTION)
        if error is not None or connection is None or not session.in_transaction():
            return
        if session.new or session.dirty or session.deleted:
            return
        if "after_commit" in session.info or "outbox_batch" in session.info or connection.closed:
            return
        if connection.engine is not engine or not connection.info.get(_ONLY_READ):
            return
        try:
            session.commit()
        except Exception:  # the teardown that follows rolls back, as it always did
            log.warning("a read-only transaction could not be committed", exc_info=True)


def ping_idle_connections(engine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling that costs a busy shop nothing: a pooled connection that has
    sat unused for `idle_seconds` or more is pinged when it is checked out, and replaced if the ping
    fails (the pool retries the checkout with a new connection). SQLAlchemy's `pool_pre_ping` would
    ping on every checkout: one more round trip for every request and task.

    A connection in steady use is not pinged: if the server restarted since its last use, that use
    fails with an OperationalError (a clean 503, see `register_outage_handler`, or a task retry), and
    SQLAlchemy then invalidates every connection of the pool that is older than the failure, so
    the next checkouts connect afresh. `tests/faults/test_postgres_restart.py` shows both."""

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


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE run through `Session.execute` matched. The session returns a
    CursorResult for those statements but is typed as returning the general Result; SQLAlchemy's
    changelog (2.0.44) recommends this cast where rowcount is read."""
    return cast(CursorResult[Any], result).rowcount


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
