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


def page_statements(client, url: str) -> tuple[str, list[str]]:
    """The page at `url` (200) and the statements its request sent, after a warm-up request (first-use
    queries) and with the session's objects expired (nothing answered from the identity map)."""
    from shop.extensions import db

    client.get(url)
    db.session.expire_all()
    with count_statements() as statements:
        res = client.get(url)
    assert res.status_code == 200, (url, res.status_code)
    return res.get_data(as_text=True), statements


def api_statements(client, url: str, headers) -> tuple[dict, list[str]]:
    """`page_statements` for a JSON answer: the GET at `url` with `headers` (200), its body and statements."""
    from shop.extensions import db

    client.get(url, headers=headers)
    db.session.expire_all()
    with count_statements() as statements:
        res = client.get(url, headers=headers)
    assert res.status_code == 200, res.json
    return res.json, statements
