"""The audit log: who did what to which record, when. Append-only.

Used for reveals of household personal data, benefit-link changes, approvals and the like.
Status changes of orders, shipments, payments and bookings go to `shop.history` instead.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shop.columns import fk, pk
from shop.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = pk()
    actor_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    #: A dotted verb: 'household.reveal', 'benefit_link.update', 'product.approve', ...
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[int] = mapped_column(sa.BigInteger)
    #: What was touched (field names, old/new values that are not personal data).
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime]


def record_audit(*, actor, action: str, subject, detail: dict | None = None, now: datetime) -> AuditEntry:
    """Append one audit entry (flushes; the caller commits)."""
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        action=action,
        subject_type=subject.__tablename__,
        subject_id=subject.id,
        detail=detail or {},
        created_at=now,
    )
    db.session.add(entry)
    db.session.flush()
    return entry
