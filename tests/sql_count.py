"""Count the SQL statements a block of code sends (transaction control excluded)."""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import event

_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


@contextmanager
def count_statements():
    """`with count_statements() as statements:` — the list fills with every statement sent."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if verb not in _CONTROL:
            statements.append(statement)

    event.listen(sa.engine.Engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(sa.engine.Engine, "before_cursor_execute", before)
