"""Working a shipment through its state machine (orders.models.Shipment.TRANSITIONS).

    new → accepted → packed → shipped → delivered              (delivery "ship")
                          └→ ready_for_pickup → delivered       (delivery "pickup", packed at the chosen station)
                          └→ shipped → arrived → delivered      (delivery "pickup", packed at another station:
                                                                 sent to the chosen station, received there)
    new | accepted | packed | ready_for_pickup | arrived → canceled   (every line canceled)
    A transfer canceled (whole or in part) after it arrived: its goods go back to the packing
    station (return_status returning → returned by `receive_return`), whose stock is released then.

A pick-up order is collected whole at the station the buyer chose (`Order.pickup_station_id`), with
the one pick-up code every shipment of the order carries: the chosen station's operator receives
the shipments sent from other stations and hands the whole order over in one step (`hand_over_order`).
Who may do what (`may`): the packing station accepts, packs, ships and cancels its shipment; the
station that hands over (the chosen station for a pick-up order, else the packing station) receives,
takes the cash and hands over. docs/pickup.md has the rules.

Hand-over (deliver or pick-up) is the moment the goods leave the station: in the same transaction
the cash of a cash order is taken into the hand-over station's cash book
(`orders.services.cashbook.take_cash`; refused with 409 `cash_not_received`, nothing changed, unless it
is already there or handed over now as `cash_received_fen`), each open product line consumes its allocation
from the lots it holds (a recalled lot never leaves a counter: 409 `lot_recalled`) and is credited to its
households (`ledger.services.credit_line`); the order is then settled by `orders.services.settlement.settle_order`
(completed once every part of it — shipments and bookings — is settled; a stay still ahead keeps it
confirmed). Every step is recorded by `shop.history.transition` (time + actor) and the consumer is
notified by a Celery task after commit.

Packing names the lots that leave (#23): a line keeps the lots checkout gave it (first expiring first)
unless the packer scans another lot (`pack(lots=...)`), and no line may still hold an expired or
recalled lot (409 `lot_not_sellable`: scan another one).

Whether a step may be taken now has one home per step, a `*_refusal` predicate (None, or the DomainError the
step raises): the step asks it under its locks, and the confirmation step of the station's pages asks it
first (`step_refusal`), so a step that cannot be taken is refused at once, not after the operator confirmed.
The shipment page asks the same predicates which steps to offer (`offered_steps`): it shows a step's form
exactly when a POST of that step would be taken, and states no rule of its own.

Services here only flush; the route commits. A wrong pick-up code is the one failure whose effect
must survive: `hand_over_pickup` raises `WrongPickupCode` after counting the failure, and the caller
commits the count before answering (see `stations.views` / `stations.api`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from ledger.services import credit_line
from orders.models import Delivery, LineStatus, Order, OrderLine, OrderStatus, Refund, Shipment, ShipmentStatus
from orders.services.amounts import is_cash_order, paid_at_the_counter_before_shipping, shipment_due_fen
from orders.services.cashbook import check_cash, check_cash_for_order, take_cash, take_cash_for_order
from orders.services.common import adjust_delivered_count
from orders.services.payments import counter_cash_refusal, refund_line, settle_cash_payment, shipment_cancelable
from orders.services.pickup import handover_station_id, is_transfer, on_own_shelf, pickup_station_id
from orders.services.settlement import settle_order
from shop.auth.models import Role
from shop.auth.permissions import can_manage_station
from shop.celery import enqueue_after_commit
from shop.codes import same_secret, typed_code, typed_number, typed_numeric_code
from shop.errors import Conflict, DomainError, IllegalTransition, NotFound, ValidationError
from shop.extensions import db
from shop.history import can_transition, record_note, transition
from shop.timeutil import local_date
from stock.models import StockRecord
from stock.services import (
    LineStock,
    assign_lot,
    cancel_allocation,
    consume_allocation,
    held_lines,
    release_lines,
    unsellable_lots,
)

#: The history note of an order canceled because none of its parts took place, its goods last.
NOTHING_SUPPLIED = "no line could be supplied"

#: After this many wrong pick-up codes the shipment is locked for counter hand-over.
PICKUP_MAX_FAILURES = 5
#: The longest reason a canceled line keeps (the buyer is told it; a refund's reason holds as much): a
#: longer one is refused (`cancel_reason`), never cut.
MAX_CANCEL_REASON = 200

ACTIONS = ("accept", "pack", "ready", "ship", "receive", "deliver", "pickup", "cancel", "receive_return")
#: Actions of the station that hands the goods over (for a pick-up order: the chosen station).
HANDOVER_ACTIONS = frozenset({"receive", "pickup", "cash"})
OPEN_STATUSES = (
    ShipmentStatus.NEW,
    ShipmentStatus.ACCEPTED,
    ShipmentStatus.PACKED,
    ShipmentStatus.SHIPPED,
    ShipmentStatus.ARRIVED,
    ShipmentStatus.READY_FOR_PICKUP,
)
#: A pick-up order's shipment at its chosen station, waiting for the buyer.
AT_PICKUP_STATION = (ShipmentStatus.READY_FOR_PICKUP, ShipmentStatus.ARRIVED)


#: Shipment status -> its Chinese label (a msgid: show it through `status_label`, never bare).
#: Also listed in stations/translations/dynamic.pot, since the lookups are by variable.
STATUS_LABELS = {
    "new": "新订单",
    "accepted": "已接单",
    "packed": "已打包",
    "shipped": "已发货",
    "arrived": "已到自提站",
    "ready_for_pickup": "待自提",
    "delivered": "已交付",
    "canceled": "已取消",
}
#: A shipment's return to its packing station (`Shipment.return_status`) -> its Chinese label.
RETURN_LABELS = {
    "returning": "退回中",
    "returned": "已退回入库",
}


def status_label(status: str) -> str:
    """The shipment status in the current locale (the raw value if unknown)."""
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else str(status)


def return_label(return_status: str | None) -> str:
    """The return of a shipment's goods to its packing station, in the current locale ("" if none)."""
    return _(RETURN_LABELS[return_status]) if return_status in RETURN_LABELS else ""


