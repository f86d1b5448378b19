"""API: the caller's favourites (products and listings) and the share link of each."""

from __future__ import annotations

from typing import Literal

from flask import url_for
from pydantic import BaseModel, Field

from catalog.models import Product
from favourites import services
from shop.api import api_user, endpoint, ok
from shop.db import commit
from shop.timeutil import now_utc


class FavouriteOut(BaseModel):
    kind: Literal["product", "listing"]
    id: int = Field(description="the product's or listing's id")
    name: str
    url: str = Field(description="its page on this site")
    share_url: str = Field(description="the short link to share (SITE_URL based)")
    image_url: str | None
    price_fen: int | None = Field(
        description="products only: the lowest price of its shown variants (规格), as its card shows it"
    )
    price_from: bool = Field(
        False, description="products only: true when its variants' prices differ (the card says 起: from)"
    )


class FavouriteList(BaseModel):
    items: list[FavouriteOut]


def _out(item) -> FavouriteOut:
    """A product (the face of its family: `services.favourites_of`) or a listing."""
    image = item.images[0] if item.images else None
    if isinstance(item, Product):
        return FavouriteOut(
            kind="product",
            id=item.id,
            name=item.display_name,
            url=url_for("catalog.product_detail", product_id=item.id, slug=item.slug),
            share_url=services.share_url(item),
            image_url=url_for("catalog.media", filename=image.thumb_path) if image else None,
            price_fen=item.lowest_price_fen,
            price_from=item.prices_differ,
        )
    return FavouriteOut(
        kind="listing",
        id=item.id,
        name=item.name,
        url=url_for("tourism.listing_detail", listing_id=item.id, slug=item.slug),
        share_url=services.share_url(item),
        image_url=url_for("catalog.media", filename=image.thumb_path) if image else None,
        price_fen=None,
    )


def _list(user) -> FavouriteList:
    return FavouriteList(items=[_out(kept.item) for kept in services.favourites_of(user)])


@endpoint("/me/favourites", response=FavouriteList, auth=True, tags=("favourites",))
def my_favourites():
    """The caller's favourites, newest first."""
    return ok(_list(api_user()))


def _add(kind: str, subject_id: int):
    user = api_user()
    services.add_favourite(user, services.subject(kind, subject_id), now=now_utc())
    commit()
    return ok(_list(user))


def _remove(kind: str, subject_id: int):
    user = api_user()
    services.remove_favourite(user, services.subject(kind, subject_id))
    commit()
    return ok(_list(user))


@endpoint(
    "/me/favourites/products/<int:product_id>",
    ("PUT",),
    response=FavouriteList,
    auth=True,
    tags=("favourites",),
    summary="Add a visible product to the caller's favourites (idempotent; any variant of a kept product is kept)",
)
def add_favourite_product(product_id: int):
    return _add("product", product_id)


@endpoint(
    "/me/favourites/products/<int:product_id>",
    ("DELETE",),
    response=FavouriteList,
    auth=True,
    tags=("favourites",),
    summary="Remove a product, kept from any of its variants, from the caller's favourites (idempotent)",
)
def remove_favourite_product(product_id: int):
    return _remove("product", product_id)


@endpoint(
    "/me/favourites/listings/<int:listing_id>",
    ("PUT",),
    response=FavouriteList,
    auth=True,
    tags=("favourites",),
    summary="Add a published listing to the caller's favourites (idempotent)",
)
def add_favourite_listing(listing_id: int):
    return _add("listing", listing_id)


@endpoint(
    "/me/favourites/listings/<int:listing_id>",
    ("DELETE",),
    response=FavouriteList,
    auth=True,
    tags=("favourites",),
    summary="Remove a listing from the caller's favourites (idempotent)",
)
def remove_favourite_listing(listing_id: int):
    return _remove("listing", listing_id)
