"""Invoices (发票, #22): a buyer asks for one per order or per period; the selling station issues it outside
the system and records its number, date, amount and file; a refund after invoicing asks for a red
invoice (红字发票), recorded by the station against the original."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.columns import fk, pk
from shop.extensions import db


class InvoiceKind(StrEnum):
    ORDINARY = "ordinary"  # 增值税普通发票
    SPECIAL = "special"  # 增值税专用发票


class InvoiceStatus(StrEnum):
    """What is stored. Pages and API read a request through `invoices.services.invoices.invoice_state`:
    one whose station's part was refunded or canceled in full shows "not_needed" (无需开票), computed."""

    REQUESTED = "requested"  # 待开票
    ISSUED = "issued"  # the station recorded the invoice it issued


class InvoiceScope(StrEnum):
    ORDER = "order"  # one order (the station's part of it)
    PERIOD = "period"  # the buyer's (or organisation's) paid orders of a period from one station


class Invoice(db.Model):
    """A request for an invoice from one station and, once issued, the invoice itself.

    A red invoice (红字发票) is an issued row with a negative amount and `red_of_id` naming the blue
    invoice it reverses. Amounts are spread over the orders it covers (`InvoiceOrder.amount_fen`), so
    what is invoiced per order is a sum of rows and never more than the order's money received."""

    __tablename__ = "invoices"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('ordinary','special')", name="kind_valid"),
        sa.CheckConstraint("status IN ('requested','issued')", name="status_valid"),
        sa.CheckConstraint("scope IN ('order','period')", name="scope_valid"),
        sa.CheckConstraint(
            "(red_of_id IS NULL AND (amount_fen IS NULL OR amount_fen > 0))"
            " OR (red_of_id IS NOT NULL AND amount_fen < 0)",
            name="amount_sign",
        ),
        sa.CheckConstraint(
            "status <> 'issued' OR (number IS NOT NULL AND amount_fen IS NOT NULL)", name="issued_has_number"
        ),
        sa.UniqueConstraint("number", name="uq_invoices_number"),
    )
    TRANSITIONS = {InvoiceStatus.REQUESTED: {InvoiceStatus.ISSUED}}

    id: Mapped[int] = pk()
    #: The station that sold the goods and issues the invoice.
    station_id: Mapped[int] = fk("stations.id", ondelete="RESTRICT")
    requested_by_id: Mapped[int] = fk("users.id", ondelete="RESTRICT")
    #: The organisation whose purchase orders it covers (its members with rights see it), or None.
    organisation_id: Mapped[int | None] = fk("organisations.id", nullable=True, ondelete="RESTRICT")
    scope: Mapped[str] = mapped_column(sa.String(8), default=InvoiceScope.ORDER)
    period_from: Mapped[date | None] = mapped_column(nullable=True)
    period_to: Mapped[date | None] = mapped_column(nullable=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[str] = mapped_column(sa.String(12), default=InvoiceStatus.REQUESTED)
    title: Mapped[str] = mapped_column(sa.String(100))  # 抬头
    tax_number: Mapped[str] = mapped_column(sa.String(20), default="")  # 税号
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    bank: Mapped[str] = mapped_column(sa.String(100), default="")
    account: Mapped[str] = mapped_column(sa.String(40), default="")
    #: What the station recorded: the invoice's number, date and amount (negative for a red invoice).
    number: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    issued_on: Mapped[date | None] = mapped_column(nullable=True)
    amount_fen: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    #: The uploaded file under UPLOAD_DIR ("invoices/<id>/<token>.pdf"), "" when none, and its format.
    file_path: Mapped[str] = mapped_column(sa.String(200), default="")
    file_format: Mapped[str] = mapped_column(sa.String(4), default="")
    issued_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    issued_at: Mapped[datetime | None] = mapped_column(nullable=True)
    red_of_id: Mapped[int | None] = fk("invoices.id", nullable=True, ondelete="RESTRICT")
    created_at: Mapped[datetime]

    station = relationship("Station")
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    organisation = relationship("Organisation")
    red_of = relationship("Invoice", remote_side=[id], foreign_keys=[red_of_id])
    orders = relationship(
        "InvoiceOrder", back_populates="invoice", order_by="InvoiceOrder.order_id", cascade="all, delete-orphan"
    )


class InvoiceOrder(db.Model):
    """An order an invoice covers and the part of the invoice's amount that is the order's (0 until issued)."""

    __tablename__ = "invoice_orders"
    __table_args__ = (sa.UniqueConstraint("invoice_id", "order_id", name="uq_invoice_orders_invoice_order"),)

    id: Mapped[int] = pk()
    #: Indexed by the unique constraint (its leading column).
    invoice_id: Mapped[int] = fk("invoices.id", ondelete="CASCADE", index=False)
    order_id: Mapped[int] = fk("orders.id", ondelete="RESTRICT")
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    invoice = relationship("Invoice", back_populates="orders")
    order = relationship("Order")