class WrongPickupCode(Conflict):
    """The code read at the counter does not match. The failure count must be committed."""

    status = 422
    code = "wrong_pickup_code"


class PickupLocked(Conflict):
    code = "pickup_locked"


class NotYourStep(Conflict):
    """The station may see this shipment but this step belongs to the other station."""

    status = 403
    code = "forbidden"


# --- where a shipment goes, who may act ---------------------------------------------------------


def _raise_if(refusal: DomainError | None) -> None:
    """Raise the refusal a `*_refusal` predicate found, if any."""
    if refusal is not None:
        raise refusal


def may(user, shipment: Shipment, action: str) -> bool:
    """Whether `user` may take `action` on `shipment` (one of ACTIONS, or "cash")."""
    station_id = handover_station_id(shipment) if action in HANDOVER_ACTIONS else shipment.station_id
    return can_manage_station(user, station_id)


def _not_your_step(user, shipment: Shipment, action: str) -> NotYourStep | None:
    if may(user, shipment, action):
        return None
    return NotYourStep("pickup_station_only" if action in HANDOVER_ACTIONS else "not_your_step")


def require_may(user, shipment: Shipment, action: str) -> None:
    _raise_if(_not_your_step(user, shipment, action))


#: The status each step leaves a shipment in (`step_done_already`).
STEP_RESULTS = {
    "accept": ShipmentStatus.ACCEPTED,
    "pack": ShipmentStatus.PACKED,
    "ready": ShipmentStatus.READY_FOR_PICKUP,
    "ship": ShipmentStatus.SHIPPED,
    "receive": ShipmentStatus.ARRIVED,
    "deliver": ShipmentStatus.DELIVERED,
    "pickup": ShipmentStatus.DELIVERED,
    "cancel": ShipmentStatus.CANCELED,
}


def step_done_already(shipment: Shipment, action: str) -> bool:
    """The shipment stands where `action` would leave it: the step was taken already (a second tap, or
    确认 again after Back). The station's page says so and changes nothing, instead of refusing the step
    as if it had failed; the API still answers 409 with the state (`step_refusal`)."""
    return STEP_RESULTS.get(action) == shipment.status


def step_refusal(user, shipment: Shipment, action: str, *, tracking_number: str | None = None) -> DomainError | None:
    """Why `user` may not take `action` on `shipment` as it stands, or None when nothing stands against it:
    the other station's step (`require_may`), then the step's own predicate (accept, pack, ready, ship,
    receive, deliver, cancel, receive_return, the counter's early cash ("cash"), and the counter hand-over
    short of its code). The confirmation step asks this before it asks the operator
    (stations.views.shipment_action); the step itself asks the same predicates under its locks."""
    if action in (*ACTIONS, "cash") and (refusal := _not_your_step(user, shipment, action)) is not None:
        return refusal
    predicates = {
        "accept": accept_refusal,
        "pack": pack_refusal,
        "ready": ready_refusal,
        "receive": receive_refusal,
        "deliver": deliver_refusal,
        "pickup": pickup_refusal,
        "cancel": cancel_refusal,
        "receive_return": receive_return_refusal,
        "cash": counter_cash_refusal,
    }
    if action == "ship":
        return ship_refusal(shipment, tracking_number=tracking_number)
    predicate = predicates.get(action)
    return predicate(shipment) if predicate is not None else None


def _offered(refusal: DomainError | None) -> bool:
    """A step is offered when nothing stands against it but what its form asks for: a ValidationError is
    about the input (a parcel's tracking number); the counter hand-over's code is not asked by its
    predicate at all."""
    return refusal is None or isinstance(refusal, ValidationError)


#: Why a counter hand-over that is this station's, of a shipment waiting at the counter, is held whatever
#: code is typed: the rest of the order is not there yet, or wrong codes locked it (the page says which).
COUNTER_HOLDS = frozenset({"order_not_ready", "pickup_locked"})


