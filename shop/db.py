"""Database kernel: declarative base with the naming convention, column helpers, `commit()`.

The transaction rule (STYLE.md B2): services only `flush()`; the request or task boundary calls
`commit()`, which commits and then runs the side effects queued with `after_commit()` (Celery
enqueues, e-mail, search index updates). Nothing talks to Stripe, SMTP or Whoosh while a database
transaction holds locks.
"""
from __future__ import annotations

import logging
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
