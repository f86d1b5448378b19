"""Organisations that buy for their staff or canteens (消费帮扶), and their members."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.columns import fk, pk
from shop.extensions import db


class OrganisationKind(StrEnum):
    BUDGET_UNIT = "budget_unit"  # 预算单位: government offices, schools, hospitals
    UNION = "union"  # 工会
    COMPANY = "company"  # 企业
    OTHER = "other"  # 其他


class OrganisationStatus(StrEnum):
    PENDING = "pending"  # registered, waiting for the county office
    APPROVED = "approved"
    REJECTED = "rejected"


class MemberRole(StrEnum):
    BUYER = "buyer"  # builds and submits purchases
    APPROVER = "approver"  # finance: approves or rejects a purchase before it is placed
    VIEWER = "viewer"  # reads the organisation's purchases


class Organisation(db.Model):
    __tablename__ = "organisations"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('budget_unit','union','company','other')", name="kind_valid"),
        sa.CheckConstraint("status IN ('pending','approved','rejected')", name="status_valid"),
    )
    TRANSITIONS = {
        OrganisationStatus.PENDING: {OrganisationStatus.APPROVED, OrganisationStatus.REJECTED},
        OrganisationStatus.REJECTED: {OrganisationStatus.PENDING},  # corrected by its manager, submitted again
    }

    id: Mapped[int] = pk()
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))
    #: 统一社会信用代码, normalised (upper case, no spaces), check character verified (institutions.creditcode).
    credit_code: Mapped[str] = mapped_column(sa.String(18), unique=True)
    address: Mapped[str] = mapped_column(sa.String(200))
    contact_name: Mapped[str] = mapped_column(sa.String(40))
    contact_phone: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(16), default=OrganisationStatus.PENDING)
    #: Why the county office refused it (empty otherwise).
    decision_reason: Mapped[str] = mapped_column(sa.String(400), default="")
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    registered_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime]

    members = relationship(
        "OrganisationMember",
        back_populates="organisation",
        order_by="OrganisationMember.id",
        cascade="all, delete-orphan",
    )


class OrganisationMember(db.Model):
    __tablename__ = "organisation_members"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "user_id", name="uq_organisation_members_organisation_user"),
        sa.CheckConstraint("role IN ('buyer','approver','viewer')", name="role_valid"),
    )

    id: Mapped[int] = pk()
    #: Indexed by the unique constraint (its leading column).
    organisation_id: Mapped[int] = fk("organisations.id", ondelete="CASCADE", index=False)
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    role: Mapped[str] = mapped_column(sa.String(16))
    #: May add members (the account that registered the organisation).
    is_manager: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime]

    organisation = relationship("Organisation", back_populates="members")
    user = relationship("User")


class PurchaseStatus(StrEnum):
    DRAFT = "draft"  # the buyer is building it
    SUBMITTED = "submitted"  # waiting for an approver of the organisation
    APPROVED = "approved"  # approved by a second person and placed as orders (one transaction)
    REJECTED = "rejected"  # the approver sent it back, with a reason; a draft again once its buyer changes it


class Purchase(db.Model):
    """A bulk purchase of an organisation: products and quantities per delivery address (a canteen per
    campus), or all picked up at one station, for a requested date."""

    __tablename__ = "purchases"
    __table_args__ = (
        sa.CheckConstraint("status IN ('draft','submitted','approved','rejected')", name="status_valid"),
        sa.CheckConstraint("delivery IN ('ship','pickup')", name="delivery_valid"),
        sa.CheckConstraint("delivery <> 'pickup' OR pickup_station_id IS NOT NULL", name="pickup_has_station"),
    )
    TRANSITIONS = {
        PurchaseStatus.DRAFT: {PurchaseStatus.SUBMITTED},
        PurchaseStatus.SUBMITTED: {PurchaseStatus.APPROVED, PurchaseStatus.REJECTED},
        PurchaseStatus.REJECTED: {PurchaseStatus.DRAFT},  # sent back: its buyer changes it and submits again
    }

    id: Mapped[int] = pk()
    organisation_id: Mapped[int] = fk("organisations.id", ondelete="RESTRICT")
    #: The buyer who built it; never the one who approves it.
    created_by_id: Mapped[int] = fk("users.id", ondelete="RESTRICT")
    status: Mapped[str] = mapped_column(sa.String(16), default=PurchaseStatus.DRAFT)
    delivery: Mapped[str] = mapped_column(sa.String(8))
    pickup_station_id: Mapped[int | None] = fk("stations.id", nullable=True, ondelete="RESTRICT")
    requested_date: Mapped[date]
    #: How the placed orders are paid (orders.models.PaymentMethod; the placement's rules apply).
    payment_method: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    submitted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    decision_reason: Mapped[str] = mapped_column(sa.String(400), default="")
    created_at: Mapped[datetime]

    organisation = relationship("Organisation")
    created_by = relationship("User", foreign_keys=[created_by_id])
    pickup_station = relationship("Station")
    destinations = relationship(
        "PurchaseDestination",
        back_populates="purchase",
        order_by="PurchaseDestination.id",
        cascade="all, delete-orphan",
    )
    lines = relationship(
        "PurchaseLine", back_populates="purchase", order_by="PurchaseLine.id", cascade="all, delete-orphan"
    )
    orders = relationship("PurchaseOrder", back_populates="purchase", order_by="PurchaseOrder.id")


class PurchaseDestination(db.Model):
    """One delivery address of a purchase (placed as one order)."""

    __tablename__ = "purchase_destinations"

    id: Mapped[int] = pk()
    purchase_id: Mapped[int] = fk("purchases.id", ondelete="CASCADE")
    label: Mapped[str] = mapped_column(sa.String(40))  # 东校区食堂
    name: Mapped[str] = mapped_column(sa.String(40))
    phone: Mapped[str] = mapped_column(sa.String(20))
    province: Mapped[str] = mapped_column(sa.String(20))
    city: Mapped[str] = mapped_column(sa.String(20))
    district: Mapped[str] = mapped_column(sa.String(20))
    line: Mapped[str] = mapped_column(sa.String(200))

    purchase = relationship("Purchase", back_populates="destinations")


class PurchaseLine(db.Model):
    __tablename__ = "purchase_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_price_fen IS NULL OR unit_price_fen > 0", name="unit_price_positive"),
        sa.CheckConstraint("(quote_request_id IS NULL) = (unit_price_fen IS NULL)", name="quoted_price_with_quote"),
        #: a quote becomes one line, once
        sa.UniqueConstraint("quote_request_id", name="uq_purchase_lines_quote_request_id"),
    )

    id: Mapped[int] = pk()
    purchase_id: Mapped[int] = fk("purchases.id", ondelete="CASCADE")
    #: Where it goes; None when the purchase is picked up at its station.
    destination_id: Mapped[int | None] = fk("purchase_destinations.id", nullable=True, ondelete="CASCADE")
    product_id: Mapped[int] = fk("products.id", ondelete="RESTRICT")
    quantity: Mapped[int] = mapped_column(sa.Integer)
    #: A line accepted from a station's answer to a quote request: the quoted unit price, held through
    #: approval and placement (the catalogue price otherwise, None here). Copied from the answer by the
    #: server, never from a client.
    unit_price_fen: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    quote_request_id: Mapped[int | None] = fk("quote_requests.id", nullable=True, ondelete="RESTRICT", index=False)

    purchase = relationship("Purchase", back_populates="lines")
    destination = relationship("PurchaseDestination")
    product = relationship("Product")
    quote_request = relationship("QuoteRequest")


class QuoteStatus(StrEnum):
    OPEN = "open"  # sent to the station, waiting for its answer
    ANSWERED = "answered"  # the station answered: the buyer may accept it until `valid_until`
    ACCEPTED = "accepted"  # it became a line of a draft purchase, at the quoted price
    DECLINED = "declined"  # the station cannot supply it (with its reason)


class QuoteRequest(db.Model):
    """询价: when stock is short, a buyer of an organisation asks the station selling a product for a
    quantity by a date; the station answers with the quantity it can supply, a unit price, a lead time
    and how long the answer is valid; the buyer accepts it into a draft purchase."""

    __tablename__ = "quote_requests"
    __table_args__ = (
        sa.CheckConstraint("status IN ('open','answered','accepted','declined')", name="status_valid"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint(
            "status IN ('open','declined') OR (answered_quantity > 0 AND unit_price_fen > 0"
            " AND lead_days >= 0 AND valid_until IS NOT NULL)",
            name="answer_complete",
        ),
        sa.Index("ix_quote_requests_station_status", "station_id", "status"),
    )
    TRANSITIONS = {
        QuoteStatus.OPEN: {QuoteStatus.ANSWERED, QuoteStatus.DECLINED},
        QuoteStatus.ANSWERED: {QuoteStatus.ACCEPTED},
        #: the draft purchase it was accepted into was deleted (institutions.services.purchases.delete_purchase)
        QuoteStatus.ACCEPTED: {QuoteStatus.ANSWERED},
    }

    id: Mapped[int] = pk()
    organisation_id: Mapped[int] = fk("organisations.id", ondelete="RESTRICT")
    created_by_id: Mapped[int] = fk("users.id", ondelete="RESTRICT")
    #: The station that sells the product (the one the request is addressed to). Indexed by
    #: ix_quote_requests_station_status (its leading column).
    station_id: Mapped[int] = fk("stations.id", ondelete="RESTRICT", index=False)
    product_id: Mapped[int] = fk("products.id", ondelete="RESTRICT")
    quantity: Mapped[int] = mapped_column(sa.Integer)
    needed_by: Mapped[date]
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[str] = mapped_column(sa.String(12), default=QuoteStatus.OPEN)
    # --- the station's answer ---
    answered_quantity: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    unit_price_fen: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    lead_days: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    #: The last day (Beijing) the answer may be accepted.
    valid_until: Mapped[date | None] = mapped_column(nullable=True)
    answer_note: Mapped[str] = mapped_column(sa.String(200), default="")
    answered_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    answered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]

    organisation = relationship("Organisation")
    created_by = relationship("User", foreign_keys=[created_by_id])
    station = relationship("Station")
    product = relationship("Product")


class PurchaseOrder(db.Model):
    """An order placed for an approved purchase (one per destination, or one for a pick-up)."""

    __tablename__ = "purchase_orders"

    id: Mapped[int] = pk()
    purchase_id: Mapped[int] = fk("purchases.id", ondelete="RESTRICT")
    order_id: Mapped[int] = fk("orders.id", ondelete="RESTRICT", index=False)
    destination_id: Mapped[int | None] = fk("purchase_destinations.id", nullable=True, ondelete="RESTRICT")

    purchase = relationship("Purchase", back_populates="orders")
    order = relationship("Order")

    __table_args__ = (sa.UniqueConstraint("order_id", name="uq_purchase_orders_order_id"),)


class OrganisationBudget(db.Model):
    """An organisation's food procurement budget for a year and the share of it reserved for products of
    the lifted-out areas (预留份额), in basis points (3000 = 30 %)."""

    __tablename__ = "organisation_budgets"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "year", name="uq_organisation_budgets_organisation_year"),
        sa.CheckConstraint("budget_fen >= 0", name="budget_not_negative"),
        sa.CheckConstraint("reserved_bps BETWEEN 0 AND 10000", name="reserved_bps_range"),
    )

    id: Mapped[int] = pk()
    #: Indexed by the unique constraint (its leading column).
    organisation_id: Mapped[int] = fk("organisations.id", ondelete="CASCADE", index=False)
    year: Mapped[int] = mapped_column(sa.Integer)
    budget_fen: Mapped[int] = mapped_column(sa.BigInteger)
    reserved_bps: Mapped[int] = mapped_column(sa.Integer)
    updated_by_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    updated_at: Mapped[datetime]