@dataclass(frozen=True)
class Offer:
    """The steps the shipment page offers a user now (`offered_steps`); `step in offer` asks one.

    `steps`: the shipment's steps (ACTIONS, "cash" for the counter's early cash, "unlock" for an admin
    when wrong codes locked the counter hand-over); `lines`: the ids of the lines `cancel_line` would
    cancel; `counter_held`: the counter hand-over's refusal when it is one of COUNTER_HOLDS (the page
    shows the order at the counter and why it cannot be handed over yet), else None."""

    steps: frozenset[str]
    lines: frozenset[int]
    counter_held: DomainError | None = None

    def __contains__(self, step: object) -> bool:
        return step in self.steps

    @property
    def counter_locked(self) -> bool:
        """The counter hand-over is held because wrong codes locked it (an admin unlocks it)."""
        return isinstance(self.counter_held, PickupLocked)


def offered_steps(user, shipment: Shipment) -> Offer:
    """The steps `user` may take on `shipment` now, as the steps themselves would judge them (`step_refusal`,
    `cancel_line_refusal`): what the station's shipment page offers, and nothing else."""
    refusals = {action: step_refusal(user, shipment, action) for action in (*ACTIONS, "cash")}
    steps = {action for action, refusal in refusals.items() if _offered(refusal)}
    held = refusals["pickup"]
    counter_held = held if held is not None and held.code in COUNTER_HOLDS else None
    if user.role == Role.ADMIN and unlock_refusal(shipment) is None:
        steps.add("unlock")
    lines: frozenset[int] = frozenset()
    if _not_your_step(user, shipment, "cancel") is None:
        lines = frozenset(ln.id for ln in shipment.lines if cancel_line_refusal(ln) is None)
    return Offer(steps=frozenset(steps), lines=lines, counter_held=counter_held)


# --- loading ----------------------------------------------------------------------------------


def _shipment_query():
    return sa.select(Shipment).options(
        selectinload(Shipment.order),
        selectinload(Shipment.station),
        selectinload(Shipment.lines),
    )


def get_shipment_for(user, code: str) -> Shipment:
    """The shipment with public `code` if `user` manages its station, or the pick-up station its order
    goes to; else NotFound (no leak)."""
    code = typed_code(code)
    shipment = db.session.scalar(_shipment_query().where(Shipment.code == code)) if code else None
    if shipment is None or not (
        can_manage_station(user, shipment.station_id) or can_manage_station(user, pickup_station_id(shipment))
    ):
        raise NotFound("shipment_not_found")
    return shipment


def list_station_shipments(station_id: int, *, status: str | None = None, limit: int = 200) -> list[Shipment]:
    """The station's own shipments and, for pick-up orders collected here, those packed elsewhere."""
    incoming = sa.select(Order.id).where(Order.delivery == Delivery.PICKUP, Order.pickup_station_id == station_id)
    query = _shipment_query().where(sa.or_(Shipment.station_id == station_id, Shipment.order_id.in_(incoming)))
    if status:
        if status not in set(ShipmentStatus):
            raise ValidationError("unknown_status", fields={"status": "invalid"})
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
        raise Conflict("no_stock_record_for_product")
    return record_id


def _notify(shipment: Shipment, event: str) -> None:
    enqueue_after_commit("stations.tasks.notify_shipment", shipment.id, event)


def order_shipments(order: Order) -> list[Shipment]:
    return sorted(order.shipments, key=lambda s: s.id)


def live_shipments(order: Order) -> list[Shipment]:
    """The shipments still to hand over (not canceled, not delivered)."""
    return [s for s in order_shipments(order) if s.status in OPEN_STATUSES]


def order_ready_for_pickup(order: Order) -> bool:
    """Every live shipment of a pick-up order waits at the chosen station."""
    live = live_shipments(order)
    return bool(live) and all(s.status in AT_PICKUP_STATION for s in live)


def not_yet_at_pickup_station(shipment: Shipment, shipments: list[Shipment] | None = None) -> list[Shipment]:
    """The live shipments of `shipment`'s pick-up order the counter hand-over still waits for (goods
    on their way, or still being packed); none for a shipment handed over alone from its own shelf."""
    if on_own_shelf(shipment):
        return []
    shipments = order_shipments(shipment.order) if shipments is None else shipments
    return [
        s for s in shipments if s.status in OPEN_STATUSES and not on_own_shelf(s) and s.status not in AT_PICKUP_STATION
    ]


def _notify_if_order_ready(shipment: Shipment) -> None:
    """Tell the buyer once the whole order waits at the chosen station (with the code)."""
    db.session.flush()
    if order_ready_for_pickup(shipment.order):
        _notify(shipment, "ready_for_pickup")


def _order_not_open(shipment: Shipment) -> Conflict | None:
    """Refused while the order is not confirmed (not yet paid, or canceled, expired or completed)."""
    return Conflict("order_not_confirmed") if shipment.order.status != OrderStatus.CONFIRMED else None


# --- steps ------------------------------------------------------------------------------------


