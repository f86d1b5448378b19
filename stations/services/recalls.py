"""Recalls (召回, #23): the county, or the station that received the lot, marks a lot recalled with a reason.

The county reaches any lot (`get_lot`), a station only its own (`get_lot_for`: another station's lot is
the same 404 as an unknown code). In one transaction (`recall_lot`): the lot is blocked (its unsold units leave the sellable stock,
`stock.services.block_lot`; units given back later are blocked too, and no packer can
take it), every order line that took it is listed with the units its buyer still has (units that came
back with a refund are not: `affected_lines`), and each such buyer is mailed once, through the
order mail (`orders.tasks.send_order_mail`, kind `recall`, after the commit) — a second recall of
the same lot changes nothing and mails nobody, even when both are sent at once (a double tap, the
county and the station together): the lot is read again under its stock record's lock before it is
judged (`stock.services.lock_lot`). `refund_recalled` then refunds, in one step, every
affected line still open: a line not yet shipped is canceled (its stock released, and blocked) and
refunded, a delivered line is refunded; a parcel on its way is refunded once it is delivered. Each order
whose lines it settled gets one mail for them all (kind `recall_refunded`: the lot, its reason, what to
do, the lines, the refund and how it comes back), never a per-line mail beside it.

Unpaid orders (`orders.services.recalled`, the rule: a buyer is never asked to pay for a recalled lot):
after the recall's commit, each pending order holding units of the lot is canceled whole
(`cancel_unpaid_order`, one order at a time under its lock; run by `stations.tasks.cancel_recalled_unpaid`).
Its buyer gets that cancel's mail, not the recall's.

What is still to do (`lines_to_settle`): every open line of a recalled lot, with what it waits for —
not shipped or delivered (the one-step refund settles it) or on its way (refunded once delivered) —
for the station's desk, its recall list and the county's recall page, so none is forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import selectinload

from orders.models import LineStatus, Order, OrderLine, OrderStatus, Shipment, ShipmentStatus
from orders.services.common import lock_order, notify, step_refunds
from orders.services.payments import CANCELABLE_SHIPMENTS, cancel_order, refund_line
from orders.services.recalled import RECALL_CANCEL_NOTE, holds_recalled_lot, lines_of_recalled_lots, units_with_buyer
from shop.audit import record_audit
from shop.auth.permissions import can_manage_station
from shop.celery import enqueue_after_commit
from shop.codes import typed_code
from shop.errors import NotFound, ValidationError
from shop.extensions import db
from stations.services.fulfilment import withdraw_line
from stock.models import Lot, LotAllocation, LotStatus
from stock.services import block_lot, lock_lot

RECALL_REASON_MAX = 200


@dataclass(frozen=True)
class AffectedLine:
    line: OrderLine
    order: Order
    quantity: int  # units of the lot the line took or holds
    #: what the one-step refund does with it: "cancel" (not shipped), "refund" (delivered),
    #: "in_transit" (shipped: refunded once delivered), "done" (refunded or canceled already),
    #: "unpaid" (its order not paid yet: canceled whole, `cancel_unpaid_order`)
    action: str


def get_lot(code: str) -> Lot:
    code = typed_code(code)  # as typed off a label
    lot = db.session.scalar(sa.select(Lot).where(Lot.code == code)) if code and len(code) <= 16 else None
    if lot is None:
        raise NotFound("lot_not_found")
    return lot


def get_lot_for(user, code: str) -> Lot:
    """Lot `code` of a station `user` manages (any, for an admin); another station's lot is NotFound,
    the same answer as an unknown code."""
    lot = get_lot(code)
    if not can_manage_station(user, lot.station_id):
        raise NotFound("lot_not_found")
    return lot


def clean_reason(reason: str | None) -> str:
    """The recall's reason as it is kept (trimmed); refused when empty or longer than RECALL_REASON_MAX,
    before any confirmation is asked."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("recall_reason_required", fields={"reason": "required"})
    if len(reason) > RECALL_REASON_MAX:
        raise ValidationError("recall_reason_too_long", fields={"reason": "too_long"})
    return reason


def recalled_lots(limit: int = 200) -> list[Lot]:
    """The recalled lots, newest recall first, with their product, station and who recalled them."""
    return list(
        db.session.scalars(
            sa.select(Lot)
            .where(Lot.status == LotStatus.RECALLED)
            .options(selectinload(Lot.product), selectinload(Lot.station), selectinload(Lot.recalled_by))
            .order_by(Lot.recalled_at.desc(), Lot.id.desc())
            .limit(limit)
        )
    )


#: The shipment statuses whose recalled lines the one-step refund settles now: not left the station (the
#: line is canceled) or handed over (refunded). Any other: on its way, refunded once delivered.
SETTLES_NOW = CANCELABLE_SHIPMENTS | {ShipmentStatus.DELIVERED}


