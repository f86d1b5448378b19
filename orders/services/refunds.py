"""Refund requests after delivery: the buyer asks per line, an admin or the line's station decides.

Asking (`request_refund`, the rule in `refund_request_refusal`, shown on the order page through
`line_refunds`): a delivered line not refunded or canceled, one open request at a time, at most
`MAX_REQUESTS_PER_LINE` requests turned down. A rejected request may be followed by a new one, with a reason
not given before (the station's note says why it said no; the buyer answers it), as Taobao's and JD's
after-sale lets a buyer apply again after the seller refuses. An approved request of some units counts
against neither rule: the units left may be asked for again, for the same reason. docs/traceability.md, "Asking again".

The buyer says what they ask for (`RefundKind`: 仅退款, keeping the goods, or 退货退款, sending them
back; `check_kind`); the station sees it when deciding (its form starts from 货品未退回 for a
仅退款, `goods_for_kind`), but records what actually happened, which may differ (the goods never came back,
or came back though the buyer meant to keep them): stock follows the station's record only.

The buyer asks for some of the line's units or all (`quantity`, `check_quantity`; the request's amount
is their price): a line may be refunded in several requests, never more units than it has
(`units_left`); each approval refunds its units only (`refund_line(..., units=)`: the line stays open,
已退款 2/5, until its last unit is refunded).

Approving says what happened to the goods (仅退款 / 退货退款, `RefundGoods`): not returned (stock
unchanged), returned and sellable (N units back into the lots the line was sold from, through
`stock.services.return_to_stock`), or returned but not sellable (no stock change, recorded). The
money side is `orders.services.payments.refund_line`; both happen in the one transaction, once: a
decided request is refused the second time (`refund_request_decided`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from orders.models import (
    LineStatus,
    Order,
    OrderLine,
    PaymentMethod,
    Refund,
    RefundGoods,
    RefundKind,
    RefundRequest,
    RefundRequestStatus,
    ShipmentStatus,
)
from orders.services.amounts import paid_at_the_door, units_fen, units_left
from orders.services.common import lock_order, notify
from orders.services.payments import refund_line
from shop.args import parse_int
from shop.auth.permissions import can_manage_station
from shop.errors import Conflict, NotFound, ValidationError
from shop.extensions import db
from shop.history import transition
from stock.services import Restocked, return_to_stock

#: How many decided requests the station's page lists under the pending ones.
DECIDED_SHOWN = 20
#: How many refund requests a buyer may make for one order line, the first and those after a rejection.
MAX_REQUESTS_PER_LINE = 3
#: The longest reason a refund request takes (the column's width; the order page's field says so too).
MAX_REFUND_REASON = 200
#: The longest note the station gives with its decision (the column's width; the page's fields say so too).
MAX_DECISION_NOTE = 200


class MoneyBack(StrEnum):
    """How a refund's money reaches the buyer, by how they paid (`money_back`)."""

    CARD = "card"  # back to the card, through the payment provider
    COUNTER = "counter"  # cash handed back at the station's counter, where the buyer paid or collected
    COURIER = "courier"  # cash on delivery: the station's staff take the cash back to the delivery address
    TRANSFER = "transfer"  # a bank transfer back to the paying organisation's account


def money_back(order: Order) -> MoneyBack:
    """How the money of `order`'s refunds goes back. A cash refund leaves the till that took the cash
    (`orders.services.cashbook.pay_out_refund`): paid at the counter (到站点付款, or cash on delivery of
    a pick-up), it is handed back at the counter; paid at the door (货到付款 of a shipped order), the
    buyer is at home, so the station's staff take it back to the delivery address (as they took it)."""
    if order.payment_method == PaymentMethod.CARD:
        return MoneyBack.CARD
    if order.payment_method == PaymentMethod.BANK_TRANSFER:
        return MoneyBack.TRANSFER
    if paid_at_the_door(order):
        return MoneyBack.COURIER
    return MoneyBack.COUNTER


@dataclass(frozen=True)
class GoodsDecision:
    """What the station says happened to the goods, checked (`check_goods`)."""

    goods: RefundGoods
    #: Units back into stock (only for `restocked`).
    quantity: int | None = None


def turned_down(requests) -> list[RefundRequest]:
    """The rejected ones of a line's requests: what the limit of asking again counts, and whose reasons a
    new request must not repeat."""
    return [r for r in requests if r.status == RefundRequestStatus.REJECTED]


@dataclass(frozen=True)
class LineRefunds:
    """One line's refund requests as its buyer sees them (the order page): all of them, oldest first, and
    whether a new one is taken now."""

    requests: list[RefundRequest] = field(default_factory=list)
    #: Why a new request is not taken now (`refund_request_refusal`: its `.code`, its `.message`), or None.
    refusal: Conflict | None = None

    @property
    def latest(self) -> RefundRequest | None:
        return self.requests[-1] if self.requests else None

    @property
    def left(self) -> int:
        """Requests the buyer may still have turned down for the line (the rule's limit minus those rejected)."""
        return max(0, MAX_REQUESTS_PER_LINE - len(turned_down(self.requests)))


