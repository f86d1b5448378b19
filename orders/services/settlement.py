"""An order is settled when all its parts are: the one rule for a confirmed order's own status.

An order's parts are its shipments (goods) and its bookings (stays, experiences, tickets). Each part
comes to an `Outcome` (`orders.bookables`): a shipment is open until it is delivered (done) or
canceled (void); a booking's outcome is tourism's to say (`orders.bookables.booking_outcomes`: done once
completed, void once canceled, expired or a no-show, open before). A confirmed order stays confirmed
while any part is open; once none is, it is completed when any part was done (goods handed over, a stay
completed), else canceled (nothing took place). Settling changes the order's status only: money and
credits move with each part at its own moment (hand-over, completed stay, kept fee; docs/MONEY.md).

`settle_order` is called, under the order's lock, wherever a part may have reached its end: the
stations' fulfilment (hand-over, a line's or a shipment's cancellation) and tourism (a stay completed,
a booking canceled or marked a no-show, a late payment that found no room). It flushes only.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from orders.bookables import Outcome, booking_outcomes
from orders.models import Order, OrderStatus, Shipment, ShipmentStatus
from shop.extensions import db
from shop.history import transition

#: A shipment's status -> its outcome (any other status: open).
_SHIPMENT_OUTCOMES = {ShipmentStatus.DELIVERED: Outcome.DONE, ShipmentStatus.CANCELED: Outcome.VOID}


def order_outcome(order: Order) -> Outcome:
    """What the order as a whole has come to, read from the database now (its shipments, then — when
    none is open — its bookings): open while any part is open (or it has none), else done when any part
    was done, else void."""
    statuses = db.session.scalars(sa.select(Shipment.status).where(Shipment.order_id == order.id)).all()
    outcomes = [_SHIPMENT_OUTCOMES.get(ShipmentStatus(status), Outcome.OPEN) for status in statuses]
    if Outcome.OPEN in outcomes:
        return Outcome.OPEN
    outcomes += booking_outcomes(order.id)
    if not outcomes or Outcome.OPEN in outcomes:
        return Outcome.OPEN
    return Outcome.DONE if Outcome.DONE in outcomes else Outcome.VOID


def settle_order(order: Order, *, actor=None, now: datetime, note: str = "") -> bool:
    """A confirmed order whose every part is settled is completed (something took place) or canceled
    (nothing did; `note` says why, for its history: a key of `shop.history.NOTE_LABELS`). True when the order's status changed. The caller
    holds the order's lock and has written its parts' new statuses (they are read with the session's
    changes flushed)."""
    if order.status != OrderStatus.CONFIRMED:
        return False
    outcome = order_outcome(order)
    if outcome == Outcome.OPEN:
        return False
    if outcome == Outcome.DONE:
        transition(order, OrderStatus.COMPLETED, actor=actor, now=now)
    else:
        transition(order, OrderStatus.CANCELED, actor=actor, now=now, note=note)
    return True
