"""Working a shipment through its state machine (orders.models.Shipment.TRANSITIONS).

    new → accepted → packed → shipped → delivered              (delivery "ship")
                          └→ ready_for_pickup → delivered       (delivery "pickup", code checked)
    new | accepted | packed | ready_for_pickup → canceled       (every line canceled)

Hand-over (deliver or pick-up) is the moment the goods leave the station: in the same transaction
each open product line consumes its allocation and is credited to its households
(`county.services.ledger.credit_line`); when every shipment of the order is settled the order is
completed. Every step is recorded by `shop.history.transition` (time + actor) and the consumer is
notified by a Celery task after commit.

Services here only flush; the route commits. A wrong pick-up code is the one failure whose effect
must survive: `hand_over_pickup` raises `WrongPickupCode` after counting the failure, and the caller
commits the count before answering (see `stations.views` / `stations.api`).
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from orders.models import Delivery, LineStatus, Order, OrderLine, OrderStatus, PaymentMethod, Shipment, ShipmentStatus
from shop.auth.permissions import can_manage_station
from shop.celery import enqueue_after_commit
from shop.codes import same_secret
from shop.errors import Conflict, IllegalTransition, NotFound, ValidationError
from shop.extensions import db
from shop.history import transition
from stations.models import StockRecord
from stations.services.stock import cancel_allocation, consume_allocation

#: After this many wrong pick-up codes the shipment is locked for counter hand-over.
PICKUP_MAX_FAILURES = 5

ACTIONS = ("accept", "pack", "ready", "ship", "deliver", "pickup", "cancel")
OPEN_STATUSES = (
    ShipmentStatus.NEW,
    ShipmentStatus.ACCEPTED,
    ShipmentStatus.PACKED,
    ShipmentStatus.SHIPPED,
    ShipmentStatus.READY_FOR_PICKUP,
)


#: Shipment status -> its Chinese label (a msgid: show it through `status_label`, never bare).
#: Also listed in stations/translations/dynamic.pot, since the lookups are by variable.
STATUS_LABELS = {
    "new": "新订单",
    "accepted": "已接单",
    "packed": "已打包",
    "shipped": "已发货",
    "ready_for_pickup": "待自提",
    "delivered": "已交付",
    "canceled": "已取消",
}


def status_label(status: str) -> str:
    """The shipment status in the current locale (the raw value if unknown)."""
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else str(status)


class WrongPickupCode(Conflict):
    """The code read at the counter does not match. The failure count must be committed."""

    status = 422
    code = "wrong_pickup_code"


class PickupLocked(Conflict):
    code = "pickup_locked"


# --- loading ----------------------------------------------------------------------------------


def _shipment_query():
    return sa.select(Shipment).options(
        selectinload(Shipment.order),
        selectinload(Shipment.station),
        selectinload(Shipment.lines),
    )


def get_shipment_for(user, code: str) -> Shipment:
    """The shipment with public `code` if `user` manages its station; else NotFound (no leak)."""
    code = (code or "").strip()
    shipment = db.session.scalar(_shipment_query().where(Shipment.code == code)) if code else None
    if shipment is None or not can_manage_station(user, shipment.station_id):
        raise NotFound(_("没有这个发货单"))
    return shipment


def list_station_shipments(station_id: int, *, status: str | None = None, limit: int = 200) -> list[Shipment]:
    query = _shipment_query().where(Shipment.station_id == station_id)
    if status:
        if status not in set(ShipmentStatus):
            raise ValidationError(_("未知状态"), fields={"status": "invalid"})
        query = query.where(Shipment.status == status)
    return list(db.session.scalars(query.order_by(Shipment.created_at, Shipment.id).limit(limit)))


def _lock(shipment: Shipment) -> Shipment:
    """Re-read the shipment under row locks — its order first, as the orders package does — so a
    second operator clicking at the same time waits and then sees the new state."""
    db.session.execute(sa.select(Order.id).where(Order.id == shipment.order_id).with_for_update())
    db.session.execute(sa.select(Shipment.id).where(Shipment.id == shipment.id).with_for_update())
    db.session.refresh(shipment)
    db.session.refresh(shipment.order)
    return shipment


def _open_product_lines(shipment: Shipment) -> list[OrderLine]:
    return [ln for ln in shipment.lines if ln.status == LineStatus.OPEN and ln.kind == "product"]


def _record_id_for(line: OrderLine) -> int:
    record_id = None
    if line.product_id is not None:
        record_id = db.session.scalar(sa.select(StockRecord.id).where(StockRecord.product_id == line.product_id))
    if record_id is None:
        raise Conflict(_("该商品没有库存记录"), code="allocation_mismatch")
    return record_id


def _notify(shipment: Shipment, event: str) -> None:
    from stations.tasks import notify_shipment

    enqueue_after_commit(notify_shipment, shipment.id, event)


def _require_order_open(shipment: Shipment) -> None:
    if shipment.order.status != OrderStatus.CONFIRMED:
        raise Conflict(_("订单未确认（尚未付款或已关闭）"), code="order_not_confirmed")


# --- steps ------------------------------------------------------------------------------------


def accept(shipment: Shipment, *, actor, now: datetime) -> Shipment:
    _lock(shipment)
    _require_order_open(shipment)
    transition(shipment, ShipmentStatus.ACCEPTED, actor=actor, now=now)
    _notify(shipment, "accepted")
    db.session.flush()
    return shipment


def pack(shipment: Shipment, *, actor, now: datetime) -> Shipment:
    """Packed; a pick-up shipment is then on the counter shelf, ready for pick-up, in the same step."""
    _lock(shipment)
    _require_order_open(shipment)
    transition(shipment, ShipmentStatus.PACKED, actor=actor, now=now)
    if shipment.order.delivery == Delivery.PICKUP:
        transition(shipment, ShipmentStatus.READY_FOR_PICKUP, actor=actor, now=now)
        _notify(shipment, "ready_for_pickup")
    else:
        _notify(shipment, "packed")
    db.session.flush()
    return shipment


def mark_ready(shipment: Shipment, *, actor, now: datetime) -> Shipment:
    """packed → ready_for_pickup (for a pick-up shipment packed before this rule existed)."""
    _lock(shipment)
    _require_order_open(shipment)
    if shipment.order.delivery != Delivery.PICKUP:
        raise IllegalTransition(_("此订单为快递配送，不是到站自提"), fields={"status": shipment.status})
    transition(shipment, ShipmentStatus.READY_FOR_PICKUP, actor=actor, now=now)
    _notify(shipment, "ready_for_pickup")
    db.session.flush()
    return shipment


def ship(shipment: Shipment, *, tracking_number: str | None, actor, now: datetime) -> Shipment:
    tracking = (tracking_number or "").strip()
    if not tracking or len(tracking) > 40:
        raise ValidationError(_("请填写运单号（最多 40 个字符）"),
                              fields={"tracking_number": "required"})
    _lock(shipment)
    _require_order_open(shipment)
    if shipment.order.delivery != Delivery.SHIP:
        raise IllegalTransition(_("此订单为到站自提，不能发快递"),
                                fields={"status": shipment.status})
    transition(shipment, ShipmentStatus.SHIPPED, actor=actor, now=now, note=tracking)
    shipment.tracking_number = tracking
    _notify(shipment, "shipped")
    db.session.flush()
    return shipment


def _hand_over(shipment: Shipment, *, actor, now: datetime, note: str) -> Shipment:
    """Consume allocations, credit households, mark delivered, complete the order if all settled."""
    from county.services.ledger import credit_line

    if shipment.order.payment_method == PaymentMethod.STATION_CASH and shipment.cash_received_at is None:
        raise Conflict(_("请先确认已收现金，再交付"), code="cash_not_received")
    lines = _open_product_lines(shipment)
    pairs = sorted(((_record_id_for(line), line) for line in lines), key=lambda pair: (pair[0], pair[1].id))
    for record_id, line in pairs:  # the global lock order: stock records by id
        consume_allocation(record_id, line.quantity, order_line_id=line.id, actor=actor, now=now)
    transition(shipment, ShipmentStatus.DELIVERED, actor=actor, now=now, note=note)
    shipment.delivered_at = now
    for line in lines:
        credit_line(line, now=now)
    _settle_order(shipment.order, actor=actor, now=now)
    _notify(shipment, "delivered")
    db.session.flush()
    return shipment


def deliver(shipment: Shipment, *, actor, now: datetime) -> Shipment:
    """A shipped parcel reached the buyer."""
    _lock(shipment)
    if shipment.status != ShipmentStatus.SHIPPED:
        raise IllegalTransition(_("当前状态「%(status)s」不能交付", status=status_label(shipment.status)),
                                fields={"status": shipment.status})
    _require_order_open(shipment)
    return _hand_over(shipment, actor=actor, now=now, note="delivered")


def hand_over_pickup(shipment: Shipment, *, pickup_code: str | None, actor, now: datetime) -> Shipment:
    """Counter hand-over against the buyer's pick-up code; wrong codes are counted, then locked out."""
    _lock(shipment)
    if shipment.status != ShipmentStatus.READY_FOR_PICKUP:
        raise IllegalTransition(_("当前状态「%(status)s」不能交付", status=status_label(shipment.status)),
                                fields={"status": shipment.status})
    _require_order_open(shipment)
    if shipment.pickup_failures >= PICKUP_MAX_FAILURES:
        raise PickupLocked(_("取货码错误次数过多，已锁定，请联系管理员解锁"))
    if not same_secret((pickup_code or "").strip(), shipment.pickup_code):
        table = Shipment.__table__
        db.session.execute(
            sa.update(table).where(table.c.id == shipment.id).values(pickup_failures=table.c.pickup_failures + 1)
        )
        db.session.flush()
        db.session.refresh(shipment)
        left = max(PICKUP_MAX_FAILURES - shipment.pickup_failures, 0)
        raise WrongPickupCode(
            _("取货码错误"), fields={"pickup_code": "wrong", "attempts_left": str(left)}
        )
    return _hand_over(shipment, actor=actor, now=now, note="picked up")


