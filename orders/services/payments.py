"""Payments as a state machine (OrderPayment.TRANSITIONS), pretix style.

* `start_payment` — after the order is committed: create the Stripe PaymentIntent (idempotency key
  = the payment's public code) and store its id and client secret. A network call: never inside
  a transaction holding locks. When Stripe is unreachable or slow it raises `ProviderUnavailable`
  and changes nothing: the order stays pending with its stock allocated until it expires, and the
  buyer's retry sends the same key, so a PaymentIntent Stripe created while its answer was lost is
  returned again instead of a second one (and a webhook for it that arrives first is matched by
  the intent's metadata, see `payment_for_intent`). `start_new_payment` does the same for the card
  payment of an order the request has just placed (`POST /orders`), from what it kept of the
  payment before the commit (`NewCardPayment`): nothing is read again before the provider call.
* `confirm_payment` — lock the payment row, return if already done (idempotent); the order becomes
  confirmed. If the order had expired meanwhile, its stock is allocated again if possible, else
  the money is refunded automatically.
* `fail_payment` — a failed attempt (ignored once confirmed: late events change nothing).
* `refund_payment` / `refund_line` — Refund rows; the provider call runs after commit
  (`orders.tasks.execute_refund`). Cash refunds are handed back at the counter (no provider).
  A refund naming a line reverses that line's credit for what it gives back
  (`reverse_refunded_credit`): the one place where refunds meet the income ledger.
* `confirm_cash` — pay at station / cash on delivery, confirmed by the station workspace.
* `cancel_order` — before shipping: releases stock, refunds a paid card order.
* `handle_provider_event` — the webhook's effect, stored with the event id in one transaction.
* `refunds_to_retry` — card refunds still `created` (Stripe was down when they were sent); beat
  hands them to `orders.tasks.execute_refund` again, under the same idempotency key.

Lock order everywhere here: the order row, then the payment row, then stock records (placement
locks only stock records and creates new rows, so no cycle is possible).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ledger import services as ledger
from orders import signals
from orders.bookables import booking_lines
from orders.models import (
    REFUND_OWED,
    Delivery,
    LineStatus,
    Order,
    OrderLine,
    OrderPayment,
    OrderStatus,
    PaymentMethod,
    PaymentState,
    Refund,
    Shipment,
    ShipmentStatus,
    StripeEvent,
)
from orders.providers import Intent, ProviderError, ProviderUnavailable, WebhookEvent, extra_methods, get_provider
from orders.services import cashbook as cash
from orders.services.amounts import (
    is_cash_order,
    line_due_fen,
    paid_at_the_door,
    shipment_due_fen,
    units_fen,
    units_left,
)
from orders.services.common import (
    adjust_delivered_count,
    adjust_sold_count,
    lock_order,
    lock_payment,
    notify,
    refund_made,
    step_refunds,
    stock_lines,
)
from orders.services.recalled import holds_recalled_lot
from shop.auth.permissions import can_manage_station
from shop.celery import enqueue_after_commit
from shop.db import statement
from shop.errors import Conflict, DomainError, NotFound, ValidationError
from shop.extensions import db
from shop.history import can_transition, check_transition, record_note, record_statuses, transition
from shop.money import format_yuan
from shop.timeutil import local_date
from stock.services import OutOfStock, allocate_lines, release_lines

log = logging.getLogger(__name__)

#: Shipments in these states have not left the station: their lines, and their order, may still be canceled.
CANCELABLE_SHIPMENTS = frozenset(
    {
        ShipmentStatus.NEW,
        ShipmentStatus.ACCEPTED,
        ShipmentStatus.PACKED,
        ShipmentStatus.READY_FOR_PICKUP,
        ShipmentStatus.ARRIVED,
    }
)  # arrived: at the chosen pick-up station, not yet handed over


def shipment_cancelable(shipment: Shipment) -> bool:
    """Whether the shipment's lines may still be canceled: it has not left the station (nor been handed over)."""
    return shipment.status in CANCELABLE_SHIPMENTS


def cancel_refusal(order: Order) -> str | None:
    """Why the buyer may not cancel the order now, as an error code, or None ("cancellable until shipped"):
    it must be pending or confirmed, and no shipment of it may have left its station. `cancel_order`
    refuses exactly this under its lock; the cancel confirmation page asks it first."""
    if order.status not in (OrderStatus.PENDING, OrderStatus.CONFIRMED):
        return "order_not_cancelable"
    if not all(s.status == ShipmentStatus.CANCELED or shipment_cancelable(s) for s in order.shipments):
        return "already_shipped"
    return None


def order_cancelable(order: Order) -> bool:
    """Whether the order may still be canceled (`cancel_refusal` finds nothing); pages ask this."""
    return cancel_refusal(order) is None


def current_payment(order: Order) -> OrderPayment | None:
    return order.payments[-1] if order.payments else None


#: The states of a payment the buyer may still make: not started yet, started, or failed and tried again.
PAYABLE_STATES = frozenset({PaymentState.CREATED, PaymentState.PENDING, PaymentState.FAILED})


def pay_refusal(order: Order, payment: OrderPayment | None) -> Conflict | None:
    """Why the buyer may not pay the order now, or None: the one rule every pay step asks (`start_payment`,
    `pay_with_card`, and through them `POST /orders/<code>/pay`; the order page, which offers the pay
    button or the bank account only when it finds nothing). 409 `not_payable`: the order is not pending
    (paid, canceled, expired) or `payment` is not waiting (`PAYABLE_STATES`); 409 `recalled_lot_unpaid`:
    the order holds a recalled lot, which is never paid for (`orders.services.recalled`): it is canceled,
    by the recall or by the buyer. How it is paid (a card, a bank transfer) is the caller's to check."""
    if order.status != OrderStatus.PENDING or payment is None or payment.state not in PAYABLE_STATES:
        return Conflict("not_payable")
    if holds_recalled_lot(order.id):
        return Conflict("recalled_lot_unpaid")
    return None


# --- starting a card payment ------------------------------------------------------------------


def start_payment(payment: OrderPayment, *, now: datetime) -> OrderPayment:
    """Create (or find again, same idempotency key) the PaymentIntent; store id and client secret.

    Call after the order's transaction is committed; flushes only.
    """
    if payment.provider != "stripe":
        raise ValidationError("no_online_payment")
    if (refusal := pay_refusal(payment.order, payment)) is not None:
        raise refusal
    if payment.provider_ref:
        intent = get_provider("stripe").retrieve_intent(payment.provider_ref)
    else:
        intent = _create_intent(NewCardPayment.of(payment))
    return _store_intent(payment.id, intent, now=now)


