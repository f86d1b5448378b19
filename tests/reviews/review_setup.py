"""The setup the review tests share: an order of one unit delivered to a buyer of the stations' world
(tests/stations/conftest.py `world`, as tests/reviews/conftest.py brings it), so its line may be reviewed."""

from __future__ import annotations

from stations.services import fulfilment
from tests.stations.factories import make_order


def _deliver(order, op, now):
    shipment = order.shipments[0]
    fulfilment.accept(shipment, actor=op, now=now)
    fulfilment.pack(shipment, actor=op, now=now)
    fulfilment.ship(shipment, tracking_number="SF1", actor=op, now=now)
    fulfilment.deliver(shipment, actor=op, now=now)
    return order


def delivered_order(world, now, buyer=None, product=None):
    """An order of one unit of `product` (station A's product) by `buyer` (the world's buyer) accepted,
    packed, shipped and delivered by its station's operator. Not committed."""
    product = product or world.a.product
    return _deliver(
        make_order([(product, 1)], buyer=buyer or world.buyer),
        world.a.operator if product.station_id == world.a.station.id else world.b.operator,
        now,
    )
