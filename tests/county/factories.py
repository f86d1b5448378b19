"""County test data: orders with a shipment and lines written directly (no checkout service)."""

from __future__ import annotations

import itertools

from orders.models import Order, OrderLine, OrderPayment, Shipment
from shop.extensions import db
from tests.factories import NOW, make_category, make_household, make_station, make_user

_seq = itertools.count(1)


def make_order(*, user=None, station=None, status: str = "confirmed", shipment_status: str = "delivered"):
    """An order with one shipment at `station`; returns (order, shipment)."""
    n = next(_seq)
    user = user or make_user()
    station = station or make_station()
    order = Order(
        code=f"CTY{n:05d}",
        secret=f"secret{n}",
        user_id=user.id,
        status=status,
        payment_method="card",
        subtotal_fen=0,
        total_fen=0,
        created_at=NOW,
    )
    db.session.add(order)
    db.session.flush()
    shipment = Shipment(
        code=f"{order.code}-1",
        order_id=order.id,
        station_id=station.id,
        status=shipment_status,
        created_at=NOW,
        delivered_at=NOW if shipment_status == "delivered" else None,
    )
    db.session.add(shipment)
    # the card payment captured for it (grows with the lines, `make_line`): money received = amount due
    db.session.add(
        OrderPayment(
            order_id=order.id, provider="stripe", state="confirmed", amount_fen=0, created_at=NOW, confirmed_at=NOW
        )
    )
    db.session.flush()
    return order, shipment


def make_line(
    *,
    order=None,
    shipment=None,
    station=None,
    households=None,
    weights=None,
    unit_price_fen: int = 4500,
    quantity: int = 1,
    commission_bps: int = 0,
    kind: str = "product",
    product=None,
    category=None,
    village=None,
    booking_id=None,
    split=None,
    status: str = "open",
    shipment_status: str = "delivered",
):
    """An order line snapshotting a benefit split over `households` (created if None)."""
    if order is None:
        order, shipment = make_order(station=station, shipment_status=shipment_status)
    station_id = shipment.station_id if shipment is not None else (station.id if station else None)
    if households is None:
        households = [make_household(), make_household()]
    if split is None:
        split = [{"household_id": h.id, "weight": (weights[i] if weights else 1)} for i, h in enumerate(households)]
    category = category or make_category()
    village_id = village.id if village is not None else (households[0].village_id if households else None)
    total = unit_price_fen * quantity
    line = OrderLine(
        order_id=order.id,
        shipment_id=shipment.id if (shipment is not None and kind == "product") else None,
        kind=kind,
        product_id=product.id if product is not None else None,
        booking_id=booking_id,
        status=status,
        title="土鸡蛋30枚",
        unit="盒",
        station_id=station_id,
        village_id=village_id,
        category_id=category.id,
        unit_price_fen=unit_price_fen,
        quantity=quantity,
        line_total_fen=total,
        commission_bps=commission_bps,
        benefit_split=split,
    )
    db.session.add(line)
    order.subtotal_fen += total
    order.total_fen += total
    payment = db.session.scalar(
        db.select(OrderPayment).where(OrderPayment.order_id == order.id).order_by(OrderPayment.id).limit(1)
    )
    if payment is not None and status == "open":
        payment.amount_fen += total
    db.session.flush()
    return line


def make_booking_line(
    *, households, status: str = "completed", employed: int = 3, price_fen: int = 30000, village=None
):
    """A listing (employing `employed` poor members), a booking in `status`, and its order line."""
    from datetime import date

    from tests.factories import make_village
    from tourism.models import Booking, Listing, UnitType

    n = next(_seq)
    village = village or make_village()
    host = make_user(role="host")
    listing = Listing(
        kind="stay",
        slug=f"cty-listing-{n}",
        name=f"农家乐{n}",
        village_id=village.id,
        host_id=host.id,
        employed_poor_members=employed,
        created_at=NOW,
    )
    db.session.add(listing)
    db.session.flush()
    unit_type = UnitType(listing_id=listing.id, name="标准间", units=2, price_fen=price_fen)
    db.session.add(unit_type)
    db.session.flush()
    guest = make_user()
    booking = Booking(
        code=f"CTYB{n:05d}",
        user_id=guest.id,
        listing_id=listing.id,
        unit_type_id=unit_type.id,
        check_in_date=date(2026, 11, 20),
        check_out_date=date(2026, 11, 21),
        guests=2,
        status=status,
        total_fen=price_fen,
        created_at=NOW,
    )
    db.session.add(booking)
    db.session.flush()
    order, _shipment = make_order(user=guest)
    line = make_line(
        order=order,
        shipment=None,
        households=households,
        kind="booking",
        booking_id=booking.id,
        unit_price_fen=price_fen,
        village=village,
    )
    return listing, booking, line