def _cannot_become(shipment: Shipment, to: str) -> IllegalTransition | None:
    """Refused when the state machine has no step from the shipment's status to `to`."""
    if can_transition(shipment, to):
        return None
    return IllegalTransition(fields={"status": str(shipment.status), "to": to})


def accept_refusal(shipment: Shipment) -> DomainError | None:
    """Why `accept` refuses the shipment now (None: the station may take it on): its order open, the
    shipment new."""
    return _order_not_open(shipment) or _cannot_become(shipment, ShipmentStatus.ACCEPTED)


def accept(shipment: Shipment, *, actor, now: datetime) -> Shipment:
    """new → accepted; refused as `accept_refusal` says."""
    _lock(shipment)
    _raise_if(accept_refusal(shipment))
    transition(shipment, ShipmentStatus.ACCEPTED, actor=actor, now=now)
    _notify(shipment, "accepted")
    db.session.flush()
    return shipment


class LotNotSellable(Conflict):
    code = "lot_not_sellable"


def _pack_lots(shipment: Shipment, lots: dict[int, str] | None, *, actor, now: datetime) -> None:
    """The lots the packer scanned ({line id: lot code}) become the lines' lots; then no line may
    still hold a lot that is expired or recalled (the packer scans another one)."""
    lines = _open_product_lines(shipment)
    by_id = {line.id: line for line in lines}
    for line_id, code in sorted((lots or {}).items()):
        line = by_id.get(line_id)
        if line is None:
            raise ValidationError("shipment_line_not_found", fields={"lots": str(line_id)})
        if not (code or "").strip() or line.product_id is None:
            continue
        assign_lot(
            LineStock(
                line_id=line.id, record_id=_record_id_for(line), product_id=line.product_id, quantity=line.quantity
            ),
            code,
            now=now,
            actor=actor,
        )
    blocked = unsellable_lots([line.id for line in lines], today=local_date(now))
    if blocked:
        raise LotNotSellable(
            "lot_not_sellable", codes="、".join(lot.code for lot in blocked), fields={"lots": "blocked"}
        )


def pack_refusal(shipment: Shipment) -> DomainError | None:
    """Why `pack` refuses the shipment now, whatever lots are scanned (None: it may be packed): its order
    open, the shipment accepted. The lots are checked by the step (`lot_not_sellable`: scan another)."""
    return _order_not_open(shipment) or _cannot_become(shipment, ShipmentStatus.PACKED)


def pack(shipment: Shipment, *, actor, now: datetime, lots: dict[int, str] | None = None) -> Shipment:
    """Packed; a pick-up shipment is then on the counter shelf, ready for pick-up, in the same step.

    `lots` ({order line id: lot code}) are the lots the packer scanned; lines not named keep the
    lots they were given at checkout (first expiring first). Refused as `pack_refusal` says."""
    _lock(shipment)
    _raise_if(pack_refusal(shipment))
    _pack_lots(shipment, lots, actor=actor, now=now)
    transition(shipment, ShipmentStatus.PACKED, actor=actor, now=now)
    if shipment.order.delivery == Delivery.PICKUP and not is_transfer(shipment):
        transition(shipment, ShipmentStatus.READY_FOR_PICKUP, actor=actor, now=now)
        _notify_if_order_ready(shipment)
    else:
        _notify(shipment, "packed")
    db.session.flush()
    return shipment


def ready_refusal(shipment: Shipment) -> DomainError | None:
    """Why `mark_ready` refuses the shipment now (None: it may be put on the counter shelf)."""
    if (refusal := _order_not_open(shipment)) is not None:
        return refusal
    if shipment.order.delivery != Delivery.PICKUP:
        return IllegalTransition("not_a_pickup", fields={"status": shipment.status})
    if is_transfer(shipment):
        return IllegalTransition("wrong_pickup_station", fields={"status": shipment.status})
    return _cannot_become(shipment, ShipmentStatus.READY_FOR_PICKUP)


def mark_ready(shipment: Shipment, *, actor, now: datetime) -> Shipment:
    """packed → ready_for_pickup (for a pick-up shipment packed before this rule existed)."""
    _lock(shipment)
    _raise_if(ready_refusal(shipment))
    transition(shipment, ShipmentStatus.READY_FOR_PICKUP, actor=actor, now=now)
    _notify_if_order_ready(shipment)
    db.session.flush()
    return shipment


def typed_tracking_number(text: str | None) -> str:
    """A courier's tracking number as the operator typed, pasted or scanned it, kept in the form the courier
    issued it (`shop.codes.typed_number`): full-width characters (a Chinese input method) made ASCII, spaces
    (typed in groups, or around it) dropped. The buyer copies it into the courier's site, which knows no
    ＳＦ１２３４."""
    return typed_number(text)


