"""Whether a page came from the whole-page cache (shop.pagecache): a cached page is served without one
SQL statement on the app's engine."""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def count_sql(db):
    """`with count_sql(db) as statements:` — the list fills with every statement the app's engine
    sends (transaction control included)."""
    statements: list[str] = []
    engine = db.engines[None].engine

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def served_from_cache(client, db, url) -> tuple[bool, str]:
    """(whether `client`'s GET of `url` sent no SQL, the page's text)."""
    with count_sql(db) as statements:
        page = client.get(url).get_data(as_text=True)
    return statements == [], page
