"""What is due, derived from rows (docs/MONEY.md). An order's totals are written once, at placement,
and never rewritten: cancellations are line statuses, refunds are `Refund` rows, cash is in the
stations' cash book. Every "what is still owed" figure is computed here, from those rows.
"""

from __future__ import annotations

import sqlalchemy as sa

from orders.models import (
    CashEntry,
    CashKind,
    Delivery,
    LineStatus,
    Order,
    OrderLine,
    PaymentMethod,
    Shipment,
    ShipmentStatus,
)
from shop.extensions import db

CASH_METHODS = (PaymentMethod.STATION_CASH, PaymentMethod.COD)


def is_cash_order(order: Order) -> bool:
    """A product order paid in cash, shipment by shipment, into the stations' cash book."""
    return order.payment_method in CASH_METHODS and bool(order.shipments)


def paid_at_the_door(order: Order) -> bool:
    """Cash on delivery (货到付款) of an order shipped home: the buyer pays whoever brings the parcel, at
    the delivery address, never at a station's counter — so the counter takes no cash of it ahead of the
    delivery (`payments.counter_cash_refusal`), and its cash refunds go back to that address
    (`refunds.money_back`). Every other cash order is paid at a counter: 到站点付款 of a pick-up, 到站点付款 of a
    parcel shipped home (placed before it was refused for home delivery: `paid_at_the_counter_before_shipping`),
    and cash on delivery of a pick-up (placed before it was refused for pick-ups)."""
    return order.payment_method == PaymentMethod.COD and order.delivery == Delivery.SHIP


def paid_at_the_counter_before_shipping(order: Order) -> bool:
    """到站点付款 (`station_cash`) of an order shipped home: no longer offered (`placement.GOODS_PAYMENT_METHODS`),
    but orders placed before that rule are paid at a counter too — at the packing station, its code shown
    as a payment code (付款码) on the buyer's page — and their parcel leaves only once its cash is in the
    station's cash book (`stations.services.fulfilment.ship_refusal`, 409 `cash_before_shipping`), never
    shipped unpaid to be paid at the door (that is cash on delivery, `paid_at_the_door`)."""
    return order.payment_method == PaymentMethod.STATION_CASH and order.delivery == Delivery.SHIP


def units_fen(line: OrderLine, units: int) -> int:
    """The money of `units` of a product line: its unit price × units (a line's total is its unit
    price × its quantity, so every unit refunded gives back exactly its price)."""
    return int(line.unit_price_fen) * int(units)


def units_left(line: OrderLine) -> int:
    """Units of `line` not refunded yet (none once canceled or refunded): what a new refund request may
    ask for at most, and what a refund of the line's rest gives back."""
    if line.status != LineStatus.OPEN:
        return 0
    return line.quantity - (line.refunded_quantity or 0)


def line_due_fen(line: OrderLine) -> int:
    """What the buyer owes for a line: nothing once canceled or refunded; an open line's total less
    the units refunded of it so far (`refunded_quantity`, a partial refund)."""
    if line.status != LineStatus.OPEN:
        return 0
    return line.line_total_fen - units_fen(line, line.refunded_quantity or 0)


def shipment_due_fen(shipment: Shipment) -> int:
    """What the buyer owes for a shipment: its open lines (less their units refunded) plus its shipping
    (nothing once canceled)."""
    if shipment.status == ShipmentStatus.CANCELED:
        return 0
    return sum(line_due_fen(ln) for ln in shipment.lines) + (shipment.shipping_fen or 0)


def order_due_fen(order: Order) -> int:
    """What the buyer owes for the whole order now: live shipments plus open lines outside shipments."""
    return sum(shipment_due_fen(s) for s in order.shipments) + sum(
        ln.line_total_fen for ln in order.lines if ln.shipment_id is None and ln.status == LineStatus.OPEN
    )


def cash_received_fen(order: Order) -> int:
    """What the buyer of a cash order has paid so far, as the stations' cash book recorded it: the cash taken
    for its shipments (a cash-on-delivery parcel paid to the courier, a pick-up paid at the counter) less
    the cash refunds paid back; the rest of `order_due_fen` is still to pay."""
    kinds = (CashKind.STATION_CASH, CashKind.COD, CashKind.REFUND)
    paid = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(CashEntry.amount_fen), 0)).where(
            CashEntry.order_id == order.id, CashEntry.kind.in_(kinds)
        )
    )
    return int(paid or 0)