def ship_refusal(shipment: Shipment, *, tracking_number: str | None) -> DomainError | None:
    """Why `ship` refuses the shipment now (None: it may leave): the order must be open, the shipment a
    parcel by post or a transfer to the chosen pick-up station, packed, a parcel paid at the counter
    (到站点付款 shipped home, placed before it was refused: `amounts.paid_at_the_counter_before_shipping`)
    paid — its cash in the station's cash book (409 `cash_before_shipping`; the page offers 确认已收现金
    instead) — and a parcel needs a tracking number (at most 40 characters, as `typed_tracking_number` keeps it)."""
    tracking = typed_tracking_number(tracking_number)
    if (refusal := _order_not_open(shipment)) is not None:
        return refusal
    if shipment.order.delivery != Delivery.SHIP and not is_transfer(shipment):
        return IllegalTransition("pickup_not_shippable", fields={"status": shipment.status})
    if not can_transition(shipment, ShipmentStatus.SHIPPED):
        return IllegalTransition(
            "cannot_ship", status=status_label(shipment.status), fields={"status": shipment.status}
        )
    unpaid = shipment.cash_received_at is None and shipment_due_fen(shipment) > 0
    if paid_at_the_counter_before_shipping(shipment.order) and unpaid:
        return Conflict("cash_before_shipping", fields={"cash_received": "false"})
    if len(tracking) > 40:
        return ValidationError("tracking_number_required", fields={"tracking_number": "too_long"})
    if not tracking and not is_transfer(shipment):
        return ValidationError("tracking_number_required", fields={"tracking_number": "required"})
    return None


def ship(shipment: Shipment, *, tracking_number: str | None, actor, now: datetime) -> Shipment:
    """Sent by post to the buyer (a tracking number is required), or — a pick-up order's shipment
    packed at another station — sent to the chosen station (tracking number optional); refused as
    `ship_refusal` says."""
    _lock(shipment)
    _raise_if(ship_refusal(shipment, tracking_number=tracking_number))
    tracking = typed_tracking_number(tracking_number)
    transition(shipment, ShipmentStatus.SHIPPED, actor=actor, now=now, note=tracking)
    shipment.tracking_number = tracking
    _notify(shipment, "shipped")
    db.session.flush()
    return shipment


def receive_refusal(shipment: Shipment) -> DomainError | None:
    """Why `receive` refuses the shipment now (None: the chosen station may take it in)."""
    if (refusal := _order_not_open(shipment)) is not None:
        return refusal
    if not is_transfer(shipment):
        return IllegalTransition("nothing_to_receive", fields={"status": shipment.status})
    if shipment.status != ShipmentStatus.SHIPPED:
        return IllegalTransition(
            "cannot_receive", status=status_label(shipment.status), fields={"status": shipment.status}
        )
    return None


def receive(shipment: Shipment, *, actor, now: datetime) -> Shipment:
    """shipped → arrived: the chosen pick-up station received a shipment sent from another station."""
    _lock(shipment)
    _raise_if(receive_refusal(shipment))
    transition(shipment, ShipmentStatus.ARRIVED, actor=actor, now=now, note="received")
    _notify_if_order_ready(shipment)
    db.session.flush()
    return shipment


def _hand_over(
    shipment: Shipment, *, actor, now: datetime, note: str, cash_received_fen: int | None = None
) -> Shipment:
    """Take the cash (cash orders), consume allocations, credit households, mark delivered, complete
    the order if all settled — one transaction. A cash shipment whose cash is not in the book and not
    handed over now (`cash_received_fen` = the amount due) is refused before anything changes."""
    if is_cash_order(shipment.order):
        take_cash(shipment, cash_received_fen, actor=actor, now=now)
        settle_cash_payment(shipment.order, actor=actor, now=now)
    lines = _open_product_lines(shipment)
    pairs = sorted(((_record_id_for(line), line) for line in lines), key=lambda pair: (pair[0], pair[1].id))
    at_counter = note != "delivered"  # a parcel delivered by post left the station when it was shipped
    for record_id, line in pairs:  # the global lock order: stock records by id
        consume_allocation(
            record_id, line.quantity, order_line_id=line.id, actor=actor, now=now, refuse_recalled=at_counter
        )
    transition(shipment, ShipmentStatus.DELIVERED, actor=actor, now=now, note=note)
    shipment.delivered_at = now
    adjust_delivered_count(lines, +1)
    for line in lines:
        credit_line(line, now=now)
    settle_order(shipment.order, actor=actor, now=now, note=NOTHING_SUPPLIED)
    _notify(shipment, "delivered")
    db.session.flush()
    return shipment


def deliver_refusal(shipment: Shipment) -> DomainError | None:
    """Why `deliver` refuses the shipment now (None: the parcel may be marked handed to the buyer): it must
    be shipped, its order open, and sent by post (a pick-up order is handed over at the chosen station).
    The cash of a cash-on-delivery parcel is checked by the hand-over itself (`take_cash`)."""
    if shipment.status != ShipmentStatus.SHIPPED:
        return IllegalTransition(
            "cannot_deliver", status=status_label(shipment.status), fields={"status": shipment.status}
        )
    if (refusal := _order_not_open(shipment)) is not None:
        return refusal
    if shipment.order.delivery != Delivery.SHIP:
        return IllegalTransition("pickup_needs_code", fields={"status": shipment.status})
    return None


