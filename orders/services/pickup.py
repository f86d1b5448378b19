"""What the buyer of a pick-up order is shown: the chosen station and the order's one pick-up code.

A pick-up order is collected whole at the station the buyer chose (docs/pickup.md); every shipment
carries the same code. The code is the buyer's alone: only the buyer's pages, the confirmation mail
and the ready-for-pick-up mail show it, never an operator's page or a printed slip.
"""

from __future__ import annotations

import sqlalchemy as sa

from orders.models import Delivery, Order, OrderStatus, Shipment, ShipmentStatus
from orders.services.amounts import paid_at_the_counter_before_shipping
from shop.extensions import db

_STILL_TO_COLLECT = (
    ShipmentStatus.NEW,
    ShipmentStatus.ACCEPTED,
    ShipmentStatus.PACKED,
    ShipmentStatus.SHIPPED,
    ShipmentStatus.ARRIVED,
    ShipmentStatus.READY_FOR_PICKUP,
)


def proposed_pickup_station(user, goods_station_ids: set[int]) -> int | None:
    """The pick-up station the checkout proposes before the buyer chooses (站点自提): the one the buyer last
    collected an order at (one statement), else the station the goods come from when they all come from one
    — collected where they are packed, with no transfer between stations — else None (the list's first).
    It used to be the list's first station whatever the goods, so a first buyer of 前进村's pickles who
    ticked 站点自提 without looking had them sent to 柳溪村."""
    last = db.session.scalar(
        sa.select(Order.pickup_station_id)
        .where(Order.user_id == user.id, Order.delivery == Delivery.PICKUP, Order.pickup_station_id.is_not(None))
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(1)
    )
    if last is not None:
        return last
    return next(iter(goods_station_ids)) if len(goods_station_ids) == 1 else None


def order_pickup_code(order: Order) -> str:
    """The pick-up order's code ('' for delivery by post)."""
    if order.delivery != Delivery.PICKUP:
        return ""
    return next((s.pickup_code for s in sorted(order.shipments, key=lambda s: s.id) if s.pickup_code), "")


def collector_name(order: Order) -> str:
    """Who collects a pick-up order at the counter, as the station's pages and slips name them: the
    name the buyer gave, else the account's name, else its e-mail (a pick-up order asks no address, so
    the name the buyer gave is often empty)."""
    return order.ship_name or getattr(order.user, "name", "") or getattr(order.user, "email", "") or ""


def shipment_code_to_show(order: Order, shipment: Shipment) -> str:
    """A shipment's pick-up code as its buyer may see it (the order page, `GET /api/v1/orders/{code}`):
    only once the order is confirmed (paid, or to pay at the station: never while a card payment is
    awaited) and while the shipment is still to collect; '' otherwise. A parcel shipped home is collected by
    nobody: the code of one paid at the counter is its payment code (`payment_code_to_show`), not a 取货码."""
    if order.status != OrderStatus.CONFIRMED or shipment.status not in _STILL_TO_COLLECT:
        return ""
    if paid_at_the_counter_before_shipping(order):
        return ""
    return shipment.pickup_code or ""


#: A parcel paid at the counter is paid before it leaves its station (`fulfilment.ship_refusal`).
_BEFORE_SHIPPING = (ShipmentStatus.NEW, ShipmentStatus.ACCEPTED, ShipmentStatus.PACKED)


def payment_code_to_show(order: Order, shipment: Shipment) -> str:
    """The code of a parcel paid at the counter (到站点付款 shipped home, placed before it was refused:
    `amounts.paid_at_the_counter_before_shipping`) as its buyer may see it: a payment code (付款码) to show
    at the packing station's counter when paying its cash, while that cash is still to pay — the order
    confirmed, the shipment not yet shipped nor canceled, its cash not in the book; '' otherwise (and for
    every other order)."""
    if not paid_at_the_counter_before_shipping(order) or order.status != OrderStatus.CONFIRMED:
        return ""
    if shipment.status not in _BEFORE_SHIPPING or shipment.cash_received_at is not None:
        return ""
    return shipment.pickup_code or ""


def pickup_code_to_show(order: Order) -> str:
    """The code while something of the order is still to collect ('' otherwise)."""
    if order.status != OrderStatus.CONFIRMED:
        return ""
    if not any(s.status in _STILL_TO_COLLECT for s in order.shipments):
        return ""
    if len({s.pickup_code for s in order.shipments}) > 1:
        return ""  # placed before one code per order: each shipment shows its own
    return order_pickup_code(order)


# --- where a shipment goes ----------------------------------------------------------------------


def pickup_station_id(shipment: Shipment) -> int | None:
    """The station the buyer chose for a pick-up order (None for delivery by post)."""
    order = shipment.order
    return order.pickup_station_id if order.delivery == Delivery.PICKUP else None


def is_transfer(shipment: Shipment) -> bool:
    """A pick-up order's shipment packed at another station than the chosen one: it travels there."""
    target = pickup_station_id(shipment)
    return target is not None and target != shipment.station_id


def on_own_shelf(shipment: Shipment) -> bool:
    """A pick-up order's shipment put on its packing station's shelf before pick-up moved to the
    chosen station (only orders in flight then): it is still handed over there, alone, with its code."""
    return is_transfer(shipment) and shipment.status == ShipmentStatus.READY_FOR_PICKUP


def handover_station_id(shipment: Shipment) -> int:
    """The station that hands the goods to the buyer (and takes the cash)."""
    if on_own_shelf(shipment):
        return shipment.station_id
    return pickup_station_id(shipment) or shipment.station_id