def refund_request_refusal(line: OrderLine, requests: Sequence[RefundRequest]) -> Conflict | None:
    """Why the buyer may not ask now to refund `line`, whose requests so far are `requests` (the 409
    `request_refund` raises), or None: a new request is taken. The one rule of asking, which the order
    page shows (`line_refunds`) and every request obeys (the page's form, the JSON API):

    - the line was delivered (`not_delivered`; before that the order or line is canceled instead) and is
      neither refunded nor canceled (`line_already_refunded`, which an approved request leads to);
    - no request of it waits for the station's decision (`already_requested`);
    - fewer than `MAX_REQUESTS_PER_LINE` were rejected (`refund_requests_exhausted`): after a rejection the
      buyer may ask again, a limited number of times, so a station is not asked the same forever. Approved
      requests do not count: a line refunded some units at a time may be asked for its other units.

    A new request's reason must differ from those of the rejected ones (`request_refund`:
    `refund_reason_unchanged`: it answers the station's note)."""
    if line.status != LineStatus.OPEN:
        return Conflict("line_already_refunded")
    if line.shipment is None or line.shipment.status != ShipmentStatus.DELIVERED:
        return Conflict("not_delivered")
    if any(r.status == RefundRequestStatus.REQUESTED for r in requests):
        return Conflict("already_requested")
    if len(turned_down(requests)) >= MAX_REQUESTS_PER_LINE:
        return Conflict("refund_requests_exhausted", num=MAX_REQUESTS_PER_LINE)
    return None


def _requests_of_lines(line_ids) -> dict[int, list[RefundRequest]]:
    ids = sorted({int(i) for i in line_ids})
    found: dict[int, list[RefundRequest]] = {i: [] for i in ids}
    if ids:
        query = (
            sa.select(RefundRequest)
            .where(RefundRequest.order_line_id.in_(ids))
            .options(joinedload(RefundRequest.refund))  # the page says an approved request's refund
            .order_by(RefundRequest.id)
        )
        for req in db.session.scalars(query):
            found[req.order_line_id].append(req)
    return found


def line_refunds(order: Order) -> dict[int, LineRefunds]:
    """{line id: its refund requests and whether a new one is taken} for the goods lines of `order` (one
    query): what the order page shows under each line."""
    lines = [line for shipment in order.shipments for line in shipment.lines]
    requests = _requests_of_lines(line.id for line in lines)
    return {line.id: LineRefunds(requests[line.id], refund_request_refusal(line, requests[line.id])) for line in lines}


def check_kind(kind) -> RefundKind:
    """What the buyer asks for, checked: one of `RefundKind` (仅退款 / 退货退款), else 422
    `refund_kind_required` (none chosen, or a value that is neither)."""
    try:
        return RefundKind((kind or "").strip() if isinstance(kind, str) else kind)
    except ValueError:
        raise ValidationError("refund_kind_required", fields={"kind": "required"}) from None


def goods_for_kind(kind: str | None) -> RefundGoods | None:
    """The goods outcome the station's decision form starts from for a request of `kind`: kept by the
    buyer (仅退款), not returned. A 退货退款 starts from none: only the station knows whether the goods
    came back and in what state (back into stock, or spoiled), and a guess would put into stock goods
    it does not hold. None too when the buyer was not asked."""
    return RefundGoods.NOT_RETURNED if kind == RefundKind.REFUND_ONLY else None


def goods_differ_from_kind(req: RefundRequest, goods: RefundGoods) -> bool:
    """The station records the goods otherwise than the buyer asked: returned though the buyer keeps
    them (仅退款), or not returned though the buyer sends them back (退货退款). Allowed (the station says
    what happened), but the confirmation says so before it is recorded."""
    if req.kind == RefundKind.REFUND_ONLY:
        return goods != RefundGoods.NOT_RETURNED
    if req.kind == RefundKind.RETURN:
        return goods == RefundGoods.NOT_RETURNED
    return False


def check_quantity(line: OrderLine, quantity) -> int:
    """How many units the buyer asks to refund, checked against what is left of the line (`units_left`):
    None or "" is all of them; else a whole number from 1 to what is left (422 `invalid_refund_quantity`
    with `max`: 0, more than is left, not a number)."""
    left = units_left(line)
    if quantity is None or (isinstance(quantity, str) and not quantity.strip()):
        return left
    try:
        return parse_int(quantity, minimum=1, maximum=left)
    except (TypeError, ValueError):
        raise ValidationError("invalid_refund_quantity", max=left, fields={"quantity": "invalid"}) from None


