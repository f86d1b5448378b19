"""Stations and their stock (two-stage: on hand and allocated, every change a movement).

The bottom domain layer after the kernel: the catalog shows stock, orders allocate from it, the
station workspace receives and corrects it (docs/ARCHITECTURE.md)."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.columns import fk, pk
from shop.extensions import db

station_villages = sa.Table(
    "station_villages",
    db.metadata,
    sa.Column("station_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
              sa.ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("village_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
              sa.ForeignKey("villages.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Station(db.Model):
    """服务站点 (邮政e邮 style), in a village, serving one or more villages."""

    __tablename__ = "stations"
    __table_args__ = (sa.CheckConstraint("commission_bps >= 0 AND commission_bps <= 10000", name="commission_range"),)

    id: Mapped[int] = pk()
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    township_id: Mapped[int] = fk("townships.id")
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    hours: Mapped[str] = mapped_column(sa.String(80), default="")
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    #: The station's share of each line, in basis points; the rest is the producer share.
    commission_bps: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: One of the 10 built under the 2017 plan (else one of the 8 that existed before).
    is_new: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    opened_year: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)

    township = relationship("Township")
    villages = relationship("Village", secondary=station_villages, back_populates="stations", order_by="Village.name")


class StockRecord(db.Model):
    """A product's stock at its station: `on_hand` physically there, `allocated` to unpaid/unshipped orders.

    Only `stock.services` changes these numbers, with guarded atomic UPDATEs.
    """

    __tablename__ = "stock_records"
    __table_args__ = (
        sa.CheckConstraint("on_hand >= 0", name="on_hand_non_negative"),
        sa.CheckConstraint("allocated >= 0", name="allocated_non_negative"),
        sa.CheckConstraint("allocated <= on_hand", name="allocated_within_on_hand"),
    )

    id: Mapped[int] = pk()
    product_id: Mapped[int] = fk("products.id", ondelete="CASCADE", index=False)
    station_id: Mapped[int] = fk("stations.id")
    on_hand: Mapped[int] = mapped_column(sa.Integer, default=0)
    allocated: Mapped[int] = mapped_column(sa.Integer, default=0)
    low_stock_threshold: Mapped[int] = mapped_column(sa.Integer, default=5)

    product = relationship("Product", back_populates="stock")

    __table_args__ = __table_args__ + (sa.UniqueConstraint("product_id", name="uq_stock_records_product_id"),)

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated


class MovementKind(StrEnum):
    RECEIVE = "receive"  # goods in from a household or producer (the traceability record)
    CORRECT = "correct"  # count corrected, with a reason
    CONSUME = "consume"  # handed over to a buyer (shipped or picked up)


class StockMovement(db.Model):
    """Every change of `on_hand`, signed. The sum of a record's movements equals its `on_hand`."""

    __tablename__ = "stock_movements"
    __table_args__ = (sa.CheckConstraint("kind IN ('receive','correct','consume')", name="kind_valid"),)

    id: Mapped[int] = pk()
    stock_record_id: Mapped[int] = fk("stock_records.id", ondelete="CASCADE")
    kind: Mapped[str] = mapped_column(sa.String(16))
    quantity: Mapped[int] = mapped_column(sa.Integer)
    #: For receipts: lot or harvest note and date (behind the product's traceability code).
    lot_note: Mapped[str] = mapped_column(sa.String(200), default="")
    harvest_date: Mapped[date | None]
    from_household_id: Mapped[int | None] = fk("households.id", nullable=True)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    order_line_id: Mapped[int | None] = fk("order_lines.id", nullable=True, ondelete="SET NULL")
    actor_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime]