def deliver(shipment: Shipment, *, actor, now: datetime, cash_received_fen: int | None = None) -> Shipment:
    """A shipped parcel reached the buyer (cash on delivery: with its cash); refused as `deliver_refusal` says."""
    _lock(shipment)
    _raise_if(deliver_refusal(shipment))
    return _hand_over(shipment, actor=actor, now=now, note="delivered", cash_received_fen=cash_received_fen)


def check_deliver(shipment: Shipment, *, cash_received_fen: int | None = None) -> None:
    """The parcel hand-over's refusals before its confirmation step (stations.views.shipment_action): what
    `deliver` would refuse now — `deliver_refusal`, and for cash on delivery cash other than what is due —
    raised, so that the operator is not asked "确认…交付？" (the confirmation step) for a hand-over that is then refused (as
    `check_pickup` does at the counter). Writes nothing."""
    _raise_if(deliver_refusal(shipment))
    if is_cash_order(shipment.order):
        check_cash(shipment, cash_received_fen)


def _lock_order_shipments(order: Order) -> list[Shipment]:
    """Lock the order, then its shipments by id (the global order: order row, then shipments)."""
    db.session.execute(sa.select(Order.id).where(Order.id == order.id).with_for_update())
    ids = list(
        db.session.scalars(
            sa.select(Shipment.id).where(Shipment.order_id == order.id).order_by(Shipment.id).with_for_update()
        )
    )
    for shipment in order.shipments:
        db.session.refresh(shipment)
    db.session.refresh(order)
    return [s for s in order_shipments(order) if s.id in ids]


def _handed_over_together(shipment: Shipment, shipments: list[Shipment]) -> list[Shipment]:
    """The shipments a counter hand-over of `shipment` hands over: itself alone from its own shelf, else every
    live shipment of the order waiting at the chosen station."""
    if on_own_shelf(shipment):
        return [shipment]
    return [s for s in shipments if s.status in OPEN_STATUSES and not on_own_shelf(s)]


def pickup_refusal(shipment: Shipment, shipments: list[Shipment] | None = None) -> DomainError | None:
    """Why the counter hand-over refuses `shipment` now, whatever code is typed (None: it may ask for the
    code): it must wait at the chosen station, its order open, every shipment handed over with it there,
    and the code not locked by wrong tries. `shipments`: the order's (as locked by the hand-over)."""
    shipments = order_shipments(shipment.order) if shipments is None else shipments
    if shipment.status not in AT_PICKUP_STATION:
        return IllegalTransition(
            "cannot_deliver", status=status_label(shipment.status), fields={"status": shipment.status}
        )
    if (refusal := _order_not_open(shipment)) is not None:
        return refusal
    waiting = not_yet_at_pickup_station(shipment, shipments)
    if waiting:
        return Conflict("order_not_ready", codes="、".join(s.code for s in waiting))
    if any(s.pickup_failures >= PICKUP_MAX_FAILURES for s in _handed_over_together(shipment, shipments)):
        return PickupLocked("pickup_locked")
    return None


def hand_over_pickup(
    shipment: Shipment, *, pickup_code: str | None, actor, now: datetime, cash_received_fen: int | None = None
) -> Shipment:
    """Counter hand-over of the whole pick-up order `shipment` belongs to, against the buyer's one
    pick-up code; wrong codes are counted (on every live shipment of the order), then locked out.

    Every live shipment must wait at the chosen station (its own: ready for pick-up; from another
    station: arrived). For a cash order the cash of every shipment not yet in the book is taken in
    the same step: `cash_received_fen` must equal the sum still due (`outstanding_cash_fen`).
    """
    order = shipment.order
    live = _checked_pickup(shipment, pickup_code, actor=actor, now=now)
    if is_cash_order(order):
        take_cash_for_order(live, cash_received_fen, actor=actor, now=now)
    for s in live:
        _hand_over(s, actor=actor, now=now, note="picked up")
    db.session.refresh(shipment)
    return shipment


def check_pickup(
    shipment: Shipment, *, pickup_code: str | None, actor, now: datetime, cash_received_fen: int | None = None
) -> None:
    """The counter hand-over's refusals before its confirmation step (stations.views.shipment_action): what
    `hand_over_pickup` would refuse now — `pickup_refusal`, a wrong code (counted, as a hand-over counts
    it: the caller commits on `WrongPickupCode`), cash other than what is due — raised, so that the
    operator is not asked "确认…交付？" (the confirmation step) for a hand-over that is then refused. Hands nothing over."""
    live = _checked_pickup(shipment, pickup_code, actor=actor, now=now)
    if is_cash_order(shipment.order):
        check_cash_for_order(live, cash_received_fen)


