"""Refund requests after delivery: the buyer asks per line, an admin or the line's station decides."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from orders.models import (
    LineStatus,
    Order,
    OrderLine,
    RefundRequest,
    RefundRequestStatus,
    ShipmentStatus,
)
from orders.services.common import lock_order
from orders.services.payments import refund_line
from shop.auth.permissions import can_manage_station
from shop.errors import Conflict, NotFound, ValidationError
from shop.extensions import db
from shop.history import transition


def request_refund(order: Order, line_id: int, *, actor, now: datetime, reason: str) -> RefundRequest:
    """The buyer asks to refund one delivered line."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("refund_reason_required", fields={"reason": "required"})
    order = lock_order(order.id)
    line = db.session.get(OrderLine, line_id)
    if line is None or line.order_id != order.id:
        raise NotFound("order_line_not_found")
    if line.status != LineStatus.OPEN:
        raise Conflict("line_already_refunded")
    if line.shipment is None or line.shipment.status != ShipmentStatus.DELIVERED:
        raise Conflict("not_delivered")
    open_request = db.session.scalar(
        sa.select(RefundRequest.id).where(
            RefundRequest.order_line_id == line.id, RefundRequest.status == RefundRequestStatus.REQUESTED
        )
    )
    if open_request:
        raise Conflict("already_requested")
    req = RefundRequest(
        order_id=order.id,
        order_line_id=line.id,
        station_id=line.station_id,
        amount_fen=line.line_total_fen,
        reason=reason[:200],
        requested_by_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(req)
    db.session.flush()
    return req


def can_decide(user, req: RefundRequest) -> bool:
    return can_manage_station(user, req.station_id)


def pending_requests_for(user) -> list[RefundRequest]:
    query = sa.select(RefundRequest).where(RefundRequest.status == RefundRequestStatus.REQUESTED)
    if getattr(user, "role", None) != "admin":
        query = query.where(RefundRequest.station_id == getattr(user, "station_id", -1))
    return list(db.session.scalars(query.order_by(RefundRequest.id)))


def request_for_decision(req_id: int, user) -> RefundRequest:
    """The refund request `user` may decide; none, or another station's, is the same 404 (as every
    object of another station: its sequential id says nothing)."""
    req = db.session.get(RefundRequest, req_id)
    if req is None or not can_decide(user, req):
        raise NotFound("refund_request_not_found")
    return req


def approve_refund_request(req_id: int, *, actor, now: datetime, note: str = "") -> RefundRequest:
    req = request_for_decision(req_id, actor)
    lock_order(req.order_id)
    req = db.session.scalars(
        sa.select(RefundRequest)
        .where(RefundRequest.id == req_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    transition(req, RefundRequestStatus.APPROVED, actor=actor, now=now, note=note)
    refund = refund_line(req.line, actor=actor, now=now, reason=req.reason)
    req.refund_id = refund.id if refund is not None else None
    req.decided_by_id = actor.id
    req.decided_at = now
    req.decision_note = (note or "")[:200]
    db.session.flush()
    return req


def reject_refund_request(req_id: int, *, actor, now: datetime, note: str = "") -> RefundRequest:
    req = request_for_decision(req_id, actor)
    transition(req, RefundRequestStatus.REJECTED, actor=actor, now=now, note=note)
    req.decided_by_id = actor.id
    req.decided_at = now
    req.decision_note = (note or "")[:200]
    db.session.flush()
    return req
