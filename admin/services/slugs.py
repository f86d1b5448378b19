"""The slug of a new category or village: the catalogue's own (`catalog.services.slugify`, pinyin of the
Chinese name), cut to the column's length, with -2, -3 … added while another row has it — also when a
concurrent request took it between our look and our insert (`add_with_unique_slug`).

A category's name, and a village's within its township, is unique too (a unique index each). The
services look before they write and refuse a taken name; when two admins add or rename to one name at
the same moment, both look before either writes, and the index refuses the second. `add_with_unique_slug`
and `shop.db.unique_or` then run the caller's look again, which now sees the first admin's row and raises the
same refusal a slower second admin would have had."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from catalog.services import slugify
from shop.extensions import db


def unique_slug(column, name: str, max_length: int) -> str:
    """A slug of `name` no row has in `column` (a unique slug column, e.g. `Category.slug`)."""
    base = slugify(name)[:max_length].strip("-") or "item"
    taken = set(db.session.scalars(sa.select(column).where(column.like(f"{base[: max_length - 10]}%"))))
    slug, n = base, 1
    while slug in taken:
        n += 1
        suffix = f"-{n}"
        slug = base[: max_length - len(suffix)] + suffix
    return slug


def add_with_unique_slug(row, name: str, max_length: int, *, recheck: Callable[[], object], attempts: int = 5) -> None:
    """Add `row` (a new row of a model with a unique `slug` column) with a slug of `name` and flush it.
    When a concurrent request inserted first, the index refuses ours: `recheck` (the caller's own look for
    a taken name) runs again and raises if it was the name; else it was the slug, and the next free one is
    taken. Only `attempts` such losses in a row raise the IntegrityError."""
    column = type(row).slug
    for attempt in range(1, attempts + 1):
        row.slug = unique_slug(column, name, max_length)
        try:
            with db.session.begin_nested():
                db.session.add(row)
            return
        except IntegrityError:
            recheck()
            if attempt == attempts:
                raise
