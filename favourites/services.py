"""Favourites and share links. Services only flush; routes and the API commit."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from catalog.models import Product
from catalog.services import get_visible_product
from favourites.models import Favourite
from shop.db import statement
from shop.errors import NotFound, ValidationError
from shop.extensions import db
from shop.urls import external_url
from tourism.models import Listing

KINDS = ("product", "listing")


def subject(kind: str, subject_id: int):
    """The product (visible) or listing (published) a favourite or a share link names, else 404."""
    if kind == "product":
        return get_visible_product(subject_id)
    if kind == "listing":
        listing = db.session.get(Listing, subject_id) if 0 < subject_id < 2**63 else None
        if listing is None or not listing.is_published:
            raise NotFound("listing_not_found")
        return listing
    raise ValidationError("favourite_kind_invalid", fields={"kind": "invalid"})


def _column(item):
    return Favourite.product_id if isinstance(item, Product) else Favourite.listing_id


def _query(user, item) -> sa.Select[Favourite]:
    return sa.select(Favourite).where(Favourite.user_id == user.id, _column(item) == item.id)


def _find(user, item) -> Favourite | None:
    return db.session.scalar(_query(user, item))


def is_favourite(user, kind: str, subject_id: int) -> bool:
    """Whether `user` keeps this product or listing (`kind`: product | listing) among their
    favourites, by its id (the subject is not loaded)."""
    column = Favourite.product_id if kind == "product" else Favourite.listing_id
    query = statement(
        ("favourites.is_favourite", column.key),  # built once per process (asked on every signed-in product page)
        lambda: (
            sa.select(sa.literal(True))
            .where(Favourite.user_id == sa.bindparam("user_id"), column == sa.bindparam("subject_id"))
            .limit(1)
        ),
    )
    found = db.session.scalar(query, {"user_id": user.id, "subject_id": subject_id})
    return bool(found)


def add_favourite(user, item, *, now: datetime) -> Favourite:
    """Idempotent: a second add (a double tap, two tabs) keeps the one favourite."""
    existing = _find(user, item)
    if existing is not None:
        return existing
    favourite = Favourite(
        user_id=user.id,
        created_at=now,
        product_id=item.id if isinstance(item, Product) else None,
        listing_id=item.id if isinstance(item, Listing) else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(favourite)
            db.session.flush()
    except sa.exc.IntegrityError:  # the same add committed meanwhile: that one is there now
        return db.session.execute(_query(user, item)).scalar_one()
    return favourite


def remove_favourite(user, item) -> None:
    """Idempotent: removing what is not there changes nothing."""
    db.session.execute(sa.delete(Favourite).where(Favourite.user_id == user.id, _column(item) == item.id))
    db.session.flush()


def favourites_of(user, *, limit: int = 200) -> list[Favourite]:
    """The user's favourites, newest first, whose product or listing is still shown."""
    rows = db.session.scalars(
        sa.select(Favourite)
        .where(Favourite.user_id == user.id)
        .order_by(Favourite.created_at.desc(), Favourite.id.desc())
        .limit(limit)
    )
    return [
        f
        for f in rows
        if (f.product is not None and f.product.is_visible) or (f.listing is not None and f.listing.is_published)
    ]


def share_url(item) -> str:
    """The short public link of a product or listing, on the configured site (shop.urls)."""
    if isinstance(item, Product):
        return external_url("favourites.short_product", product_id=item.id)
    return external_url("favourites.short_listing", listing_id=item.id)
