"""Stations and their stock (two-stage: on hand and allocated, every change a movement)."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import fk, pk
from shop.extensions import db
from shop.schema import append_only, register_postgres_ddl

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

    Only `stations.services.stock` changes these numbers, with guarded atomic UPDATEs.
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


# --- the cash book (docs/MONEY.md) ------------------------------------------------------------------


class CashKind(StrEnum):
    STATION_CASH = "station_cash"  # pay-at-station cash taken at the counter (positive)
    COD = "cod"  # cash on delivery collected (positive)
    REFUND = "refund"  # cash refund paid out to a buyer (negative; names its Refund row)
    REMITTANCE = "remittance"  # cash handed over to the platform (negative)
    CORRECTION = "correction"  # an error put right, with its reason (signed)
    CLOSE_DIFFERENCE = "close_difference"  # counted minus expected at the daily close (signed)


@append_only
class CashEntry(db.Model):
    """One cash event at a station's till. Append-only; a station's cash is a SUM over its entries.

    `business_date` is the Beijing day whose book holds the entry: the day it happened, or the next
    day not yet closed when that day's book is already closed (a closed day never changes).
    """

    __tablename__ = "cash_entries"
    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('station_cash','cod','refund','remittance','correction','close_difference')",
            name="kind_valid",
        ),
        sa.CheckConstraint(
            "(kind IN ('station_cash','cod') AND amount_fen > 0)"
            " OR (kind IN ('refund','remittance') AND amount_fen < 0)"
            " OR (kind IN ('correction','close_difference') AND amount_fen <> 0)",
            name="amount_sign",
        ),
        sa.CheckConstraint("kind <> 'refund' OR refund_id IS NOT NULL", name="refund_named"),
        sa.UniqueConstraint("refund_id", name="uq_cash_entries_refund_id"),  # a refund is paid out once
        sa.Index("ix_cash_entries_station_date", "station_id", "business_date"),
        #: a shipment's cash is taken once
        sa.Index("uq_cash_entries_shipment_taken", "shipment_id", unique=True,
                 postgresql_where=sa.text("kind IN ('station_cash','cod')"),
                 sqlite_where=sa.text("kind IN ('station_cash','cod')")),
    )

    id: Mapped[int] = pk()
    station_id: Mapped[int] = fk("stations.id", index=False)
    business_date: Mapped[date]
    kind: Mapped[str] = mapped_column(sa.String(20))
    #: Signed: cash into the till positive, out of it negative.
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    order_id: Mapped[int | None] = fk("orders.id", nullable=True)
    shipment_id: Mapped[int | None] = fk("shipments.id", nullable=True)
    refund_id: Mapped[int | None] = fk("refunds.id", nullable=True, index=False)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    actor_id: Mapped[int | None] = fk("users.id", nullable=True)
    created_at: Mapped[datetime]

    actor = relationship("User")
    shipment = relationship("Shipment")


@append_only
class CashClose(db.Model):
    """The daily close (日结) of a station's cash book: once written, that day's book never changes."""

    __tablename__ = "cash_closes"
    __table_args__ = (sa.UniqueConstraint("station_id", "business_date", name="uq_cash_closes_station_date"),)

    id: Mapped[int] = pk()
    station_id: Mapped[int] = fk("stations.id", index=False)
    business_date: Mapped[date]
    #: The till's balance from the book at the close (every entry up to and including the day).
    expected_fen: Mapped[int] = mapped_column(sa.BigInteger)
    counted_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: counted - expected; when not zero a `close_difference` entry of this amount is in the day's book.
    difference_fen: Mapped[int] = mapped_column(sa.BigInteger)
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    actor_id: Mapped[int | None] = fk("users.id", nullable=True)
    created_at: Mapped[datetime]

    actor = relationship("User")


#: PostgreSQL: no entry can be written into a day that is closed, even by raw SQL (the service
#: refuses it first, with a clear message; `stations.services.cash`).
CASH_DAY_CLOSED_DDL = (
    "cash_entries_closed_day",
    """
CREATE OR REPLACE FUNCTION cash_entries_closed_day() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM cash_closes WHERE station_id = NEW.station_id
               AND business_date = NEW.business_date) THEN
        RAISE EXCEPTION 'cash book of station % is closed for %', NEW.station_id, NEW.business_date
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS cash_entries_closed_day ON cash_entries;
CREATE TRIGGER cash_entries_closed_day BEFORE INSERT ON cash_entries
    FOR EACH ROW EXECUTE FUNCTION cash_entries_closed_day();
""",
    """
DROP TRIGGER IF EXISTS cash_entries_closed_day ON cash_entries;
DROP FUNCTION IF EXISTS cash_entries_closed_day();
""",
)
register_postgres_ddl(*CASH_DAY_CLOSED_DDL)