@dataclass(frozen=True)
class NewCardPayment:
    """A card payment just placed with its order, as the provider is asked for its PaymentIntent:
    read before the placement's commit expires the rows (`NewCardPayment.of`), so that
    `start_new_payment` after the commit reads nothing again before the provider call."""

    payment_id: int
    amount_fen: int
    currency: str
    #: The payment's public code: the PaymentIntent's idempotency key.
    key: str
    order_code: str

    @classmethod
    def of(cls, payment: OrderPayment) -> NewCardPayment:
        return cls(payment.id, payment.amount_fen, payment.currency, payment.full_code, payment.order.code)


def start_new_payment(new: NewCardPayment, *, now: datetime) -> OrderPayment:
    """`start_payment` for the card payment of an order this request has just placed and committed
    (`place_order`: payment `created`, order `pending`, no intent yet): the PaymentIntent is created
    from what `new` kept, then stored by one guarded UPDATE that moves the payment `created` ->
    `pending` only if it is still `created` without an intent, and returns the row (`_store_new_intent`).
    A payment that moved meanwhile (the order canceled, or a retry stored the intent first) is left to
    `_store_intent`, which locks it and stores what still applies, as `start_payment` does. Flushes only."""
    intent = _create_intent(new)
    return _store_new_intent(new.payment_id, intent, now=now) or _store_intent(new.payment_id, intent, now=now)


def _create_intent(new: NewCardPayment) -> Intent:
    return get_provider("stripe").create_intent(
        amount_fen=new.amount_fen,
        currency=new.currency.lower(),
        idempotency_key=new.key,
        metadata={"order_code": new.order_code, "payment": new.key},
        methods=["card", *extra_methods()],
    )


def _store_new_intent_statement() -> sa.Update:
    return (
        sa.update(OrderPayment)
        .where(
            OrderPayment.id == sa.bindparam("payment_id"),
            OrderPayment.state == PaymentState.CREATED,
            OrderPayment.provider_ref.is_(None),
        )
        .values(provider_ref=sa.bindparam("ref"), client_secret=sa.bindparam("secret"), state=PaymentState.PENDING)
        .returning(OrderPayment)
    )


def _store_new_intent(payment_id: int, intent: Intent, *, now: datetime) -> OrderPayment | None:
    """The intent of a payment still `created` without one, stored and the payment moved to `pending`
    in one UPDATE ... RETURNING (the row's lock is the UPDATE's own; nothing is read first), with its
    status event; None, and nothing written, when the payment is no longer so."""
    check_transition(OrderPayment, PaymentState.CREATED, PaymentState.PENDING)
    payment = db.session.scalars(
        statement("orders.store_new_intent", _store_new_intent_statement),
        {"payment_id": payment_id, "ref": intent.id, "secret": intent.client_secret},
        execution_options={"populate_existing": True},
    ).one_or_none()
    if payment is None:
        return None
    record_statuses([(payment, PaymentState.CREATED, PaymentState.PENDING, intent.id)], now=now)
    return payment


def _store_intent(payment_id: int, intent: Intent, *, now: datetime) -> OrderPayment:
    payment = lock_payment(payment_id)
    if payment.provider_ref is None:
        payment.provider_ref = intent.id
    if intent.client_secret:
        payment.client_secret = intent.client_secret
    if payment.state in (PaymentState.CREATED, PaymentState.FAILED):
        transition(payment, PaymentState.PENDING, now=now, note=intent.id)
    db.session.flush()
    return payment


# --- confirmation -----------------------------------------------------------------------------


def release_allocation(lines: list[OrderLine], *, now: datetime | None = None, actor=None) -> None:
    """Give back the allocation of open product lines being canceled or refunded before hand-over
    (records and lots: `stock.services.release_lines`).

    Except the goods of a pick-up transfer that has arrived at the chosen station: they are not on
    their packing station's shelf, so their allocation (and the lots they hold) stays held, the
    shipment is marked `return_status = "returning"` and what they hold is kept in `return_stock`
    until the packing station receives them back (`stations.services.fulfilment.receive_return`,
    docs/pickup.md). Call before the shipment is canceled (the rule reads its status)."""
    here: list[OrderLine] = []
    away: dict[int, tuple[Shipment, list[OrderLine]]] = {}
    for line in lines:
        shipment = line.shipment
        if shipment is not None and shipment.status == ShipmentStatus.ARRIVED:
            away.setdefault(shipment.id, (shipment, []))[1].append(line)
        else:
            here.append(line)
    release_lines(stock_lines(here), now=now, actor=actor)
    for shipment, held in away.values():
        going_back = dict((shipment.return_stock or {}).items())
        for item in stock_lines(held):
            going_back[str(item.record_id)] = int(going_back.get(str(item.record_id), 0)) + item.quantity
        if going_back:
            shipment.return_stock = going_back  # a new dict: the JSON column sees the change
            shipment.return_status = "returning"


def release_stock(order: Order, now: datetime | None = None) -> None:
    """Give back the stock an order's open lines hold (canceled or expired unpaid)."""
    release_allocation(order.lines, now=now)
    adjust_sold_count([l for l in order.lines if l.status == LineStatus.OPEN], -1)


