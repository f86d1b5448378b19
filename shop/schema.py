"""Build or drop the whole schema outside Alembic (tests, and the check that migrations match).

Database-level rules that live outside the models (PostgreSQL triggers such as the append-only
ledger guard) are registered in `POSTGRES_DDL` by their packages, so both `create_schema()` and
the migrations install them.
"""
from __future__ import annotations

import sqlalchemy as sa

from shop.extensions import db

#: (name, create SQL, drop SQL) for PostgreSQL-only objects: triggers, functions.
POSTGRES_DDL: list[tuple[str, str, str]] = []


def create_schema() -> None:
    db.create_all()
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            for _name, create_sql, _drop in POSTGRES_DDL:
                conn.execute(sa.text(create_sql))


def drop_schema() -> None:
    db.session.remove()
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
