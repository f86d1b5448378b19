"""A station operator's fulfilment steps as the station tests take them, through the fulfilment
service: an order's shipments taken as far as shipped, or one shipment delivered. Not committed."""

from __future__ import annotations

from stations.services import fulfilment


def shipped(order, operator, now):
    """Every shipment of `order` accepted, packed and (a shipped order) shipped by `operator`."""
    for shipment in order.shipments:
        fulfilment.accept(shipment, actor=operator, now=now)
        fulfilment.pack(shipment, actor=operator, now=now)
        if order.delivery == "ship":
            fulfilment.ship(shipment, tracking_number="SF1", actor=operator, now=now)


def deliver_shipment(shipment, op, now):
    """`shipment` accepted, packed, shipped and delivered by `op` (no cash taken)."""
    fulfilment.accept(shipment, actor=op, now=now)
    fulfilment.pack(shipment, actor=op, now=now)
    fulfilment.ship(shipment, tracking_number="SF1", actor=op, now=now)
    fulfilment.deliver(shipment, actor=op, now=now)
