"""A station operator's fulfilment steps as the station tests take them, through the fulfilment
service: an order's shipments taken as far as shipped, or one shipment delivered (not committed); a
pick-up order ready at the counter (committed, its operator signed in)."""

from __future__ import annotations

from shop.db import commit
from stations.services import fulfilment
from tests.stations.factories import make_order


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


def at_the_counter(world, now, auth):
    """A pick-up order of ¥66.66 (2 × ¥33.33) paid at station A, ready at its counter, its operator signed
    in: (the shipment, the address its hand-over is posted to)."""
    order = make_order([(world.a.product, 2)], delivery="pickup", payment_method="station_cash")
    shipment = order.shipments[0]
    shipped(order, world.a.operator, now)
    commit()
    auth.login(world.a.operator)
    return shipment, f"/station/shipments/{shipment.code}/action"
