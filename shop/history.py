"""State machines and their history.

Every status of an order, shipment, payment or booking is an explicit state machine: a `StrEnum`,
a transition table on the model (`TRANSITIONS = {from: {to, ...}}`) and this one `transition()`
function, which refuses illegal moves and records each change with time and actor.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shop.db import fk, pk
from shop.errors import IllegalTransition
from shop.extensions import db


class StatusEvent(db.Model):
    __tablename__ = "status_events"
    __table_args__ = (sa.Index("ix_status_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = pk()
    #: The table name of the subject: 'orders', 'shipments', 'order_payments', 'bookings'.
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[int] = mapped_column(sa.BigInteger)
    from_status: Mapped[str | None] = mapped_column(sa.String(24), nullable=True)
    to_status: Mapped[str] = mapped_column(sa.String(24))
    actor_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="SET NULL")
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    created_at: Mapped[datetime]


def can_transition(obj, to: str) -> bool:
    return to in obj.TRANSITIONS.get(obj.status, ())


def transition(obj, to: str, *, actor=None, now: datetime, note: str = "", field: str = "status") -> StatusEvent:
    """Move `obj` to status `to` or raise `IllegalTransition`; record the change."""
    current = getattr(obj, field)
    if to not in obj.TRANSITIONS.get(current, ()):
        raise IllegalTransition(
            f"Cannot go from '{current}' to '{to}'", fields={"status": str(current)}
        )
    setattr(obj, field, to)
    return record_status(obj, from_status=current, to_status=to, actor=actor, now=now, note=note)


def record_status(obj, *, from_status, to_status, actor=None, now: datetime, note: str = "") -> StatusEvent:
    """Record a status (also the initial one, with from_status=None)."""
    if obj.id is None:
        db.session.flush()
    event = StatusEvent(
        subject_type=obj.__tablename__,
        subject_id=obj.id,
        from_status=from_status,
        to_status=str(to_status),
        actor_id=getattr(actor, "id", None),
        note=note[:255],
        created_at=now,
    )
    db.session.add(event)
    return event


def history_of(obj) -> list[StatusEvent]:
    return list(
        db.session.scalars(
            db.select(StatusEvent)
            .where(StatusEvent.subject_type == obj.__tablename__, StatusEvent.subject_id == obj.id)
            .order_by(StatusEvent.created_at, StatusEvent.id)
        )
    )
