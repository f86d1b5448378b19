"""Refund requests after delivery: the buyer asks per line, an admin or the line's station decides.

Approving says what happened to the goods (仅退款 / 退货退款, `RefundGoods`): not returned (stock
unchanged), returned and sellable (N units back into the lots the line was sold from, through
`stock.services.return_to_stock`), or returned but not sellable (no stock change, recorded). The
money side is `orders.services.payments.refund_line`; both happen in the one transaction, once: a
decided request is refused the second time (`refund_request_decided`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from orders.models import (
    LineStatus,
    Order,
    OrderLine,
    Refund,
    RefundGoods,
    RefundRequest,
    RefundRequestStatus,
    ShipmentStatus,
)
from orders.services.common import lock_order, notify
from orders.services.payments import refund_line
from shop.args import parse_int
from shop.auth.permissions import can_manage_station
from shop.errors import Conflict, NotFound, ValidationError
from shop.extensions import db
from shop.history import transition
from stock.models import LotAllocation
from stock.services import Restocked, return_to_stock, units_not_returned

#: How many decided requests the station's page lists under the pending ones.
DECIDED_SHOWN = 20


@dataclass(frozen=True)
class GoodsDecision:
    """What the station says happened to the goods, checked (`check_goods`)."""

    goods: RefundGoods
    #: Units back into stock (only for `restocked`).
    quantity: int | None = None


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


def _listed(query: sa.Select) -> list[RefundRequest]:
    """The requests of `query` with what a list of them shows — each one's order and its shipments, its
    line and the line's shipment, the refund it sent — loaded in a few statements whatever their number."""
    return list(
        db.session.scalars(
            query.options(
                selectinload(RefundRequest.order).selectinload(Order.shipments),
                selectinload(RefundRequest.line).selectinload(OrderLine.shipment),
                selectinload(RefundRequest.refund),
            )
        )
    )


def pending_requests_for(user) -> list[RefundRequest]:
    query = sa.select(RefundRequest).where(RefundRequest.status == RefundRequestStatus.REQUESTED)
    if getattr(user, "role", None) != "admin":
        query = query.where(RefundRequest.station_id == getattr(user, "station_id", -1))
    return _listed(query.order_by(RefundRequest.id))


def request_for_decision(req_id: int, user) -> RefundRequest:
    """The refund request `user` may decide; none, or another station's, is the same 404 (as every
    object of another station: its sequential id says nothing)."""
    req = db.session.get(RefundRequest, req_id)
    if req is None or not can_decide(user, req):
        raise NotFound("refund_request_not_found")
    return req