def unlock_pickup(shipment: Shipment, *, actor, now: datetime) -> Shipment:
    """Admin: reset the wrong-code counter (recorded in the shipment's history)."""
    from shop.history import record_status

    _lock(shipment)
    shipment.pickup_failures = 0
    record_status(shipment, from_status=shipment.status, to_status=shipment.status, actor=actor, now=now,
                  note="pickup unlocked")
    db.session.flush()
    return shipment


# --- cancellation ------------------------------------------------------------------------------


CANCELABLE = (ShipmentStatus.NEW, ShipmentStatus.ACCEPTED, ShipmentStatus.PACKED, ShipmentStatus.READY_FOR_PICKUP)


def cancel_line(line: OrderLine, *, actor, now: datetime, reason: str) -> OrderLine:
    """A line that cannot be supplied: release its stock, refund it, tell the buyer why.

    `orders.services.payments.refund_line` releases the allocation, refunds what was paid (or lowers
    the cash still due), marks the line refunded and cancels the shipment when no line is left;
    this adds the reason to the shipment's history, settles the order and notifies the buyer.
    """
    reason = (reason or "").strip()[:200]
    if not reason:
        raise ValidationError(_("请填写告知顾客的原因"), fields={"reason": "required"})
    shipment = line.shipment
    if shipment is None:
        raise NotFound(_("没有这个商品行"))
    _lock(shipment)
    db.session.refresh(line)
    if line.status != LineStatus.OPEN:
        raise Conflict(_("该商品已取消"), code="line_not_open")
    if shipment.status not in CANCELABLE:
        raise IllegalTransition(_("发货单状态为「%(status)s」，不能再取消商品", status=status_label(shipment.status)),
                                fields={"status": shipment.status})
    _require_order_open(shipment)
    try:
        from orders.services.payments import refund_line
    except ImportError:  # pragma: no cover - the orders package provides it
        refund_line = None
    if refund_line is not None:
        refund_line(line, actor=actor, now=now, reason=reason)
    else:  # pragma: no cover
        if line.kind == "product":
            cancel_allocation({_record_id_for(line): line.quantity})
        line.status = LineStatus.CANCELED
    db.session.flush()
    db.session.refresh(shipment)
    from shop.history import record_status

    record_status(shipment, from_status=shipment.status, to_status=shipment.status, actor=actor, now=now,
                  note=f"line {line.id} canceled: {reason}")
    if shipment.status != ShipmentStatus.CANCELED and not any(ln.status == LineStatus.OPEN for ln in shipment.lines):
        transition(shipment, ShipmentStatus.CANCELED, actor=actor, now=now, note=reason)
    _settle_order(shipment.order, actor=actor, now=now)
    from stations.tasks import notify_line_canceled

    enqueue_after_commit(notify_line_canceled, line.id, reason)
    db.session.flush()
    return line