def _checked_pickup(shipment: Shipment, pickup_code: str | None, *, actor, now: datetime) -> list[Shipment]:
    """The order's shipments locked, the hand-over's refusals but the cash's raised (the hand-over's cash is
    checked where it is taken, `take_cash_for_order`); returns the shipments handed over together. A wrong
    code is counted on each of them and written in their history with who typed it (取货码错误), so the
    shipment page shows the tries that led to a lock, not only its unlock."""
    shipments = _lock_order_shipments(shipment.order)
    _raise_if(pickup_refusal(shipment, shipments))
    live = _handed_over_together(shipment, shipments)
    code = typed_numeric_code(pickup_code)
    if not all(same_secret(code, s.pickup_code) for s in live):
        table = Shipment.__table__
        db.session.execute(
            sa.update(table)
            .where(table.c.id.in_([s.id for s in live]))
            .values(pickup_failures=table.c.pickup_failures + 1)
        )
        db.session.flush()
        for s in live:
            db.session.refresh(s)
            record_note(s, "wrong pickup code", actor=actor, now=now)
        left = max(PICKUP_MAX_FAILURES - max(s.pickup_failures for s in live), 0)
        raise WrongPickupCode("wrong_pickup_code", fields={"pickup_code": "wrong", "attempts_left": str(left)})
    return live


def unlock_refusal(shipment: Shipment, shipments: list[Shipment] | None = None) -> DomainError | None:
    """Why `unlock_pickup` refuses now (None: wrong codes locked the counter hand-over of `shipment`).
    `shipments`: the order's (as locked by the unlock)."""
    if isinstance(pickup_refusal(shipment, shipments), PickupLocked):
        return None
    return Conflict("pickup_not_locked")


def unlock_pickup(shipment: Shipment, *, actor, now: datetime) -> Shipment:
    """Admin: reset the wrong-code counter (recorded in the shipment's history); refused as
    `unlock_refusal` says (nothing to unlock)."""
    shipments = _lock_order_shipments(shipment.order)
    _raise_if(unlock_refusal(shipment, shipments))
    for s in shipments:  # the counter is the order's: every shipment's
        if s.pickup_failures or s.id == shipment.id:
            s.pickup_failures = 0
            record_note(s, "pickup unlocked", actor=actor, now=now)
    db.session.flush()
    return shipment


# --- goods going back ---------------------------------------------------------------------------


def receive_return_refusal(shipment: Shipment) -> DomainError | None:
    """Why `receive_return` refuses the shipment now (None: its goods are on their way back to be taken in)."""
    if shipment.return_status != "returning":
        return IllegalTransition("nothing_to_return", fields={"return_status": shipment.return_status or ""})
    return None


def receive_return(shipment: Shipment, *, actor, now: datetime) -> Shipment:
    """The packing station received back the goods of a pick-up transfer canceled after it arrived at
    the chosen station (`return_status` returning → returned): their allocation is released now, so
    the stock is available again — not before (`orders.services.payments.release_allocation`).
    Refused as `receive_return_refusal` says."""
    _lock(shipment)
    _raise_if(receive_return_refusal(shipment))
    stock = {int(record_id): int(quantity) for record_id, quantity in (shipment.return_stock or {}).items()}
    # the lots the canceled lines still hold are given back with them (a recalled lot's are blocked)
    held = held_lines([ln.id for ln in shipment.lines if ln.kind == "product" and ln.status != LineStatus.OPEN])
    release_lines(held, now=now, actor=actor)
    for item in held:
        stock[item.record_id] = stock.get(item.record_id, 0) - item.quantity
    rest = {record_id: quantity for record_id, quantity in stock.items() if quantity > 0}
    if rest:  # allocations older than lots (none since #23's migration): records only
        cancel_allocation(rest)
    shipment.return_status = "returned"
    record_note(shipment, "returned to the packing station", actor=actor, now=now)
    db.session.flush()
    return shipment


# --- cancellation ------------------------------------------------------------------------------


def cancel_line_refusal(line: OrderLine) -> DomainError | None:
    """Why `cancel_line` refuses the line now, whatever reason is given (None: it may be canceled): the
    line still open, its shipment not yet gone from the station, the order open."""
    if line.status != LineStatus.OPEN:
        return Conflict("line_not_open")
    shipment = line.shipment
    if not shipment_cancelable(shipment):
        return IllegalTransition(
            "cannot_cancel_line", status=status_label(shipment.status), fields={"status": shipment.status}
        )
    return _order_not_open(shipment)


def cancel_reason(text: str | None) -> str:
    """A line's cancel reason as it is kept and told to the buyer: stripped; refused when empty (422
    `cancel_reason_required`) or longer than `MAX_CANCEL_REASON` (422 `cancel_reason_too_long`, naming
    the limit), never cut."""
    reason = (text or "").strip()
    if not reason:
        raise ValidationError("cancel_reason_required", fields={"reason": "required"})
    if len(reason) > MAX_CANCEL_REASON:
        raise ValidationError("cancel_reason_too_long", fields={"reason": "too_long"}, max=MAX_CANCEL_REASON)
    return reason


