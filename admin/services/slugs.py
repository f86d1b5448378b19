"""The slug of a new category or village: the catalogue's own (`catalog.services.slugify`, pinyin of the
Chinese name), cut to the column's length, with -2, -3 … added while another row has it."""

from __future__ import annotations

import sqlalchemy as sa

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