def cancel_shipment(shipment: Shipment, *, actor, now: datetime, reason: str) -> Shipment:
    """Cancel every open line of the shipment (the API's `cancel` action)."""
    reason = (reason or "").strip() or "无法供货"
    if shipment.status not in CANCELABLE:
        raise IllegalTransition(_("当前状态「%(status)s」不能取消", status=status_label(shipment.status)),
                                fields={"status": shipment.status})
    open_lines = [ln for ln in shipment.lines if ln.status == LineStatus.OPEN]
    if not open_lines:
        _lock(shipment)
        transition(shipment, ShipmentStatus.CANCELED, actor=actor, now=now, note=reason)
        _settle_order(shipment.order, actor=actor, now=now)
    for line in open_lines:
        cancel_line(line, actor=actor, now=now, reason=reason)
    db.session.refresh(shipment)
    return shipment


def _settle_order(order: Order, *, actor, now: datetime) -> None:
    """All shipments settled: completed if anything was handed over, else canceled."""
    statuses = {s.status for s in order.shipments}
    if statuses & set(OPEN_STATUSES) or order.status != OrderStatus.CONFIRMED:
        return
    if ShipmentStatus.DELIVERED in statuses:
        transition(order, OrderStatus.COMPLETED, actor=actor, now=now)
    else:
        transition(order, OrderStatus.CANCELED, actor=actor, now=now, note="no line could be supplied")


# --- one entry point for the API and the form --------------------------------------------------


def apply_action(shipment: Shipment, action: str, *, actor, now: datetime, tracking_number: str | None = None,
                 pickup_code: str | None = None, reason: str | None = None) -> Shipment:
    if action == "accept":
        return accept(shipment, actor=actor, now=now)
    if action == "pack":
        return pack(shipment, actor=actor, now=now)
    if action == "ready":
        return mark_ready(shipment, actor=actor, now=now)
    if action == "ship":
        return ship(shipment, tracking_number=tracking_number, actor=actor, now=now)
    if action == "deliver":
        return deliver(shipment, actor=actor, now=now)
    if action == "pickup":
        return hand_over_pickup(shipment, pickup_code=pickup_code, actor=actor, now=now)
    if action == "cancel":
        return cancel_shipment(shipment, actor=actor, now=now, reason=reason or "")
    raise ValidationError(_("未知操作"), fields={"action": "invalid"})


def shipment_amount_fen(shipment: Shipment) -> int:
    """What the buyer owes for this shipment: open lines plus its shipping."""
    return sum(ln.line_total_fen for ln in shipment.lines if ln.status == LineStatus.OPEN) + (shipment.shipping_fen or 0)
