"""A review of one order line (a product delivered, or a stay/experience/ticket completed), its photos."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.columns import fk, pk
from shop.extensions import db

MAX_PHOTOS = 3
MAX_BODY = 500
MAX_REPLY = 300
#: A county officer's reason for hiding a review (audited), in characters.
MAX_HIDE_REASON = 200


class Review(db.Model):
    __tablename__ = "reviews"
    __table_args__ = (
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        sa.CheckConstraint("(product_id IS NULL) <> (listing_id IS NULL)", name="one_subject"),
    )

    id: Mapped[int] = pk()
    #: One review per order line (a booking is sold through its order line).
    order_line_id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.ForeignKey("order_lines.id", ondelete="CASCADE"),
        unique=True,
    )
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    #: What is reviewed: a product, or a listing (exactly one).
    product_id: Mapped[int | None] = fk("products.id", nullable=True, ondelete="CASCADE")
    listing_id: Mapped[int | None] = fk("listings.id", nullable=True, ondelete="CASCADE")
    #: Who may reply for a product: the line's station (snapshot of the sale).
    station_id: Mapped[int | None] = fk("stations.id", nullable=True, ondelete="SET NULL")
    rating: Mapped[int] = mapped_column(sa.SmallInteger)
    body: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]
    reply_body: Mapped[str] = mapped_column(sa.Text, default="")
    reply_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    replied_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]
    hidden_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    hidden_reason: Mapped[str] = mapped_column(sa.String(200), default="")

    user = relationship("User", foreign_keys=[user_id])
    product = relationship("Product")
    listing = relationship("Listing")
    line = relationship("OrderLine")
    photos = relationship("ReviewPhoto", order_by="ReviewPhoto.position", cascade="all, delete-orphan")

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def masked_author(self) -> str:
        """The writer as every list shows them: the first character of the account's name and `**`
        (王小明 is 王**), `***` for an account without a name (docs/catalog.md, "Reviews")."""
        name = (self.user.name or "").strip() if self.user is not None else ""
        return (name[:1] or "*") + "**"


class ReviewPhoto(db.Model):
    """A buyer's photo, checked and re-encoded like product photos (docs/uploads.md)."""

    __tablename__ = "review_photos"

    id: Mapped[int] = pk()
    review_id: Mapped[int] = fk("reviews.id", ondelete="CASCADE")
    path: Mapped[str] = mapped_column(sa.String(255))
    thumb_path: Mapped[str] = mapped_column(sa.String(255))
    width: Mapped[int] = mapped_column(sa.Integer, default=0)
    height: Mapped[int] = mapped_column(sa.Integer, default=0)
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