def request_refund(
    order: Order, line_id: int, *, actor, now: datetime, reason: str, kind: str | None, quantity=None
) -> RefundRequest:
    """The buyer asks to refund `quantity` units of one delivered line (default: every unit not refunded
    yet; `check_quantity`: 422 `invalid_refund_quantity`), keeping the goods or sending them back (`kind`,
    `check_kind`: 422 `refund_kind_required` when neither): refused with the reason as `refund_request_refusal`
    says, nothing changed; a reason missing (422 `refund_reason_required`) or given in an earlier
    request of the line (422 `refund_reason_unchanged`: asking again answers the station's rejection).
    The request's amount is the units' price (unit price × quantity). A line may be refunded in several
    requests, one open at a time, never more units in all than it has.
    The order's lock serialises two requests of one line (a double tap makes one). A reason longer than
    `MAX_REFUND_REASON` is refused (422 `refund_reason_too_long`), never cut short behind the buyer's back."""
    chosen = check_kind(kind)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("refund_reason_required", fields={"reason": "required"})
    if len(reason) > MAX_REFUND_REASON:
        raise ValidationError("refund_reason_too_long", max=MAX_REFUND_REASON, fields={"reason": "too_long"})
    order = lock_order(order.id)
    line = db.session.get(OrderLine, line_id)
    if line is None or line.order_id != order.id:
        raise NotFound("order_line_not_found")
    earlier = _requests_of_lines([line.id])[line.id]
    refusal = refund_request_refusal(line, earlier)
    if refusal is not None:
        raise refusal
    if any(r.reason.strip() == reason for r in turned_down(earlier)):
        raise ValidationError("refund_reason_unchanged", fields={"reason": "unchanged"})
    units = check_quantity(line, quantity)
    req = RefundRequest(
        order_id=order.id,
        order_line_id=line.id,
        station_id=line.station_id,
        quantity=units,
        amount_fen=units_fen(line, units),
        reason=reason,
        kind=chosen,
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


def waiting_count(station_id: int, *, kind: RefundKind | None = None) -> int:
    """How many refund requests of `station_id` wait for its decision (the station's desk says so and
    links to them: a buyer waits on each); with `kind`, those asking for it (退货退款: goods on their
    way back to the station)."""
    query = sa.select(sa.func.count(RefundRequest.id)).where(
        RefundRequest.station_id == station_id, RefundRequest.status == RefundRequestStatus.REQUESTED
    )
    if kind is not None:
        query = query.where(RefundRequest.kind == kind)
    return int(db.session.scalar(query) or 0)


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
    the request's quantity (None or "" is the request's quantity: the units it refunds). Refused with the reason, nothing changed:
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
        return GoodsDecision(choice, req.quantity)
    try:
        count = parse_int(quantity, minimum=1, maximum=req.quantity)
    except ValueError:
        raise ValidationError("invalid_restock_quantity", max=req.quantity, fields={"quantity": "invalid"}) from None
    return GoodsDecision(choice, count)


def check_note(note, *, rejecting: bool) -> str:
    """The station's note on its decision, checked: what the buyer reads under the line (处理说明). A
    rejection must say why (422 `refund_rejection_reason_required`: the buyer asks again by answering
    it); a note longer than `MAX_DECISION_NOTE` is refused (422 `refund_note_too_long`), never cut short
    behind the operator's back."""
    note = (note or "").strip()
    if rejecting and not note:
        raise ValidationError("refund_rejection_reason_required", fields={"note": "required"})
    if len(note) > MAX_DECISION_NOTE:
        raise ValidationError("refund_note_too_long", max=MAX_DECISION_NOTE, fields={"note": "too_long"})
    return note


def rejection_refusal(req: RefundRequest, note) -> str:
    """Raise why `reject_refund_request` would refuse now (a request decided already, a reason missing or
    too long), else return the note as it will be kept: the page asks it before its confirmation step."""
    if req.status != RefundRequestStatus.REQUESTED:
        raise Conflict("refund_request_decided")
    return check_note(note, rejecting=True)


def approve_refund_request(
    req_id: int, *, actor, now: datetime, goods, quantity=None, note: str = ""
) -> tuple[RefundRequest, Restocked | None]:
    """Approve: the money goes back (`refund_line`) and the goods as the station says (`check_goods`):
    restocked units go back into their lots (`stock.services.return_to_stock`, which takes the stock
    record's lock after the order's and the payment's). Returns the request and what was restocked."""
    req = _locked_for_decision(req_id, actor)
    decision = check_goods(req, goods, quantity)
    note = check_note(note, rejecting=False)
    transition(req, RefundRequestStatus.APPROVED, actor=actor, now=now, note=note)
    refund = refund_line(req.line, actor=actor, now=now, reason=req.reason, units=req.quantity)
    req.refund_id = refund.id if refund is not None else None
    req.decided_by_id = actor.id
    req.decided_at = now
    req.decision_note = note
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


def refund_of(req: RefundRequest) -> Refund | None:
    """The money an approved request sent back (None when nothing had been paid for the line yet, e.g.
    a cash order whose cash was not taken: what is due was lowered instead)."""
    return req.refund


def reject_refund_request(req_id: int, *, actor, now: datetime, note: str = "") -> RefundRequest:
    """Reject, saying why (`rejection_refusal`): the buyer reads the note and may ask again answering it."""
    req = _locked_for_decision(req_id, actor)
    note = rejection_refusal(req, note)
    transition(req, RefundRequestStatus.REJECTED, actor=actor, now=now, note=note)
    req.decided_by_id = actor.id
    req.decided_at = now
    req.decision_note = note
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
