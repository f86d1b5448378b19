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
    sa.Column(
        "station_id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.ForeignKey("stations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "village_id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.ForeignKey("villages.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
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
    RECEIVE = "receive"  # goods in from a household or producer: a new lot (the traceability record)
    CORRECT = "correct"  # count corrected, with a reason
    CONSUME = "consume"  # handed over to a buyer (shipped or picked up)
    BLOCK = "block"  # a lot's unsold units taken out of the sellable stock (recalled or expired)
    RETURN = "return"  # a buyer's goods back, sellable, into the lot they were sold from (退货入库)


class LotStatus(StrEnum):
    ACTIVE = "active"  # sellable (while its best-before date has not passed)
    EXPIRED = "expired"  # best-before passed: its unsold units are blocked
    RECALLED = "recalled"  # recalled by the county: its unsold units are blocked, nothing more leaves


class Lot(db.Model):
    """一批: one stock intake of a product at its station, with its origin and dates (#23).

    `on_hand` and `allocated` mirror the stock record's numbers lot by lot: the sum of a record's
    lots' `on_hand` (`allocated`) always equals the record's `on_hand` (`allocated`). `blocked`
    counts the units taken out of the sellable stock when the lot expired or was recalled (they are
    no longer on hand for sale; a `block` movement names them). `code` is the public trace code
    (`/trace/<code>`). Only `stock.services` changes the numbers, with guarded UPDATEs,
    always after locking the lot's stock record (the one lock order).
    """

    __tablename__ = "lots"
    __table_args__ = (
        sa.CheckConstraint("on_hand >= 0", name="on_hand_non_negative"),
        sa.CheckConstraint("allocated >= 0", name="allocated_non_negative"),
        sa.CheckConstraint("allocated <= on_hand", name="allocated_within_on_hand"),
        sa.CheckConstraint("blocked >= 0", name="blocked_non_negative"),
        sa.CheckConstraint("status IN ('active','expired','recalled')", name="status_valid"),
        sa.CheckConstraint(
            "best_before_date IS NULL OR harvest_date IS NULL OR best_before_date >= harvest_date",
            name="best_before_after_harvest",
        ),
        # bought at intake from a household (订单收购): a positive price and the household it came from
        sa.CheckConstraint(
            "purchase_price_fen IS NULL OR (purchase_price_fen > 0 AND household_id IS NOT NULL)",
            name="purchase_from_household",
        ),
        sa.Index("ix_lots_record_fefo", "stock_record_id", "status", "best_before_date"),
    )

    id: Mapped[int] = pk()
    #: Public trace code, printed as a QR code on the packing slip and the parcel label.
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    stock_record_id: Mapped[int] = fk("stock_records.id", ondelete="CASCADE", index=False)
    product_id: Mapped[int] = fk("products.id", ondelete="CASCADE")
    station_id: Mapped[int] = fk("stations.id", index=False)
    received_quantity: Mapped[int] = mapped_column(sa.Integer)
    on_hand: Mapped[int] = mapped_column(sa.Integer, default=0)
    allocated: Mapped[int] = mapped_column(sa.Integer, default=0)
    blocked: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Harvest (fresh goods) or production (processed goods) date.
    harvest_date: Mapped[date | None]
    #: Best before / use by; None where it does not apply (e.g. rice in sealed bags is still dated).
    best_before_date: Mapped[date | None]
    household_id: Mapped[int | None] = fk("households.id", nullable=True)
    producer_id: Mapped[int | None] = fk("producers.id", nullable=True)
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    #: 收购单价: set when the station (or cooperative) bought the lot from `household_id` at intake at an
    #: agreed or guaranteed price (订单收购/保底价) — the household is credited `purchase` then, and the
    #: lot's units credit no household when they are sold. None: consignment (代销), credited at sale.
    purchase_price_fen: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(sa.String(12), default=LotStatus.ACTIVE)
    recall_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    recalled_at: Mapped[datetime | None]
    recalled_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL", index=False)
    actor_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL", index=False)
    received_at: Mapped[datetime]

    product = relationship("Product")
    station = relationship("Station")
    producer = relationship("Producer")
    #: who recalled it: the county office, or an operator of its station (shown on the county's list)
    recalled_by = relationship("User", foreign_keys=[recalled_by_id])

    @property
    def free(self) -> int:
        return self.on_hand - self.allocated

    @property
    def purchased(self) -> bool:
        return self.purchase_price_fen is not None

    def sellable_on(self, day: date) -> bool:
        return self.status == LotStatus.ACTIVE and (self.best_before_date is None or self.best_before_date >= day)


class LotAllocation(db.Model):
    """Which lot an order line took: `allocated` units still reserved in the lot, `consumed` handed over."""

    __tablename__ = "lot_allocations"
    __table_args__ = (
        sa.UniqueConstraint("order_line_id", "lot_id", name="uq_lot_allocations_line_lot"),
        sa.CheckConstraint("allocated >= 0", name="allocated_non_negative"),
        sa.CheckConstraint("consumed >= 0", name="consumed_non_negative"),
    )

    id: Mapped[int] = pk()
    order_line_id: Mapped[int] = fk("order_lines.id", ondelete="CASCADE", index=False)
    lot_id: Mapped[int] = fk("lots.id", ondelete="CASCADE")
    allocated: Mapped[int] = mapped_column(sa.Integer, default=0)
    consumed: Mapped[int] = mapped_column(sa.Integer, default=0)

    lot = relationship(Lot)


class StockMovement(db.Model):
    """Every change of `on_hand`, signed. The sum of a record's movements equals its `on_hand`, and
    the sum of a lot's movements its `on_hand`."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('receive','correct','consume','block','return')", name="kind_valid"),
    )

    id: Mapped[int] = pk()
    stock_record_id: Mapped[int] = fk("stock_records.id", ondelete="CASCADE")
    #: The lot whose units moved (None only for movements older than lots that no lot took over).
    lot_id: Mapped[int | None] = fk("lots.id", nullable=True, ondelete="SET NULL")
    kind: Mapped[str] = mapped_column(sa.String(16))
    quantity: Mapped[int] = mapped_column(sa.Integer)
    #: For receipts: lot or harvest note and date (behind the product's traceability code).
    lot_note: Mapped[str] = mapped_column(sa.String(200), default="")
    harvest_date: Mapped[date | None]
    from_household_id: Mapped[int | None] = fk("households.id", nullable=True)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    order_line_id: Mapped[int | None] = fk("order_lines.id", nullable=True, ondelete="SET NULL")
    #: For returns: the buyer's refund request whose approval took the goods back (`return_to_stock`).
    refund_request_id: Mapped[int | None] = fk("refund_requests.id", nullable=True, ondelete="SET NULL")
    actor_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime]