def confirm_payment(payment: OrderPayment, *, now: datetime, actor=None, note: str = "") -> bool:
    """Mark the payment confirmed and the order confirmed. Returns False if nothing changed.

    The buyer gets the one mail of this payment (docs/journeys.md, "One order, one event, one mail"):
    订单已支付 when the order stands, or — what the payment could not buy went back — the mail of that
    (`_paid_whole`: 订单已取消 with its refund); an order canceled meanwhile gets 订单退款 for the
    payment given back (its cancellation's mail had said nothing was charged)."""
    order = lock_order(payment.order_id)  # lock order: order row, then payment row, then stock
    payment = lock_payment(payment.id)
    if payment.state in (PaymentState.CONFIRMED, PaymentState.REFUNDED):
        return False
    transition(payment, PaymentState.CONFIRMED, actor=actor, now=now, note=note)
    payment.confirmed_at = now
    if order.status == OrderStatus.PENDING:
        order.paid_at = now
        transition(order, OrderStatus.CONFIRMED, actor=actor, now=now, note="paid")
        _paid_whole(order, actor=actor, now=now)
    elif order.status == OrderStatus.EXPIRED:
        order.paid_at = now
        try:
            with db.session.begin_nested():
                allocate_lines(stock_lines(order.lines), today=local_date(now))
        except OutOfStock:
            # Everything goes back and the order stays expired; its receivers are not asked (`order_paid`
            # is not sent), so its stays' mail says only that their hold lapsed (预订保留已过期).
            log.info("late payment for expired order %s: stock gone, refunding", order.code)
            refund_payment(
                payment,
                payment.amount_fen - payment.refunded_fen,
                actor=actor,
                now=now,
                reason="订单已过期且库存不足，自动退款",
            )
            notify(order, "refunded")
        else:
            adjust_sold_count([l for l in order.lines if l.status == LineStatus.OPEN], +1)
            transition(order, OrderStatus.CONFIRMED, actor=actor, now=now, note="late payment, stock re-allocated")
            _paid_whole(order, actor=actor, now=now)
    else:
        # canceled meanwhile (or confirmed already through another payment): the money goes back, and the
        # buyer, charged and refunded, is told so in one mail naming this refund (`notify`: its step's).
        # The order was not paid by it: `paid_at` stays as it was (a canceled order's booking then reads
        # 尚未付款, not a policy fee of its whole price kept).
        refund_payment(
            payment, payment.amount_fen - payment.refunded_fen, actor=actor, now=now, reason="订单已取消，自动退款"
        )
        notify(order, "refunded")
    db.session.flush()
    return True


def _paid_whole(order: Order, *, actor, now: datetime) -> None:
    """Send `order_paid`, then mail the buyer the one mail of the payment.

    Every receiver confirmed what it sells: 订单已支付 (`paid`). A receiver that could not confirm a
    booking (its hold lapsed and the nights were taken meanwhile) refunded that line and returned False:
    - a mixed order is all or nothing: the goods are not sold alone — the order is cancelled, its other
      bookings given back in full (`full_refund`: no policy fee, the buyer did not cancel) and the goods
      refunded, in `cancel_order`'s one mail (订单已取消, telling of every refund of this step);
    - an order of bookings alone whose every booking was refused was settled canceled by the receiver
      (`orders.services.settlement.settle_order`): 订单已取消 with the refund, never 订单已支付 for money
      that went back;
    - an order of several bookings alone keeps those confirmed: 订单已支付, the refused one reading
      预订保留已过期且已无空位 (`emails/order_booking.txt`) and the mail naming its refund (退款金额)."""
    results = signals.order_paid.send(order, now=now)
    refused = any(result is False for _receiver, result in results)
    goods = any(line.kind == "product" and line.status == LineStatus.OPEN for line in order.lines)
    if refused and goods and order.status == OrderStatus.CONFIRMED:
        cancel_order(order, actor=actor, now=now, reason="预订已无房，整单退款", full_refund=True)
    elif refused and order.status == OrderStatus.CANCELED:
        notify(order, "canceled")
    else:  # a refused booking's refund (the others stand) is told in the paid mail: its step's
        refunds = step_refunds(order.id)
        notify(order, "paid", settled={"refunds": refunds} if refunds else None)


def fail_payment(payment: OrderPayment, *, now: datetime, actor=None, note: str = "") -> bool:
    """A failed attempt: the buyer may try again while the order is pending. Late failures are ignored."""
    payment = lock_payment(payment.id)
    if payment.state not in (PaymentState.CREATED, PaymentState.PENDING):
        return False
    transition(payment, PaymentState.FAILED, actor=actor, now=now, note=note)
    db.session.flush()
    return True


def confirm_cash(target: Shipment | Order, *, actor, now: datetime) -> bool:
    """Cash received for a shipment of a cash order (written into the station's cash book, exactly the
    amount due), or, for an order without shipments (a booking paid on arrival), for the whole order.
    Confirms the payment once every live shipment's money is in. Idempotent; False if nothing changed."""
    order = lock_order(target.order_id if isinstance(target, Shipment) else target.id)
    if order.payment_method not in (PaymentMethod.STATION_CASH, PaymentMethod.COD):
        raise Conflict("not_cash")
    if order.status not in (OrderStatus.CONFIRMED, OrderStatus.COMPLETED):
        raise Conflict("order_not_collectable")
    changed = False
    if is_cash_order(order):
        shipments = [target] if isinstance(target, Shipment) else list(order.shipments)
        for shipment in shipments:
            if shipment.status != ShipmentStatus.CANCELED and cash.taken_entry(shipment.id) is None:
                changed = (
                    cash.take_cash(shipment, shipment_due_fen(shipment), actor=actor, now=now) is not None or changed
                )
        return settle_cash_payment(order, actor=actor, now=now) or changed
    payment = current_payment(order)
    if payment is not None:
        payment = lock_payment(payment.id)
        if payment.state in (PaymentState.CREATED, PaymentState.PENDING, PaymentState.FAILED):
            transition(payment, PaymentState.CONFIRMED, actor=actor, now=now, note="cash received")
            payment.confirmed_at = now
            order.paid_at = now
            signals.order_paid.send(order, now=now)
            changed = True
    db.session.flush()
    return changed


#: A cash shipment whose hand-over takes its cash itself: the parcel's delivery (`deliver`, cash on
#: delivery) once shipped, the counter hand-over of the whole order once it waits at the chosen station.
_CASH_AT_HANDOVER = frozenset({ShipmentStatus.READY_FOR_PICKUP, ShipmentStatus.ARRIVED})


def counter_cash_refusal(shipment: Shipment) -> DomainError | None:
    """Why `confirm_counter_cash` refuses the shipment now (None: the counter may take its cash ahead of
    the hand-over): a live shipment of an order paid at a counter (到站点付款 picked up, or shipped home as placed
    before that was refused — its parcel leaves only once paid, `fulfilment.ship_refusal`; not
    cash on delivery of a parcel shipped home, `amounts.paid_at_the_door`: its buyer pays at the door, never
    at the counter, at any step) whose cash is not in the book yet, and not one whose hand-over is the
    moment to take it — a parcel on its way (taken at delivery) or a pick-up order waiting at the counter
    (taken with the whole order's hand-over)."""
    if not is_cash_order(shipment.order):
        return Conflict("not_cash_order")
    if cash.taken_entry(shipment.id) is not None:
        return Conflict("cash_already_confirmed")
    if shipment.status == ShipmentStatus.CANCELED:
        return Conflict("shipment_canceled")
    if paid_at_the_door(shipment.order):
        return Conflict("cash_paid_at_the_door")
    on_its_way = shipment.status == ShipmentStatus.SHIPPED and shipment.order.delivery == Delivery.SHIP
    if on_its_way or shipment.status in _CASH_AT_HANDOVER:
        return Conflict("cash_taken_at_handover")
    return None


