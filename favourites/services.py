"""Favourites and share links. Services only flush; routes and the API commit.

A favourite is of a product as the buyer sees it, not of one of its variants (规格, docs/catalog.md):
a row keeps the variant that was shown when 收藏 was tapped, and every rule here treats the rows of
one family as one favourite. The heart is filled on every variant's page, adding from another
variant is "already kept" (no second row), removing from any variant removes them all, and the list
shows the product once, as its card does (its face, whichever variant was tapped, even one hidden
since). Adding locks the user's row first (`add_favourite`), so two variants added at the same
instant leave one row; two rows of one family (two products kept apart and grouped into one family
later) are still one favourite."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from catalog.models import Product, ProductFamily
from catalog.services import get_visible_product
from favourites.models import Favourite
from shop.auth.models import User
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


def _rows_of(user, item) -> sa.ColumnElement[bool]:
    """The user's favourite rows of `item`: for a product, those of any of its variants."""
    if isinstance(item, Product):
        return sa.and_(Favourite.user_id == user.id, Favourite.product_id.in_(item.family_ids))
    return sa.and_(Favourite.user_id == user.id, Favourite.listing_id == item.id)


def _find(user, item) -> Favourite | None:
    return db.session.scalars(sa.select(Favourite).where(_rows_of(user, item)).order_by(Favourite.id).limit(1)).first()


def is_favourite(user, kind: str, subject_ids: Sequence[int]) -> bool:
    """Whether `user` keeps this product or listing (`kind`: product | listing) among their
    favourites, by its ids (the subject is not loaded): a listing's id, or the ids of all the
    product's variants (`Product.family_ids`, as the page shows them) — a product is kept when any
    of its variants is, so the heart is filled on every variant's page. Products are not read: a
    signed-in visitor of a cached product page gets the page's shared body (docs/caching.md)."""
    column = Favourite.product_id if kind == "product" else Favourite.listing_id
    query = statement(
        ("favourites.is_favourite", column.key),  # built once per process (asked on every signed-in product page)
        lambda: (
            sa.select(sa.literal(True))
            .where(Favourite.user_id == sa.bindparam("user_id"), column.in_(sa.bindparam("ids", expanding=True)))
            .limit(1)
        ),
    )
    ids = [int(i) for i in subject_ids if 0 < int(i) < 2**63]
    if not ids:
        return False
    return bool(db.session.scalar(query, {"user_id": user.id, "ids": ids}))


def _lock_user_statement() -> sa.Select:
    return sa.select(User.id).where(User.id == sa.bindparam("user_id")).with_for_update()


def add_favourite(user, item, *, now: datetime) -> Favourite:
    """Idempotent: a second add (a double tap, two tabs, another variant of a kept product) keeps
    the one favourite.

    Adds of one user are serialised by a lock on the user's row (held until the caller commits):
    two variants of one product added at the same instant have different `product_id`s, so the
    unique constraint cannot stop the second row; after the lock, the look-up (a statement of its
    own, so under READ COMMITTED it sees an add committed while this one waited) finds the first."""
    db.session.execute(statement("favourites.lock_user", _lock_user_statement), {"user_id": user.id})
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
        found = _find(user, item)
        assert found is not None
        return found
    return favourite


def remove_favourite(user, item) -> None:
    """Idempotent: removing what is not there changes nothing. Removing a product (from any of its
    variants) removes the favourite of every variant."""
    db.session.execute(sa.delete(Favourite).where(_rows_of(user, item)))
    db.session.flush()


@dataclass(frozen=True)
class Kept:
    """One entry of a user's favourites: a listing, or a product as its card shows it (its family's
    face: the first shown variant in picker order, whichever variant was tapped)."""

    kind: str  # product | listing
    item: Product | Listing
    created_at: datetime


def favourites_of(user, *, limit: int = 200) -> list[Kept]:
    """The user's favourites, newest first, whose product or listing is still shown: a product once
    (by its family), even when kept from several variants or when the variant tapped is hidden now."""
    rows = db.session.scalars(
        sa.select(Favourite)
        .where(Favourite.user_id == user.id)
        .order_by(Favourite.created_at.desc(), Favourite.id.desc())
        .limit(limit)
        .options(
            selectinload(Favourite.product).selectinload(Product.family).selectinload(ProductFamily.members),
            selectinload(Favourite.listing),
        )
    )
    kept: list[Kept] = []
    seen: set[int] = set()
    for f in rows:
        if f.listing is not None:
            if f.listing.is_published:
                kept.append(Kept("listing", f.listing, f.created_at))
            continue
        face = f.product.face if f.product is not None else None
        if face is not None and face.id not in seen:
            seen.add(face.id)
            kept.append(Kept("product", face, f.created_at))
    return kept


def share_url(item) -> str:
    """The short public link of a product or listing, on the configured site (shop.urls)."""
    if isinstance(item, Product):
        return external_url("favourites.short_product", product_id=item.id)
    return external_url("favourites.short_listing", listing_id=item.id)
