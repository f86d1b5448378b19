"""A user's favourite product or listing."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, relationship

from shop.columns import fk, pk
from shop.extensions import db


class Favourite(db.Model):
    __tablename__ = "favourites"
    __table_args__ = (
        sa.CheckConstraint("(product_id IS NULL) <> (listing_id IS NULL)", name="one_subject"),
        sa.UniqueConstraint("user_id", "product_id", name="uq_favourites_user_product"),
        sa.UniqueConstraint("user_id", "listing_id", name="uq_favourites_user_listing"),
    )

    id: Mapped[int] = pk()
    #: Indexed by the unique constraints (their leading column).
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE", index=False)
    product_id: Mapped[int | None] = fk("products.id", nullable=True, ondelete="CASCADE")
    listing_id: Mapped[int | None] = fk("listings.id", nullable=True, ondelete="CASCADE")
    created_at: Mapped[datetime]

    product = relationship("Product")
    listing = relationship("Listing")
