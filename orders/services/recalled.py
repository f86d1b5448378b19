"""What a recalled lot (召回, #23) means to the orders that took it, as the buyer sees it.

**The rule for unpaid orders: a buyer is never asked to pay for a recalled lot.** An order still
waiting for its payment (pending: a card payment not made yet, or a bank transfer not recorded yet)
whose lines hold units of a recalled lot is canceled whole, at the recall — nothing was paid, its
stock and holds are released as any cancel releases them (the recalled lot's units are blocked on
their way back), a booking it sells is released with it, and the buyer gets the mail
`recall_canceled` and reads on the order page why (`RECALL_CANCEL_NOTE`). The recall itself runs this
after its commit, one order at a time under the order's lock
(`stations.services.recalls.cancel_unpaid_order`); until then — or should that step fail — the pay step
refuses such an order (`orders.services.payments.pay_refusal`, asked by `start_payment` and
`pay_with_card`: 409 `recalled_lot_unpaid`), and the page offers no pay button, only the cancel one.
A payment already in flight (Stripe charged the card before the cancel) ends as any payment for a
canceled order: confirmed, then refunded in full (`orders.services.payments.confirm_payment`); one that
confirmed the order first leaves its line to the recall's one-step refund, as a paid line.

The rest: which units of a recalled lot a buyer still has (`units_with_buyer`, `recalled_units`: the
recall mail and the order page), and the mark each order gets on the buyer's list (`recall_marks`).
This module imports no other service of orders: `payments` asks it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from orders.models import (
    LineStatus,
    Order,
    OrderLine,
    OrderStatus,
    Refund,
    RefundGoods,
    RefundRequest,
    RefundRequestStatus,
)
from shop.extensions import db
from shop.history import StatusEvent
from stock.models import Lot, LotAllocation, LotStatus
from stock.services import units_not_returned

#: The note of the status event of an order canceled by this rule (shown translated: `shop.history`).
RECALL_CANCEL_NOTE = "recalled lot: unpaid order canceled"

#: What `recall_marks` says of an order: it holds units of a recalled lot, or it was canceled for one.
HOLDS = "holds"
CANCELED = "canceled"


def units_with_buyer() -> sa.ColumnElement[int]:
    """SQL, for the `LotAllocation` row of the enclosing query: the units of its lot its line's buyer
    still has (or will receive), which a recall tells them of. Units that came back are left out: those
    returned into the lot (`stock.services.units_not_returned`), and those of the line's approved
    requests that say the goods came back unsellable (货品已退回、不可再售: the station has them; a request
    counts its own units, `RefundRequest.quantity`, since a buyer may ask for part of a line). Such a
    request names no lot, so a line of several lots is told of at most what it still holds in all (the
    line's quantity less every unit that came back) and of no more than each lot's units not returned."""
    approved = sa.and_(
        RefundRequest.order_line_id == LotAllocation.order_line_id,
        RefundRequest.status == RefundRequestStatus.APPROVED,
    )
    came_back = (
        sa.select(
            sa.func.coalesce(
                sa.func.sum(
                    sa.case(
                        (RefundRequest.goods == RefundGoods.UNSELLABLE, RefundRequest.quantity),
                        (RefundRequest.goods == RefundGoods.RESTOCKED, RefundRequest.restocked_quantity),
                        else_=0,
                    )
                ),
                0,
            )
        )
        .where(approved)
        .correlate(LotAllocation)
        .scalar_subquery()
    )
    line_quantity = (
        sa.select(OrderLine.quantity)
        .where(OrderLine.id == LotAllocation.order_line_id)
        .correlate(LotAllocation)
        .scalar_subquery()
    )
    held = line_quantity - came_back
    in_lot = units_not_returned()
    return sa.case((held <= 0, 0), (held < in_lot, held), else_=in_lot)


def lines_of_recalled_lots(*columns) -> sa.Select:
    """SELECT `columns` from the order lines that took units of a recalled lot: each line joined to its
    lots (`LotAllocation`, `Lot`), a row per line and lot, the lot recalled. The one spelling of that
    join, for the callers to narrow (`units_with_buyer` reads the row's `LotAllocation`)."""
    return (
        sa.select(*columns)
        .select_from(OrderLine)
        .join(LotAllocation, LotAllocation.order_line_id == OrderLine.id)
        .join(Lot, Lot.id == LotAllocation.lot_id)
        .where(Lot.status == LotStatus.RECALLED)
    )


@dataclass(frozen=True)
class RecalledUnits:
    """Units of a recalled lot a buyer still has from one order line (#23): what the recall mail and the
    order page tell them."""

    line_id: int
    title: str
    order_code: str
    lot_code: str
    reason: str
    recalled_at: datetime | None
    quantity: int


def recalled_units(*, user_id: int | None = None, order_id: int | None = None) -> list[RecalledUnits]:
    """The order lines of a buyer (`user_id`: every order of theirs, for the one recall mail) or of one
    order (`order_id`: its page) that took a recalled lot, with the units of it the buyer still has
    (`units_with_buyer`: a line whose units all came back is left out), by order, line and lot."""
    units = units_with_buyer()
    query = (
        lines_of_recalled_lots(
            OrderLine.id, OrderLine.title, Order.code, Lot.code, Lot.recall_reason, Lot.recalled_at, units
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(units > 0)
        .order_by(Order.id, OrderLine.id, Lot.id)
    )
    if user_id is not None:
        query = query.where(Order.user_id == user_id)
    if order_id is not None:
        query = query.where(Order.id == order_id)
    return [
        RecalledUnits(
            line_id=line_id,
            title=title,
            order_code=order_code,
            lot_code=lot_code,
            reason=reason,
            recalled_at=recalled_at,
            quantity=int(quantity),
        )
        for line_id, title, order_code, lot_code, reason, recalled_at, quantity in db.session.execute(query)
    ]


def _holding(order_ids: sa.ColumnElement) -> sa.Select:
    """The ids among `order_ids` (a column expression on `Order.id`) whose open lines hold units of a
    recalled lot, still allocated to them (an unpaid order's goods never left)."""
    return lines_of_recalled_lots(OrderLine.order_id).where(
        order_ids, OrderLine.status == LineStatus.OPEN, LotAllocation.allocated > 0
    )


def holds_recalled_lot(order_id: int) -> bool:
    """Whether the order's open lines hold units of a recalled lot."""
    return db.session.scalar(sa.select(_holding(OrderLine.order_id == order_id).exists())) or False


def recall_marks(order_ids: Iterable[int]) -> dict[int, str]:
    """{order id: HOLDS or CANCELED} for those of the orders a recall concerns (two queries for a
    list): HOLDS, the buyer still has (or will receive) units of a recalled lot (`units_with_buyer`);
    CANCELED, the order was canceled unpaid by the rule above. Orders a recall never touched are absent."""
    ids = list(order_ids)
    if not ids:
        return {}
    marks = {
        order_id: CANCELED
        for order_id in db.session.scalars(
            sa.select(StatusEvent.subject_id).where(
                StatusEvent.subject_type == Order.__tablename__,
                StatusEvent.subject_id.in_(ids),
                StatusEvent.to_status == OrderStatus.CANCELED,
                StatusEvent.note == RECALL_CANCEL_NOTE,
            )
        )
    }
    units = units_with_buyer()
    holding = db.session.scalars(
        lines_of_recalled_lots(OrderLine.order_id).where(OrderLine.order_id.in_(ids), units > 0).distinct()
    )
    marks.update((order_id, HOLDS) for order_id in holding)
    return marks


def canceled_for_recall(order: Order, events: Iterable[StatusEvent]) -> bool:
    """Whether the order was canceled unpaid because a lot it held was recalled (its order page says so),
    read from the order's status events, which the page has loaded already (`shop.history.history_of`)."""
    return order.status == OrderStatus.CANCELED and any(
        e.to_status == OrderStatus.CANCELED and e.note == RECALL_CANCEL_NOTE for e in events
    )


@dataclass(frozen=True)
class RecallSettled:
    """What a recall's one-step refund did to one order (`settled_by_recall`), for its one mail."""

    lot_code: str
    reason: str
    line_ids: list[int]  # the order's lines of the lot, canceled or refunded
    refunded_fen: int  # what their refunds gave back (0: nothing had been paid for them)


def settled_by_recall(order_id: int, lot_code: str, settled: dict) -> RecallSettled | None:
    """What one step of the recall's one-step refund did to the order: `settled["lines"]`, the lines of
    the recalled lot `lot_code` it canceled or refunded (no longer open), with the recall's reason, and
    what `settled["refunds"]`, the refunds that step made, gave back — never a refund made before (a
    return of some units of the same line) nor a line settled by an earlier step (a parcel refunded once
    delivered is mailed alone). None when the lot is not recalled or no such line is left."""
    rows = db.session.execute(
        lines_of_recalled_lots(OrderLine.id, Lot.recall_reason)
        .where(
            OrderLine.order_id == order_id,
            Lot.code == lot_code,
            OrderLine.status != LineStatus.OPEN,
            OrderLine.id.in_([int(i) for i in settled.get("lines", [])]),
        )
        .distinct()
        .order_by(OrderLine.id)
    ).all()
    if not rows:
        return None
    line_ids = [line_id for line_id, _reason in rows]
    refunded = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Refund.amount_fen), 0)).where(
            Refund.id.in_([int(i) for i in settled.get("refunds", [])]), Refund.order_line_id.in_(line_ids)
        )
    )
    return RecallSettled(lot_code=lot_code, reason=rows[0][1] or "", line_ids=line_ids, refunded_fen=int(refunded or 0))


def recalled_lots_of(order_id: int) -> list[tuple[str, str]]:
    """(code, reason) of each recalled lot the order's lines took, by code: what the mail of an unpaid order
    canceled for a recall names (its allocations stay, at 0, once released)."""
    rows = db.session.execute(
        lines_of_recalled_lots(Lot.code, Lot.recall_reason)
        .where(OrderLine.order_id == order_id)
        .distinct()
        .order_by(Lot.code)
    ).all()
    return [(code, reason or "") for code, reason in rows]
