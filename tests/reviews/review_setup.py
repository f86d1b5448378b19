"""The setup the review tests share: an order of one unit delivered to a buyer of the stations' world
(tests/stations/conftest.py `world`, as tests/reviews/conftest.py brings it), so its line may be reviewed;
an order of a stay, sold through its order line; and the reviews 评价管理 lists (the page's tests and the
API's: `walnut_review`, `moderation_mix`)."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

import sqlalchemy as sa

from catalog.models import Product
from orders.models import OrderLine
from reviews.models import Review
from shop.extensions import db
from stations.services import fulfilment
from tests.factories import make_user
from tests.stations.factories import make_order
from tests.tourism.factories import make_booking, make_listing
from tourism.models import BookingStatus, Listing


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


def walnut_review(world, now, *, minutes_ago: int, rating: int = 4, body: str = "不错", hidden: bool = False) -> Review:
    """A review of 山核桃 (tests/reviews/conftest.py `walnuts`) on its own order line, written `minutes_ago`
    before `now` (setup only: the list reads rows, whatever wrote them)."""
    product = db.session.scalar(sa.select(Product).where(Product.name == "山核桃"))
    order = make_order([(product, 1)], buyer=world.buyer)
    review = Review(
        order_line_id=order.lines[0].id,
        user_id=world.buyer.id,
        product_id=product.id,
        station_id=world.a.station.id,
        rating=rating,
        body=body,
        created_at=now - timedelta(minutes=minutes_ago),
        hidden_at=now if hidden else None,
        hidden_reason="辱骂" if hidden else "",
    )
    db.session.add(review)
    db.session.flush()
    return review


class ModerationMix(NamedTuple):
    shown_low: Review
    hidden_low: Review
    shown_high: Review
    of_listing: Review
    listing: Listing


def moderation_mix(world, now) -> ModerationMix:
    """Four reviews, newest first, one for each filter of 评价管理: 山核桃 at 1 star, at 2 hidden (an advert,
    加微信), at 5 ("100%_好评": % and _ typed), and the stay 罗渡农家乐 at 3. Not committed."""
    shown_low = walnut_review(world, now, minutes_ago=1, rating=1, body="骂人的话")
    hidden_low = walnut_review(world, now, minutes_ago=2, rating=2, body="广告 加微信", hidden=True)
    shown_high = walnut_review(world, now, minutes_ago=3, rating=5, body="100%_好评")
    listing = make_listing(host=make_user(role="host"), name="罗渡农家乐")
    stay = stay_order(world.buyer, listing)
    of_listing = Review(
        order_line_id=stay.lines[0].id,
        user_id=world.buyer.id,
        listing_id=listing.id,
        rating=3,
        body="安静",
        created_at=now - timedelta(minutes=4),
    )
    db.session.add(of_listing)
    return ModerationMix(shown_low, hidden_low, shown_high, of_listing, listing)