def confirm_counter_cash(shipment: Shipment, *, actor, now: datetime) -> Shipment:
    """The counter took the cash for a shipment before handing it over (pay at the counter, collect later);
    refused as `counter_cash_refusal` says."""
    lock_order(shipment.order_id)
    db.session.refresh(shipment)
    refusal = counter_cash_refusal(shipment)
    if refusal is not None:
        raise refusal
    cash.take_cash(shipment, shipment_due_fen(shipment), actor=actor, now=now)
    settle_cash_payment(shipment.order, actor=actor, now=now)
    db.session.flush()
    return shipment


def settle_cash_payment(order: Order, *, actor, now: datetime) -> bool:
    """Bring a cash order's payment in line with its cash book, whatever just happened (cash taken,
    a shipment canceled, a line refunded): confirmed once every live shipment's cash is in; canceled
    when no shipment is left and nothing was taken. Call with the order row locked."""
    if not is_cash_order(order):
        return False
    payment = current_payment(order)
    if payment is None:
        return False
    live = [s for s in order.shipments if s.status != ShipmentStatus.CANCELED]
    changed = False
    if live and all(cash.taken_entry(s.id) is not None for s in live):
        if payment.state in (PaymentState.CREATED, PaymentState.PENDING, PaymentState.FAILED):
            payment = lock_payment(payment.id)
            transition(payment, PaymentState.CONFIRMED, actor=actor, now=now, note="cash received")
            payment.confirmed_at = now
            order.paid_at = now
            changed = True
    elif not live and payment.state in (PaymentState.CREATED, PaymentState.PENDING, PaymentState.FAILED):
        payment = lock_payment(payment.id)
        transition(payment, PaymentState.CANCELED, actor=actor, now=now, note="no shipment left")
        changed = True
    db.session.flush()
    return changed


