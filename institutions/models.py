"""Organisations that buy for their staff or canteens (消费帮扶), and their members."""
from __future__ import annotations

from datetime import datetime
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

    members = relationship("OrganisationMember", back_populates="organisation", order_by="OrganisationMember.id",
                           cascade="all, delete-orphan")


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
