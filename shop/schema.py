"""Build or drop the whole schema outside Alembic (tests, and the check that migrations match).

Database-level rules that live outside the models (PostgreSQL triggers such as the append-only
ledger guard) are registered in `POSTGRES_DDL` by their packages, so both `create_schema()` and
the migrations install them.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event

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


def register_postgres_ddl(name: str, create_sql: str, drop_sql: str) -> None:
    """Add a PostgreSQL object to `POSTGRES_DDL` once (importing a models module twice adds nothing)."""
    if not any(existing == name for existing, _c, _d in POSTGRES_DDL):
        POSTGRES_DDL.append((name, create_sql, drop_sql))


def append_only_ddl(table: str) -> tuple[str, str, str]:
    """(name, create, drop) of the trigger that refuses UPDATE and DELETE on `table`, even by raw SQL."""
    name = f"{table}_append_only"
    create = f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{table} is append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS {name} ON {table};
CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {name}();
"""
    drop = f"""
DROP TRIGGER IF EXISTS {name} ON {table};
DROP FUNCTION IF EXISTS {name}();
"""
    return name, create, drop


class AppendOnlyError(RuntimeError):
    """An UPDATE or DELETE of a row of an append-only table was attempted through the ORM."""


def append_only(model):
    """Class decorator: the model's rows are never updated or deleted.

    Two guards, one mechanism for every append-only table (the income ledger, the stations' cash
    book and its daily closes): the ORM refuses to flush an UPDATE or DELETE of such a row, and on
    PostgreSQL a trigger (`append_only_ddl`, installed by `create_schema()` and the migrations)
    refuses them for raw SQL too.
    """
    table = model.__tablename__

    def refuse(_mapper, _connection, _target):
        raise AppendOnlyError(f"{table} is append-only")

    event.listen(model, "before_update", refuse)
    event.listen(model, "before_delete", refuse)
    register_postgres_ddl(*append_only_ddl(table))
    return model


def closed_day_ddl(entries: str, closes: str, owner: str) -> tuple[str, str, str]:
    """(name, create, drop) of the trigger refusing an entry of a cash book (`entries`) dated into a day
    its owner (`owner` column) closed in `closes` (the station's and the host's books)."""
    name = f"{entries}_closed_day"
    create = f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM {closes} WHERE {owner} = NEW.{owner}
               AND business_date = NEW.business_date) THEN
        RAISE EXCEPTION '{entries} of % is closed for %', NEW.{owner}, NEW.business_date
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS {name} ON {entries};
CREATE TRIGGER {name} BEFORE INSERT ON {entries}
    FOR EACH ROW EXECUTE FUNCTION {name}();
"""
    drop = f"""
DROP TRIGGER IF EXISTS {name} ON {entries};
DROP FUNCTION IF EXISTS {name}();
"""
    return name, create, drop