def _action(line: OrderLine) -> str:
    if line.status != LineStatus.OPEN:
        return "done"
    if line.order.status == OrderStatus.PENDING:  # not paid: the order is canceled whole (the rule)
        return "unpaid"
    status = line.shipment.status if line.shipment is not None else None
    if status not in SETTLES_NOW:
        return "in_transit"
    return "refund" if status == ShipmentStatus.DELIVERED else "cancel"


def affected_lines(lot: Lot) -> list[AffectedLine]:
    """Every order line that took units of the lot (held or handed over) and whose buyer still has some
    of them, oldest first: units that came back (`orders.services.recalled.units_with_buyer`) are not
    counted, and a line whose units all came back is not listed."""
    units = units_with_buyer()
    rows = db.session.execute(
        sa.select(OrderLine, units)
        .join(LotAllocation, LotAllocation.order_line_id == OrderLine.id)
        .where(LotAllocation.lot_id == lot.id, units > 0)
        .order_by(OrderLine.order_id, OrderLine.id)
    ).all()
    return [
        AffectedLine(line=line, order=line.order, quantity=int(quantity), action=_action(line))
        for line, quantity in rows
    ]


def was_sold(lot: Lot) -> bool:
    """Whether any order line ever took units of the lot (its allocations stay when they come back), so
    that an empty list of affected lines can say "everything came back" rather than "never sold"."""
    return bool(db.session.scalar(sa.select(sa.exists().where(LotAllocation.lot_id == lot.id))))


def recalled_message(lot: Lot, lines: list[AffectedLine]) -> str:
    """What the station's and the county's recall pages say once `recall_lot` has committed."""
    if lines:
        return ngettext(
            "批次 %(code)s 已召回：%(num)s 个订单商品受影响，已通知买家",
            "批次 %(code)s 已召回：%(num)s 个订单商品受影响，已通知买家",
            len(lines),
            code=lot.code,
        )
    return _("批次 %(code)s 已召回；没有订单用到这个批次，无需通知买家", code=lot.code)


def unpaid_canceled_message(lines: list[AffectedLine]) -> str | None:
    """What the recall pages add when some of `lines` (as `recall_lot` returned them, read after its
    commit) were of unpaid orders, which the rule cancels (`cancel_unpaid_order`): they leave the lot's
    list, and the operator is told why; None when there were none."""
    unpaid = {a.order.id for a in lines if a.action == "unpaid"}
    if not unpaid:
        return None
    return ngettext(
        "%(num)s 个未付款的订单随召回取消，不会向买家收款",
        "%(num)s 个未付款的订单随召回取消，不会向买家收款",
        len(unpaid),
    )


def recall_lot(lot: Lot, *, reason: str, actor, now: datetime) -> list[AffectedLine]:
    """Recall the lot: blocked in this transaction, each buyer mailed once after the commit. A lot
    already recalled (before, or by a request that committed while this one waited for the lock) is
    left as it is: nothing is written and nobody is mailed."""
    reason = clean_reason(reason)
    already = lock_lot(lot).status == LotStatus.RECALLED
    block_lot(lot, LotStatus.RECALLED, now=now, actor=actor, reason=reason)
    lines = affected_lines(lot)
    if already:
        return lines
    first_order_of: dict[int, int] = {}
    unpaid: list[int] = []
    for affected in lines:
        if affected.action == "unpaid":  # canceled after the commit, with its own mail
            if affected.order.id not in unpaid:
                unpaid.append(affected.order.id)
            continue
        user_id = affected.order.user_id
        if user_id is not None:
            first_order_of.setdefault(user_id, affected.order.id)
    for order_id in sorted(first_order_of.values()):
        enqueue_after_commit("orders.tasks.send_order_mail", order_id, "recall")
    if unpaid:  # the orders seen unpaid here: one paid meanwhile is then told as a paid one (no mail missed)
        enqueue_after_commit("stations.tasks.cancel_recalled_unpaid", lot.id, getattr(actor, "id", None), unpaid)
    record_audit(
        actor=actor,
        action="lot.recall",
        subject=lot,
        detail={"reason": reason, "lines": len(lines), "buyers": len(first_order_of)},
        now=now,
    )
    return lines