def _locked_for_decision(req_id: int, user) -> RefundRequest:
    """`request_for_decision`, then locked and read again after its order (the order's lock first, as
    every change of an order's money takes them), so two decisions of one request take turns."""
    req = request_for_decision(req_id, user)
    lock_order(req.order_id)
    return db.session.scalars(
        sa.select(RefundRequest)
        .where(RefundRequest.id == req_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def decided_requests_for(user, *, limit: int = DECIDED_SHOWN) -> list[RefundRequest]:
    """The latest decided requests `user` may see (the station's page lists them with what happened)."""
    query = sa.select(RefundRequest).where(RefundRequest.status != RefundRequestStatus.REQUESTED)
    if getattr(user, "role", None) != "admin":
        query = query.where(RefundRequest.station_id == getattr(user, "station_id", -1))
    return _listed(query.order_by(RefundRequest.decided_at.desc(), RefundRequest.id.desc()).limit(limit))


def check_goods(req: RefundRequest, goods, quantity=None) -> GoodsDecision:
    """The station's word on the goods, checked against the request (the form's fields as sent, or
    plain values): `goods` one of `RefundGoods`; for `restocked`, `quantity` a whole number from 1 to
    the line's quantity (None or "" is the line's quantity). Refused with the reason, nothing changed:
    a request decided already, a line not delivered, an unknown choice, a bad quantity."""
    if req.status != RefundRequestStatus.REQUESTED:
        raise Conflict("refund_request_decided")
    try:
        choice = RefundGoods(goods)
    except ValueError:
        raise ValidationError("refund_goods_required", fields={"goods": "required"}) from None
    line = req.line
    if line.shipment is None or line.shipment.status != ShipmentStatus.DELIVERED:
        raise Conflict("refund_line_not_delivered")
    if choice != RefundGoods.RESTOCKED:
        return GoodsDecision(choice)
    if quantity is None or (isinstance(quantity, str) and not quantity.strip()):
        return GoodsDecision(choice, line.quantity)
    try:
        count = parse_int(quantity, minimum=1, maximum=line.quantity)
    except ValueError:
        raise ValidationError("invalid_restock_quantity", max=line.quantity, fields={"quantity": "invalid"}) from None
    return GoodsDecision(choice, count)


def approve_refund_request(
    req_id: int, *, actor, now: datetime, goods, quantity=None, note: str = ""
) -> tuple[RefundRequest, Restocked | None]:
    """Approve: the money goes back (`refund_line`) and the goods as the station says (`check_goods`):
    restocked units go back into their lots (`stock.services.return_to_stock`, which takes the stock
    record's lock after the order's and the payment's). Returns the request and what was restocked."""
    req = _locked_for_decision(req_id, actor)
    decision = check_goods(req, goods, quantity)
    transition(req, RefundRequestStatus.APPROVED, actor=actor, now=now, note=note)
    refund = refund_line(req.line, actor=actor, now=now, reason=req.reason)
    req.refund_id = refund.id if refund is not None else None
    req.decided_by_id = actor.id
    req.decided_at = now
    req.decision_note = (note or "")[:200]
    req.goods = decision.goods
    req.restocked_quantity = decision.quantity
    restocked = None
    if decision.quantity is not None:
        restocked = return_to_stock(
            req.order_line_id,
            decision.quantity,
            refund_request_id=req.id,
            actor=actor,
            now=now,
            reason=req.order.code,
        )
    db.session.flush()
    return req, restocked


def units_with_buyer() -> sa.ColumnElement[int]:
    """SQL, for the `LotAllocation` row of the enclosing query: the units of its lot its line's buyer
    still has (or will receive), which a recall tells them of. Units that came back are left out: those
    returned into the lot (`stock.services.units_not_returned`), and all of the line's when its
    approved request says the goods came back unsellable (货品已退回、不可再售: the station has them;
    the request names no count, it is the line's goods)."""
    came_back = (
        sa.select(RefundRequest.id)
        .where(
            RefundRequest.order_line_id == LotAllocation.order_line_id,
            RefundRequest.status == RefundRequestStatus.APPROVED,
            RefundRequest.goods == RefundGoods.UNSELLABLE,
        )
        .correlate(LotAllocation)
        .exists()
    )
    return sa.case((came_back, 0), else_=units_not_returned())


def refund_of(req: RefundRequest) -> Refund | None:
    """The money an approved request sent back (None when nothing had been paid for the line yet, e.g.
    a cash order whose cash was not taken: what is due was lowered instead)."""
    return req.refund


def reject_refund_request(req_id: int, *, actor, now: datetime, note: str = "") -> RefundRequest:
    req = _locked_for_decision(req_id, actor)
    if req.status != RefundRequestStatus.REQUESTED:
        raise Conflict("refund_request_decided")
    transition(req, RefundRequestStatus.REJECTED, actor=actor, now=now, note=note)
    req.decided_by_id = actor.id
    req.decided_at = now
    req.decision_note = (note or "")[:200]
    db.session.flush()
    notify(req.order, "refund_rejected")  # the buyer is told, with the station's note (an approval mails "refunded")
    return req


def restock_references(request_ids) -> dict[int, str]:
    """{refund request id: its order's code} (a stock page names the refund a `return` came from)."""
    ids = {int(i) for i in request_ids if i is not None}
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(RefundRequest.id, Order.code)
        .join(Order, Order.id == RefundRequest.order_id)
        .where(RefundRequest.id.in_(ids))
    )
    return {req_id: code for req_id, code in rows}
