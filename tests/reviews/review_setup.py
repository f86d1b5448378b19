"""The setup the review tests share: an order of one unit delivered to a buyer of the stations' world
(tests/stations/conftest.py `world`, as tests/reviews/conftest.py brings it), so its line may be reviewed;
and an order of a stay, sold through its order line."""

from __future__ import annotations

from datetime import timedelta

from orders.models import OrderLine
from shop.extensions import db
from stations.services import fulfilment
from tests.stations.factories import make_order
from tests.tourism.factories import make_booking
from tourism.models import BookingStatus


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


def stay_order(buyer, listing, status=BookingStatus.COMPLETED):
    """An order of a booking of `listing` by `buyer` (completed unless `status` says otherwise), sold
    through its order line as tourism sells it. Not committed."""
    order = make_order([], buyer=buyer)
    booking = make_booking(listing, user=buyer, check_in=order.created_at.date() - timedelta(days=3), status=status)
    db.session.add(
        OrderLine(
            order_id=order.id,
            kind="booking",
            booking_id=booking.id,
            title=listing.name,
            unit_price_fen=10000,
            quantity=1,
            line_total_fen=10000,
        )
    )
    db.session.flush()
    db.session.refresh(order)
    return order