def cancel_line(line: OrderLine, *, actor, now: datetime, reason: str) -> Refund | None:
    """A line that cannot be supplied: release its stock, refund it, tell the buyer why. Returns the
    refund made (None: nothing had been paid for it), so the station is told what to give back — cash
    taken ahead at the counter goes back over the counter (`orders.refund_messages.canceled_line_money`).

    `orders.services.payments.refund_line` releases the allocation, refunds what was paid (or lowers
    the cash still due), marks the line refunded and cancels the shipment when no line is left;
    this adds the reason to the shipment's history, settles the order and notifies the buyer.
    Refused as `cancel_line_refusal` says, and for a reason empty or too long (`cancel_reason`).
    """
    return withdraw_line(line, actor=actor, now=now, reason=cancel_reason(reason))


def withdraw_line(
    line: OrderLine, *, actor, now: datetime, reason: str, mail: str | None = "line_canceled"
) -> Refund | None:
    """`cancel_line` for a reason the code composed, not one an operator typed (a recall's 批次 X 召回：
    <the recall's reason>, `stations.services.recalls.refund_recalled`): kept and told whole, not bound
    by `MAX_CANCEL_REASON`. `mail`: the buyer's mail of it (None: the caller mails the order once for
    all the lines it settles, as the recall's one-step refund does)."""
    shipment = line.shipment
    if shipment is None:
        raise NotFound("line_not_found")
    _lock(shipment)
    db.session.refresh(line)
    _raise_if(cancel_line_refusal(line))
    # the buyer's one mail of it: the order's (`line_canceled`, with the reason), queued by refund_line
    refund = refund_line(line, actor=actor, now=now, reason=reason, mail=mail)
    db.session.flush()
    db.session.refresh(shipment)

    record_note(shipment, f"line {line.id} canceled: {reason}", actor=actor, now=now)
    if shipment.status != ShipmentStatus.CANCELED and not any(ln.status == LineStatus.OPEN for ln in shipment.lines):
        transition(shipment, ShipmentStatus.CANCELED, actor=actor, now=now, note=reason)
    settle_order(shipment.order, actor=actor, now=now, note=NOTHING_SUPPLIED)
    db.session.flush()
    return refund


def cancel_refusal(shipment: Shipment) -> DomainError | None:
    """Why `cancel_shipment` refuses the shipment now (None: it may be canceled): only until it leaves the
    station (`orders.services.payments.shipment_cancelable`), and while its order is open (as each line's
    cancellation, `cancel_line_refusal`)."""
    if not shipment_cancelable(shipment):
        return IllegalTransition(
            "cannot_cancel_shipment", status=status_label(shipment.status), fields={"status": shipment.status}
        )
    return _order_not_open(shipment)


def cancel_shipment(shipment: Shipment, *, actor, now: datetime, reason: str) -> Shipment:
    """Cancel every open line of the shipment (the API's `cancel` action)."""
    reason = cancel_reason((reason or "").strip() or "无法供货")
    _raise_if(cancel_refusal(shipment))
    open_lines = [ln for ln in shipment.lines if ln.status == LineStatus.OPEN]
    if not open_lines:
        _lock(shipment)
        transition(shipment, ShipmentStatus.CANCELED, actor=actor, now=now, note=reason)
        settle_order(shipment.order, actor=actor, now=now, note=NOTHING_SUPPLIED)
    for line in open_lines:
        cancel_line(line, actor=actor, now=now, reason=reason)
    db.session.refresh(shipment)
    return shipment


# --- one entry point for the API and the form --------------------------------------------------


def apply_action(
    shipment: Shipment,
    action: str,
    *,
    actor,
    now: datetime,
    tracking_number: str | None = None,
    pickup_code: str | None = None,
    reason: str | None = None,
    cash_received_fen: int | None = None,
    lots: dict[int, str] | None = None,
) -> Shipment:
    """The operator's step; refused (403) when it belongs to the other station (`may`)."""
    if action in ACTIONS:
        require_may(actor, shipment, action)
    if action == "accept":
        return accept(shipment, actor=actor, now=now)
    if action == "pack":
        return pack(shipment, actor=actor, now=now, lots=lots)
    if action == "ready":
        return mark_ready(shipment, actor=actor, now=now)
    if action == "ship":
        return ship(shipment, tracking_number=tracking_number, actor=actor, now=now)
    if action == "receive":
        return receive(shipment, actor=actor, now=now)
    if action == "deliver":
        return deliver(shipment, actor=actor, now=now, cash_received_fen=cash_received_fen)
    if action == "pickup":
        return hand_over_pickup(
            shipment, pickup_code=pickup_code, actor=actor, now=now, cash_received_fen=cash_received_fen
        )
    if action == "cancel":
        return cancel_shipment(shipment, actor=actor, now=now, reason=reason or "")
    if action == "receive_return":
        return receive_return(shipment, actor=actor, now=now)
    raise ValidationError("unknown_action", fields={"action": "invalid"})


def shipment_amount_fen(shipment: Shipment) -> int:
    """What the buyer owes for this shipment (`orders.services.amounts.shipment_due_fen`)."""
    return shipment_due_fen(shipment)