def refund_recalled(lot: Lot, *, actor, now: datetime) -> int:
    """Refund every open line that took the recalled lot, in one step; returns how many were refunded.
    Lines still on their way are left for after delivery (listed as such); an unpaid order still
    pending (the recall's step has not run, or failed) is canceled by the rule (`cancel_unpaid_order`)
    and counted once."""
    if lot.status != LotStatus.RECALLED:
        raise ValidationError("lot_not_recalled", fields={"lot": "not_recalled"})
    reason = _("批次 %(code)s 召回：%(reason)s", code=lot.code, reason=lot.recall_reason)
    done = 0
    unpaid_done: set[int] = set()
    # the orders whose lines this step canceled or refunded, each mailed once about exactly those lines and
    # the refunds this step made (`step_refunds`: a line of the lot refunded before, e.g. on a return, is not
    # the recall's)
    settled: dict[int, tuple[Order, list[int]]] = {}
    for affected in affected_lines(lot):
        if affected.action == "unpaid":  # the recall's own step has not canceled it yet: the rule does now
            if affected.order.id in unpaid_done or not cancel_unpaid_order(affected.order.id, actor=actor, now=now):
                continue
            unpaid_done.add(affected.order.id)
        elif affected.action in ("cancel", "refund"):
            settle = withdraw_line if affected.action == "cancel" else refund_line
            settle(affected.line, actor=actor, now=now, reason=reason, mail=None)
            settled.setdefault(affected.order.id, (affected.order, []))[1].append(affected.line.id)
        else:
            continue
        done += 1
    for order, lines in settled.values():  # one mail per order: the recall, its lines, the money
        notify(order, "recall_refunded", note=lot.code, settled={"lines": lines, "refunds": step_refunds(order.id)})
    record_audit(actor=actor, action="lot.recall_refund", subject=lot, detail={"lines": done}, now=now)
    return done


def cancel_unpaid_order(order_id: int, *, actor, now: datetime) -> bool:
    """Cancel one unpaid order holding a recalled lot (`orders.services.recalled`), judged again under
    the order's lock: still pending and still holding one. Its stock and holds are released as any
    cancel releases them (the recalled units are blocked), its payment and booking canceled, and the
    buyer mailed `recall_canceled`. An order the buyer paid meanwhile is left to the one-step refund
    and its buyer gets the recall mail instead (they were not mailed at the recall); one canceled or
    expired meanwhile is left alone. True when this call canceled it."""
    order = lock_order(order_id)
    if order.status == OrderStatus.PENDING and holds_recalled_lot(order.id):
        cancel_order(order, actor=actor, now=now, reason=RECALL_CANCEL_NOTE, mail="recall_canceled")
        return True
    if order.status in (OrderStatus.CONFIRMED, OrderStatus.COMPLETED):
        notify(order, "recall")  # paid between the recall and this step: told as a paid buyer is
    return False


@dataclass(frozen=True)
class LineToSettle:
    """An open line of a recalled lot, as the desk and the recall pages list it (`lines_to_settle`)."""

    lot: Lot
    line: OrderLine
    quantity: int
    #: "cancel" (not shipped), "refund" (delivered): the one-step refund settles it now;
    #: "in_transit": on its way, refunded once delivered
    action: str


def _to_settle_query(station_id: int | None, *columns) -> sa.Select:
    """SELECT `columns` (default: the line, its lot and the units of it with the buyer) of the open lines
    of recalled lots whose buyer still has units of them, of paid or cash orders (an unpaid one is
    canceled by the rule of `orders.services.recalled`), of the station's lots or of all."""
    units = units_with_buyer()
    query = (
        lines_of_recalled_lots(*(columns or (OrderLine, Lot, units)))
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.status == LineStatus.OPEN,
            Order.status.in_((OrderStatus.CONFIRMED, OrderStatus.COMPLETED)),
            units > 0,
        )
    )
    return query if station_id is None else query.where(Lot.station_id == station_id)


def lines_to_settle(station_id: int | None = None, *, limit: int = 200) -> list[LineToSettle]:
    """The open lines of recalled lots — of the station's lots, or every one (the county) —, oldest
    recall first: what is still to refund (now, or once the parcel is delivered). A line refunded,
    canceled or whose units all came back is settled and not listed; an unpaid order is canceled by
    the rule, not listed either."""
    rows = db.session.execute(
        _to_settle_query(station_id)
        .options(selectinload(OrderLine.shipment), selectinload(OrderLine.order))
        .order_by(Lot.recalled_at, Lot.id, OrderLine.order_id, OrderLine.id)
        .limit(limit)
    ).all()
    return [
        LineToSettle(lot=lot, line=line, quantity=int(quantity), action=_action(line)) for line, lot, quantity in rows
    ]


def lots_to_settle_in(shipment_id: int) -> list[Lot]:
    """The recalled lots the shipment's open lines still have to be refunded for (`lines_to_settle` of one
    shipment), for its page: a parcel handed over or on its way is not forgotten there either."""
    return list(
        db.session.scalars(
            _to_settle_query(None, Lot).where(OrderLine.shipment_id == shipment_id).distinct().order_by(Lot.code)
        )
    )


def settle_counts(station_id: int | None = None) -> dict[str, int]:
    """How many of `lines_to_settle` wait (of the station's lots, or all), counted in SQL by their shipment's
    status as `_action` reads it (`SETTLES_NOW`): {"now": not shipped or delivered, the one-step refund settles them;
    "in_transit": on their way}, for the desk's tiles."""
    counts = {"now": 0, "in_transit": 0}
    rows = db.session.execute(
        _to_settle_query(station_id, Shipment.status, sa.func.count())
        .join(Shipment, Shipment.id == OrderLine.shipment_id)
        .group_by(Shipment.status)
    ).all()
    for status, count in rows:
        counts["now" if status in SETTLES_NOW else "in_transit"] += int(count)
    return counts