def _refund_cash_excess(
    order: Order, shipment: Shipment, *, line: OrderLine | None, actor, now: datetime, reason: str
) -> Refund | None:
    """A cash shipment holds more cash than is now due for it (a line refunded, the shipment canceled):
    the difference is owed to the buyer, a `Refund` row `owed` (待退还) naming the shipment. The cash
    is still in the till: it enters the cash book when an operator hands it back (`hand_back_cash`)."""
    excess = cash.shipment_cash_fen(shipment.id) - shipment_due_fen(shipment)
    payment = current_payment(order)
    if excess <= 0 or payment is None:
        return None
    payment = lock_payment(payment.id)
    refund = Refund(
        payment_id=payment.id,
        order_line_id=line.id if line is not None else None,
        amount_fen=excess,
        state=REFUND_OWED,
        shipment_id=shipment.id,
        reason=reason or "",
        actor_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(refund)
    payment.refunded_fen += excess
    db.session.flush()
    refund_made(refund, order.id)
    reverse_refunded_credit(refund, line, now=now)
    return refund


def owed_refund_station_id(refund: Refund) -> int | None:
    """The station whose till owes a cash refund: the one that took its shipment's cash (None: not a
    cash refund owed from a till)."""
    if refund.shipment_id is None:
        return None
    shipment = db.session.get_one(Shipment, refund.shipment_id)
    return _owing_station(shipment, cash.taken_stations([shipment.id]).get(shipment.id))


def _owing_station(shipment: Shipment, taken_station_id: int | None) -> int:
    """The till that owes a cash refund of `shipment`: the one that took its cash, else the one that takes it."""
    return taken_station_id if taken_station_id is not None else cash.till_station_id(shipment)


def cash_to_hand_back(station_id: int) -> list[Refund]:
    """The cash refunds this station's till owes buyers, oldest first (the desk's 待退还现金): every owed
    refund, its shipment (with the order and buyer the desk names) and the tills that took their cash, in
    four statements whatever their number (owed refunds are few: each waits only until handed back)."""
    owed = db.session.scalars(
        sa.select(Refund)
        .where(Refund.state == REFUND_OWED, Refund.shipment_id.is_not(None))
        .order_by(Refund.created_at, Refund.id)
    ).all()
    if not owed:
        return []
    shipments = {
        s.id: s
        for s in db.session.scalars(
            sa.select(Shipment)
            .where(Shipment.id.in_({r.shipment_id for r in owed}))
            .options(selectinload(Shipment.order).selectinload(Order.user))
        )
    }
    taken = cash.taken_stations(shipments)
    return [
        r
        for r in owed
        if r.shipment_id is not None
        and _owing_station(shipments[r.shipment_id], taken.get(r.shipment_id)) == station_id
    ]


def cash_refund_for(user, refund_id: int) -> Refund:
    """The cash refund `refund_id` as `user` may hand it back: one the till of a station `user` manages owes
    (`owed_refund_station_id`; an admin: any station's), or owed — handed back already, so a second tap finds
    it and changes nothing (`hand_back_cash`). Any other refund, or none, is 404 `cash_refund_not_found`:
    another station's operator cannot tell it exists (the 退还现金 button, `POST
    /api/v1/cash-refunds/{id}/hand-back`)."""
    refund = db.session.get(Refund, refund_id)
    station_id = owed_refund_station_id(refund) if refund is not None else None
    if refund is None or station_id is None or not can_manage_station(user, station_id):
        raise NotFound("cash_refund_not_found")
    return refund


def cash_refunds_of(order: Order) -> list[Refund]:
    """An order's cash refunds (owed or handed back), oldest first."""
    return list(
        db.session.scalars(
            sa.select(Refund)
            .where(Refund.payment_id.in_([p.id for p in order.payments]), Refund.shipment_id.is_not(None))
            .order_by(Refund.id)
        )
    )


def hand_back_cash(refund: Refund, *, actor, now: datetime) -> bool:
    """An operator handed an owed cash refund to the buyer (at the counter, or taken to the address of a
    cash-on-delivery order): the cash leaves the till now, a `refund` cash-book entry by that operator,
    and the refund is `succeeded` (已退还). Idempotent: False when it was handed back already (a second
    tap). The caller checked the operator's station (`owed_refund_station_id`)."""
    payment = db.session.get_one(OrderPayment, refund.payment_id)
    lock_order(payment.order_id)
    refund = _lock_refund(refund.id)
    if refund.state != REFUND_OWED or refund.shipment_id is None:  # handed back already
        return False
    shipment = db.session.get_one(Shipment, refund.shipment_id)
    cash.pay_out_refund(refund, shipment=shipment, actor=actor, now=now)
    refund.state = "succeeded"
    record_note(shipment, f"cash handed back {format_yuan(refund.amount_fen)}", actor=actor, now=now)
    db.session.flush()
    return True


def reverse_refunded_credit(refund: Refund, line: OrderLine | None, *, now: datetime) -> None:
    """Every refund takes back exactly the credit of what it gives back: the producer share of the
    line's part of the refund (never more than the line), once per refund (`ref = "refund:<id>"`): a
    product line by the units refunded so far (`ledger.services.reverse_units`, the line's
    `refunded_quantity` already counting this refund's), a booking line by the money, split over the
    households in proportion to what each still holds (a sale, a completed stay, a kept fee). A refund
    that names no line (an order canceled or expired before anything was handed over) had nothing
    credited. Nothing credited → nothing reversed."""
    if line is None:
        return

    if not ledger.has_credit(line):  # one look-up when nothing was credited (most refunds before hand-over)
        return
    if line.kind == "product":
        # by units: the credited split scaled to the units refunded so far (docs/MONEY.md, "Partial refunds")
        ledger.reverse_units(line, refunded_units=line.refunded_quantity, ref=f"refund:{refund.id}", now=now)
    else:
        ledger.reverse_line(
            line, now=now, amount_fen=min(refund.amount_fen, line.line_total_fen), ref=f"refund:{refund.id}"
        )


# --- refunds ----------------------------------------------------------------------------------


def refund_payment(
    payment: OrderPayment,
    amount_fen: int,
    *,
    line: OrderLine | None = None,
    actor=None,
    now: datetime,
    reason: str = "",
) -> Refund | None:
    """Refund `amount_fen` of a confirmed payment (capped at what remains). The provider call runs
    after commit (card); cash refunds are handed back at the counter and recorded as succeeded."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 0:
        raise ValidationError("invalid_refund_amount", fields={"amount_fen": "invalid"})
    if line is not None and line.kind == "product" and not line.refunded_quantity:
        # a product line is refunded by units (`refund_line`), and its credit reversed by the units counted
        # on it (`reverse_refunded_credit`): money given back for it with no unit counted would keep the
        # households' credit of money no longer received. A caller's mistake, never a buyer's input.
        raise ValueError(f"refund of product line {line.id} without its units: use refund_line")
    payment = lock_payment(payment.id)
    if payment.state != PaymentState.CONFIRMED:
        raise Conflict("not_refundable")
    amount = min(amount_fen, payment.amount_fen - payment.refunded_fen)
    if amount <= 0:
        return None
    is_card = payment.provider == "stripe"
    if not is_card and not payment.order.shipments:
        # a booking paid on arrival: its cash is in the host's cash book, not in a station's till,
        # and no till here can pay it out (docs/MONEY.md, "Tourism")
        raise Conflict("cash_held_by_host")
    refund = Refund(
        payment_id=payment.id,
        order_line_id=line.id if line is not None else None,
        amount_fen=amount,
        state="created" if is_card else "succeeded",
        reason=reason or "",
        actor_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(refund)
    payment.refunded_fen += amount
    if payment.refunded_fen >= payment.amount_fen:
        transition(payment, PaymentState.REFUNDED, actor=actor, now=now, note=reason)
    db.session.flush()
    refund_made(refund, payment.order_id)  # its order's mail of this step tells of it (`common.notify`)
    reverse_refunded_credit(refund, line, now=now)
    if is_card:
        enqueue_after_commit("orders.tasks.execute_refund", refund.id)
    return refund


def refund_idempotency_key(refund: Refund, payment: OrderPayment) -> str:
    """The provider key of one refund: every attempt to send it (task retries, the beat sweep, a
    worker killed mid-call) uses this key, so Stripe refunds once and returns that refund again.
    It names the PaymentIntent too: refund ids start again at 1 in a new database (a restore, a
    staging copy on the same Stripe account), and a key Stripe saw in the last 24 hours for another
    intent would be refused."""
    return f"refund-{payment.provider_ref}-{refund.id}"


def _lock_refund(refund_id: int) -> Refund:
    return db.session.scalars(
        sa.select(Refund).where(Refund.id == refund_id).with_for_update().execution_options(populate_existing=True)
    ).one()


def execute_refund(refund: Refund, *, now: datetime) -> None:
    """Send a created refund to the provider (idempotent by `refund_idempotency_key`). Network call
    first, then a short update; call with no locks held.

    Stripe unreachable or slow (`ProviderUnavailable`): the refund stays `created` and the error is
    raised for the task to retry; `refunds_to_retry` picks it up again after the task gave up. A
    refusal (any other provider error) marks it `failed` for a person to look at: sending the same
    request again would be refused again."""
    if refund.state != "created":
        return
    payment = db.session.get_one(OrderPayment, refund.payment_id)
    assert payment.provider_ref is not None  # a refund is of a confirmed payment, which its provider named
    refund_id = refund.id
    try:
        result = get_provider(payment.provider).refund(
            intent_id=payment.provider_ref,
            amount_fen=refund.amount_fen,
            idempotency_key=refund_idempotency_key(refund, payment),
        )
    except ProviderUnavailable:
        raise
    except ProviderError as exc:
        log.error("refund %s of payment %s refused by the provider: %s", refund_id, payment.full_code, exc)
        refund = _lock_refund(refund_id)
        if refund.state == "created":
            refund.state = "failed"
        db.session.flush()
        return
    refund = _lock_refund(refund_id)
    if refund.state == "created":
        refund.provider_ref = result.id
        refund.state = "failed" if result.status == "failed" else "succeeded"
    db.session.flush()


#: A refund still `created` this long after it was recorded is sent again by the beat sweep (the
#: task's own retries cover the first minutes).
REFUND_RETRY_AFTER = timedelta(minutes=5)
#: Stripe keeps idempotency keys for 24 hours: past that a resend could refund twice, so older
#: refunds are left to a person (logged) instead of being sent blind.
REFUND_KEY_LIFETIME = timedelta(hours=23)


def refunds_to_retry(now: datetime, *, limit: int = 100) -> list[int]:
    """Ids of card refunds still `created` between REFUND_RETRY_AFTER and REFUND_KEY_LIFETIME old."""
    stale = db.session.scalars(
        sa.select(Refund.id)
        .where(Refund.state == "created", Refund.created_at < now - REFUND_KEY_LIFETIME)
        .order_by(Refund.id)
        .limit(limit)
    ).all()
    if stale:
        log.error(
            "refunds %s still unsent after %s: check them at Stripe before sending by hand",
            list(stale),
            REFUND_KEY_LIFETIME,
        )
    return list(
        db.session.scalars(
            sa.select(Refund.id)
            .where(
                Refund.state == "created",
                Refund.created_at <= now - REFUND_RETRY_AFTER,
                Refund.created_at >= now - REFUND_KEY_LIFETIME,
            )
            .order_by(Refund.id)
            .limit(limit)
        )
    )


def refund_line(
    line: OrderLine, *, actor, now: datetime, reason: str = "", units: int | None = None, mail: str | None = "refunded"
) -> Refund | None:
    """A line is refunded (cannot be supplied, or an approved refund request): release its stock if
    still allocated, give back what was paid for it; the refund reverses the line's credit.

    `units` (a delivered product line's approved refund request): only that many of the units left
    (1 to `quantity − refunded_quantity`, else 409 `refund_units_exceeded`); the line stays open with
    `refunded_quantity` counting them, and the money given back is their price (`units_fen`) until the
    last units, which refund the line. None: every unit left.

    `mail`: the one order mail the buyer gets about the line (`refunded`; `line_canceled`, a station
    withdrawing a line it cannot supply, which says `reason`); None: the caller mails the order once for
    all the lines it settles (a recall's one-step refund, `stations.services.recalls.refund_recalled`).

    Nothing is rewritten: the line's status says it is gone, the money given back is a `Refund` row
    (and, for cash, a cash-book entry); what is still due is computed (`orders.services.amounts`).
    A shipment left without open lines is canceled and its shipping goes back too.
    """
    order = lock_order(line.order_id)
    line = db.session.get_one(OrderLine, line.id)
    if line.status != LineStatus.OPEN:
        raise Conflict("line_already_refunded")
    if order.status not in (OrderStatus.CONFIRMED, OrderStatus.COMPLETED):
        raise Conflict("order_not_refundable")
    left = units_left(line)  # the line is open: checked above
    if units is not None and not 0 < units <= left:
        raise Conflict("refund_units_exceeded", left=left)
    if units is not None and units < left:
        return _refund_units(order, line, units, actor=actor, now=now, reason=reason, mail=mail)
    shipment = line.shipment
    if line.kind == "product" and shipment is not None and shipment_cancelable(shipment):
        release_allocation([line], now=now, actor=actor)  # held until received back when at the pick-up station
        adjust_sold_count([line], -1)
    elif line.kind == "product" and shipment is not None and shipment.status == ShipmentStatus.DELIVERED:
        adjust_delivered_count([line], -1, units=left)  # 已售 counts what buyers kept
    still_due = line_due_fen(line)  # the line's money not yet given back (less earlier partial refunds)
    line.status = LineStatus.REFUNDED
    line.refunded_quantity = line.quantity
    shipment_canceled = False
    if (
        shipment is not None
        and all(l.status != LineStatus.OPEN for l in shipment.lines)
        and can_transition(shipment, ShipmentStatus.CANCELED)
    ):
        transition(shipment, ShipmentStatus.CANCELED, actor=actor, now=now, note=reason or "all lines refunded")
        shipment_canceled = True
    shipping_fen = (shipment.shipping_fen or 0) if shipment is not None and shipment_canceled else 0
    return _give_back(order, line, shipment, still_due + shipping_fen, actor=actor, now=now, reason=reason, mail=mail)


def line_refund_fen(line: OrderLine) -> int:
    """What `refund_line` of the whole line would give back now (its confirmation says it): a cash order's
    cash held for the shipment beyond what stays due once the line is gone (nothing when its cash was not
    taken yet), a paid order's line due plus the shipment's shipping when it is its last open line, up to
    what the payment has left; 0 when nothing was paid."""
    order = line.order
    shipment = line.shipment
    last = shipment is not None and all(l.id == line.id or l.status != LineStatus.OPEN for l in shipment.lines)
    if is_cash_order(order):
        if shipment is None:
            return 0
        stays_due = 0 if last else shipment_due_fen(shipment) - line_due_fen(line)
        return max(0, cash.shipment_cash_fen(shipment.id) - stays_due)
    payment = current_payment(order)
    if payment is None or payment.state != PaymentState.CONFIRMED:
        return 0
    shipping = (shipment.shipping_fen or 0) if last and shipment is not None else 0
    return min(line_due_fen(line) + shipping, payment.amount_fen - payment.refunded_fen)


def _refund_units(
    order: Order, line: OrderLine, units: int, *, actor, now: datetime, reason: str, mail: str | None
) -> Refund | None:
    """Part of a delivered line is refunded (`refund_line` with `units` fewer than are left): the line
    stays open, `refunded_quantity` counts the units, and their price (`units_fen`) goes back
    (`_give_back`). Order locked."""
    shipment = line.shipment
    if line.kind != "product" or shipment is None or shipment.status != ShipmentStatus.DELIVERED:
        raise Conflict("refund_line_not_delivered")
    adjust_delivered_count([line], -1, units=units)
    line.refunded_quantity = (line.refunded_quantity or 0) + units
    return _give_back(order, line, shipment, units_fen(line, units), actor=actor, now=now, reason=reason, mail=mail)


def _give_back(
    order: Order,
    line: OrderLine,
    shipment: Shipment | None,
    amount_fen: int,
    *,
    actor,
    now: datetime,
    reason: str,
    mail: str | None = "refunded",
) -> Refund | None:
    """The money of a refunded line, or of some of its units, goes back the way the order was paid, and
    the buyer is told: a cash order's out of the till that took it (the shipment now holds more cash than
    is due: `_refund_cash_excess`, in the cash book), its payment then settled with the book; a card (or
    transfer) order's `amount_fen` out of its confirmed payment. Else nothing was paid: the buyer simply
    owes less (computed from the lines). The refund itself reverses the line's credit for what it gives
    back (`reverse_refunded_credit`), product and booking lines alike. Order locked."""
    db.session.flush()
    payment = current_payment(order)
    refund = None
    if is_cash_order(order) and shipment is not None:
        refund = _refund_cash_excess(order, shipment, line=line, actor=actor, now=now, reason=reason)
        settle_cash_payment(order, actor=actor, now=now)
    elif payment is not None and payment.state == PaymentState.CONFIRMED:
        refund = refund_payment(payment, amount_fen, line=line, actor=actor, now=now, reason=reason)
    db.session.flush()
    if mail is not None:
        notify(order, mail, line, note=reason if mail == "line_canceled" else "")
    return refund


# --- cancel -----------------------------------------------------------------------------------


def _goods_fen(order: Order) -> int:
    """What the order's goods still cost: their open lines and live shipments."""
    return sum(
        line.line_total_fen for line in order.lines if line.kind == "product" and line.status == LineStatus.OPEN
    ) + sum(s.shipping_fen or 0 for s in order.shipments if s.status != ShipmentStatus.CANCELED)


@dataclass
class CancelPreview:
    """What cancelling a paid order now gives back (`cancel_preview`)."""

    refund_fen: int
    #: The booking lines whose policy keeps a fee now, each with its fee.
    fees: list[tuple[OrderLine, int]]


def cancel_preview(order: Order, *, now: datetime) -> CancelPreview | None:
    """What `cancel_order` would refund now, for its confirmation page: each booking line what its
    policy returns (`orders.bookables`), then the goods (open lines, live shipments), up to what was
    paid and not yet refunded. None when there is nothing to preview: nothing paid, or paid in cash
    (cash goes back from the till as the counter settles it)."""
    paid_left = sum(p.amount_fen - p.refunded_fen for p in order.payments if p.state == PaymentState.CONFIRMED)
    if paid_left <= 0 or is_cash_order(order):
        return None
    quotes = booking_lines().cancel_quotes(order, now=now) if any(l.kind == "booking" for l in order.lines) else []
    bookings_fen = min(paid_left, sum(q.refund_fen for q in quotes))
    refund = bookings_fen + min(paid_left - bookings_fen, _goods_fen(order))
    lines = {line.id: line for line in order.lines}
    return CancelPreview(refund_fen=refund, fees=[(lines[q.line_id], q.fee_fen) for q in quotes if q.fee_fen > 0])


def cancel_order(
    order: Order,
    *,
    actor,
    now: datetime,
    reason: str = "",
    mail: str | None = "canceled",
    full_refund: bool = False,
) -> Order:
    """Cancel before any shipment has left: release stock, cancel shipments, refund a paid card order.
    `mail` is the e-mail the buyer gets (`uncollected` when the schedule cancels an uncollected order).
    None: the caller tells the buyer itself (a host's cancellation of a booking: one mail).
    `full_refund`: the shop cancels, not the buyer (a late payment that could not buy every booking of a
    mixed order, `_paid_whole`): its bookings go back in full, no cancellation policy's fee kept."""
    return _cancel_locked(lock_order(order.id), actor=actor, now=now, reason=reason, mail=mail, full_refund=full_refund)


def _cancel_locked(
    order: Order, *, actor, now: datetime, reason: str, mail: str | None, full_refund: bool = False
) -> Order:
    """`cancel_order` of an order its caller has locked (`lock_order`) and read under that lock."""
    refusal = cancel_refusal(order)
    if refusal == "already_shipped":
        raise Conflict("already_shipped")
    if refusal:  # codes raised as literals: tests/test_error_codes.py checks each has its messages
        raise Conflict("order_not_cancelable", fields={"status": order.status})
    # an order that sells bookings: tourism cancels them first, each under its policy (and the whole
    # order, when it sells nothing else); the goods and the order are closed below
    if signals.cancel_handled_elsewhere(order, actor=actor, now=now, full_refund=full_refund):
        db.session.flush()
        return order
    sells_bookings = any(line.kind == "booking" for line in order.lines)
    # what a mixed order gives back here; its booking lines gave back what their policies return
    goods_fen = _goods_fen(order)
    release_stock(order, now)
    for shipment in order.shipments:
        if shipment.status != ShipmentStatus.CANCELED:
            transition(shipment, ShipmentStatus.CANCELED, actor=actor, now=now, note=reason)
    for line in order.lines:
        if line.status == LineStatus.OPEN:
            line.status = LineStatus.CANCELED
    transition(order, OrderStatus.CANCELED, actor=actor, now=now, note=reason)
    db.session.flush()
    if is_cash_order(order):  # cash taken at the counter before the hand-over goes back from the till
        for shipment in order.shipments:
            _refund_cash_excess(order, shipment, line=None, actor=actor, now=now, reason=reason or "订单取消")
    for payment in order.payments:
        if payment.state == PaymentState.CONFIRMED and is_cash_order(order):
            if payment.refunded_fen > 0:
                transition(payment, PaymentState.REFUNDED, actor=actor, now=now, note=reason)
        elif payment.state == PaymentState.CONFIRMED:
            remaining = payment.amount_fen - payment.refunded_fen
            refund_payment(
                payment,
                min(remaining, goods_fen) if sells_bookings else remaining,
                actor=actor,
                now=now,
                reason=reason or "订单取消",
            )
        elif can_transition(payment, PaymentState.CANCELED):
            transition(payment, PaymentState.CANCELED, actor=actor, now=now, note=reason)
            if payment.provider == "stripe" and payment.provider_ref:
                enqueue_after_commit("orders.tasks.cancel_intent", payment.id)  # the network call, after the commit
    signals.order_released.send(order, now=now)
    db.session.flush()
    if mail:
        notify(order, mail)
    return order


def order_canceled_already(order: Order) -> bool:
    """Whether the buyer's 取消订单 is done already: the order is canceled (a second tap, the step
    confirmed again after Back, the API called twice). That is not a mistake to refuse:
    `buyer_cancel_order` changes nothing and says so, and the confirmation page does not ask again."""
    return order.status == OrderStatus.CANCELED


def buyer_cancel_order(order: Order, *, actor, now: datetime) -> bool:
    """The buyer cancels the order (the order page, `POST /api/v1/orders/{code}/cancel`): `cancel_order`,
    refused as it refuses (shipped: 409 `already_shipped`, …). True when canceled now; False, changing
    nothing and telling no one, when it was canceled already (`order_canceled_already`, read again under
    the order's lock: two taps at once cancel it once). Canceled now, `signals.order_canceled_by_buyer`
    tells whoever placed it for its own reasons (an organisation's purchase: its approvers are mailed)."""
    order = lock_order(order.id)
    if order_canceled_already(order):
        return False
    _cancel_locked(order, actor=actor, now=now, reason="buyer canceled", mail="canceled")
    signals.order_canceled_by_buyer.send(order, actor=actor, now=now)
    return True


def cancel_provider_intent(payment: OrderPayment, *, now: datetime) -> str:
    """Cancel the PaymentIntent of a canceled payment at the provider (a network call: no locks held).

    An intent that succeeded meanwhile cannot be canceled: its webhook confirms the payment and, the
    order being canceled, `confirm_payment` refunds it. Returns what happened."""
    if payment.provider != "stripe" or not payment.provider_ref or payment.state != PaymentState.CANCELED:
        return "noop"
    provider = get_provider("stripe")
    try:
        intent = provider.cancel_intent(payment.provider_ref, idempotency_key=f"{payment.full_code}-cancel")
    except ProviderUnavailable:
        raise
    except ProviderError as exc:  # already succeeded or canceled at Stripe: look at it again
        log.info("PaymentIntent %s not canceled: %s", payment.provider_ref, exc)
        intent = provider.retrieve_intent(payment.provider_ref)
        if intent.status == "succeeded":
            apply_intent(payment, intent, now=now)
            return "succeeded"
        return intent.status
    return intent.status


# --- provider events --------------------------------------------------------------------------


def payment_by_ref(provider_ref: str) -> OrderPayment | None:
    if not provider_ref:
        return None
    return db.session.scalar(sa.select(OrderPayment).where(OrderPayment.provider_ref == provider_ref))


_PAYMENT_CODE = re.compile(r"^(?P<order>[A-Za-z0-9]{1,16})-P-(?P<number>[0-9]{1,6})$")


def payment_for_intent(intent: Intent) -> OrderPayment | None:
    """The payment an intent belongs to: by its stored id, else by the `payment` code in the intent's
    metadata. The second case is an intent Stripe created while its answer to us was lost (timeout):
    a webhook about it may come before the buyer's retry stores its id; the payment adopts it then.
    An intent for a payment that already points at another intent is not ours to apply (logged)."""
    payment = payment_by_ref(intent.id)
    if payment is not None:
        return payment
    match = _PAYMENT_CODE.match(str(intent.metadata.get("payment") or ""))
    if match is None:
        return None
    payment = db.session.scalar(
        sa.select(OrderPayment)
        .join(Order, Order.id == OrderPayment.order_id)
        .where(
            Order.code == match["order"], OrderPayment.number == int(match["number"]), OrderPayment.provider == "stripe"
        )
    )
    if payment is None:
        return None
    if not intent_matches(payment, intent):
        # never adopted: an intent for another amount or currency must not displace the buyer's own
        log.warning(
            "PaymentIntent %s names payment %s but its amount/currency %s %s differ; not adopted",
            intent.id,
            payment.full_code,
            intent.amount,
            intent.currency,
        )
        return None
    lock_order(payment.order_id)  # lock order: the order row, then the payment row
    payment = lock_payment(payment.id)
    if payment.provider_ref is None:
        payment.provider_ref = intent.id
        if intent.client_secret:
            payment.client_secret = intent.client_secret
        db.session.flush()
        return payment
    if payment.provider_ref != intent.id:
        log.error(
            "PaymentIntent %s names payment %s, which uses %s", intent.id, payment.full_code, payment.provider_ref
        )
        return None
    return payment


def intent_matches(payment: OrderPayment, intent: Intent) -> bool:
    """The intent asks for exactly this payment's amount in its currency (checked before adopting it
    and before acting on it)."""
    return intent.amount == payment.amount_fen and (intent.currency or "").lower() == payment.currency.lower()


def apply_intent(payment: OrderPayment, intent: Intent, *, now: datetime, event_type: str = "") -> str:
    """Act on the re-fetched state of a PaymentIntent. Returns what happened (for logs/tests)."""
    if not intent_matches(payment, intent):
        log.warning(
            "PaymentIntent %s amount/currency %s %s differ from payment %s",
            intent.id,
            intent.amount,
            intent.currency,
            payment.full_code,
        )
        return "mismatch"
    if intent.status == "succeeded":
        return "confirmed" if confirm_payment(payment, now=now, note=intent.id) else "noop"
    if event_type == "payment_intent.payment_failed" or intent.status == "canceled":
        return "failed" if fail_payment(payment, now=now, note=event_type or intent.status) else "noop"
    return "noop"


def handle_provider_event(event: WebhookEvent, intent: Intent | None, *, now: datetime) -> str:
    """Store the event id and apply its effect in the current transaction; duplicates do nothing.

    `intent` is the PaymentIntent re-fetched from the provider before any lock was taken.
    """
    if db.session.get(StripeEvent, event.id) is not None:
        return "duplicate"
    try:
        with db.session.begin_nested():
            db.session.add(
                StripeEvent(id=event.id, type=event.type[:64], object_id=event.object_id[:64], received_at=now)
            )
    except IntegrityError:
        return "duplicate"
    outcome = "ignored"
    if event.type.startswith("payment_intent.") and intent is not None:
        payment = payment_for_intent(intent)
        if payment is not None:
            outcome = apply_intent(payment, intent, now=now, event_type=event.type)
    stored = db.session.get_one(StripeEvent, event.id)
    stored.processed_at = now
    db.session.flush()
    return outcome


def pay_with_card(payment: OrderPayment, *, token_id: str, card_id: str, now: datetime) -> Intent:
    """The page tokenised a card: attach it and confirm the intent (network call first, no locks),
    then apply the result at once (the webhook later finds nothing left to do)."""
    if payment.provider != "stripe" or not payment.provider_ref:
        raise Conflict("payment_not_started")
    if (refusal := pay_refusal(payment.order, payment)) is not None:
        raise refusal
    if not (token_id.startswith("tok_") and card_id.startswith("card_")) or len(token_id) > 64 or len(card_id) > 64:
        raise ValidationError("invalid_card", fields={"token": "invalid"})
    # a Stripe.js token is single-use: one token is one confirmation, whatever the retries
    intent = get_provider("stripe").confirm_with_card(
        payment.provider_ref,
        token_id=token_id,
        card_id=card_id,
        idempotency_key=f"{payment.full_code}-confirm-{token_id}",
    )
    if intent.status == "succeeded":
        apply_intent(payment, intent, now=now)
    return intent


def sync_payment(payment: OrderPayment, *, now: datetime) -> str:
    """Re-fetch the intent (e.g. when the buyer returns from paying before the webhook arrived)."""
    if payment.provider != "stripe" or not payment.provider_ref:
        return "noop"
    intent = get_provider("stripe").retrieve_intent(payment.provider_ref)
    return apply_intent(payment, intent, now=now)
