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
refunded, a delivered line is refunded; a parcel on its way is refunded once it is delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import selectinload

from orders.models import LineStatus, Order, OrderLine, ShipmentStatus
from orders.services.payments import refund_line, shipment_cancelable
from orders.services.refunds import units_with_buyer
from shop.audit import record_audit
from shop.auth.permissions import can_manage_station
from shop.celery import enqueue_after_commit
from shop.codes import typed_code
from shop.errors import NotFound, ValidationError
from shop.extensions import db
from stations.services.fulfilment import cancel_line
from stock.models import Lot, LotAllocation, LotStatus
from stock.services import block_lot, lock_lot

RECALL_REASON_MAX = 200


@dataclass(frozen=True)
class AffectedLine:
    line: OrderLine
    order: Order
    quantity: int  # units of the lot the line took or holds
    #: what the one-step refund does with it: "cancel" (not shipped), "refund" (delivered),
    #: "in_transit" (shipped: refunded once delivered), "done" (refunded or canceled already)
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


def _action(line: OrderLine) -> str:
    if line.status != LineStatus.OPEN:
        return "done"
    status = line.shipment.status if line.shipment is not None else None
    if line.shipment is not None and shipment_cancelable(line.shipment):
        return "cancel"
    if status == ShipmentStatus.DELIVERED:
        return "refund"
    return "in_transit"


def affected_lines(lot: Lot) -> list[AffectedLine]:
    """Every order line that took units of the lot (held or handed over) and whose buyer still has some
    of them, oldest first: units that came back (`orders.services.refunds.units_with_buyer`) are not
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
    for affected in lines:
        user_id = affected.order.user_id
        if user_id is not None:
            first_order_of.setdefault(user_id, affected.order.id)
    for order_id in sorted(first_order_of.values()):
        enqueue_after_commit("orders.tasks.send_order_mail", order_id, "recall")
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
    Lines still on their way are left for after delivery (listed as such)."""
    if lot.status != LotStatus.RECALLED:
        raise ValidationError("lot_not_recalled", fields={"lot": "not_recalled"})
    reason = _("批次 %(code)s 召回：%(reason)s", code=lot.code, reason=lot.recall_reason)[:200]
    done = 0
    for affected in affected_lines(lot):
        if affected.action == "cancel":
            cancel_line(affected.line, actor=actor, now=now, reason=reason)
        elif affected.action == "refund":
            refund_line(affected.line, actor=actor, now=now, reason=reason)
        else:
            continue
        done += 1
    record_audit(actor=actor, action="lot.recall_refund", subject=lot, detail={"lines": done}, now=now)
    return done
