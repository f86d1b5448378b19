"""The setup the order page and order list statement tests share: orders of the stations' world
(tests/stations/conftest.py `world`) with goods delivered from both stations and bookings of every kind
(a stay, an experience's session, a ticket day) completed or still to come, some lines reviewed, some with
refund requests (approved and rejected) or refunded units — everything the buyer's pages show per line.
Rows are made directly (the pages read rows, whatever wrote them); nothing is committed."""

from __future__ import annotations

from datetime import timedelta

from catalog.models import ProductImage
from orders.models import LineStatus, OrderLine, Refund, RefundRequest
from reviews.models import Review
from shop.extensions import db
from tests.factories import make_product
from tests.stations.factories import make_order
from tests.tourism.factories import make_booking, make_listing, make_session
from tourism.models import BookingStatus, ListingImage, ListingKind


def _goods(world, n: int) -> list:
    """`n` products, alternately of station A and station B, each with a photo (the line's thumbnail)."""
    products = []
    for i in range(n):
        side = world.a if i % 2 == 0 else world.b
        product = make_product(name=f"农货{i}号", stock=20, station=side.station, category=world.category)
        db.session.add(ProductImage(product_id=product.id, path=f"p{i}.jpg", thumb_path=f"p{i}_t.jpg", position=0))
        products.append(product)
    db.session.flush()
    return products


def _book(order, buyer, listing, *, status, session=None) -> OrderLine:
    day = order.created_at.date() - timedelta(days=3)
    booking = make_booking(listing, user=buyer, check_in=day, status=status, session=session)
    booking.order_id = order.id
    line = OrderLine(
        order_id=order.id,
        kind="booking",
        booking_id=booking.id,
        title=listing.name,
        unit_price_fen=10000,
        quantity=1,
        line_total_fen=10000,
    )
    db.session.add(line)
    return line


def _listing(kind: str, n: int):
    listing = make_listing(kind=kind)
    db.session.add(ListingImage(listing_id=listing.id, path=f"l{n}.jpg", thumb_path=f"l{n}_t.jpg", position=0))
    return listing


def _review(line: OrderLine, buyer, now, rating: int, *, hidden: bool = False) -> None:
    db.session.add(
        Review(
            order_line_id=line.id,
            user_id=buyer.id,
            product_id=line.product_id,
            listing_id=line.booking.listing_id if line.booking_id else None,
            station_id=line.station_id,
            rating=rating,
            body="好",
            created_at=now,
            hidden_at=now if hidden else None,
            hidden_reason="广告" if hidden else "",
        )
    )


def _refund_request(
    line: OrderLine, buyer, now, status: str, *, note: str = "", quantity: int = 1, refund=None
) -> None:
    db.session.add(
        RefundRequest(
            order_id=line.order_id,
            order_line_id=line.id,
            station_id=line.station_id,
            quantity=quantity,
            amount_fen=quantity * line.unit_price_fen,
            refund_id=refund.id if refund is not None else None,
            status=status,
            reason="坏了",
            kind="refund_only",
            requested_by_id=buyer.id,
            decision_note=note,
            created_at=now,
            decided_at=now if status != "requested" else None,
        )
    )


def order_with(world, now, *, goods: int, bookings: int = 0, buyer=None):
    """An order of `goods` products (3 units each, alternately of station A and B, delivered) and `bookings`
    bookings, in this order: an experience's session and a stay, both completed, then a ticket day to come.
    The first goods line and the first booking are reviewed; the second goods line's review was hidden by
    the county; the third goods line had a request rejected, then one approved (2 of its 3 units refunded,
    the refund with it); the fourth has a request waiting; the fifth is refunded whole."""
    buyer = buyer or world.buyer
    order = _deliver_all(make_order([(p, 3) for p in _goods(world, goods)], buyer=buyer), world, now)
    goods_lines = list(order.lines)
    booked = []
    for i in range(bookings):
        if i % 3 == 0:
            listing = _listing(ListingKind.EXPERIENCE, i)
            session = make_session(listing, day=order.created_at.date() - timedelta(days=3))
            booked.append(_book(order, buyer, listing, status=BookingStatus.COMPLETED, session=session))
        elif i % 3 == 1:
            booked.append(_book(order, buyer, _listing(ListingKind.STAY, i), status=BookingStatus.COMPLETED))
        else:
            booked.append(_book(order, buyer, _listing(ListingKind.TICKET, i), status=BookingStatus.CONFIRMED))
    db.session.flush()
    marks = [
        lambda line: _review(line, buyer, now, 5),
        lambda line: _review(line, buyer, now, 2, hidden=True),
        lambda line: _refunded(line, buyer, now),
        lambda line: _refund_request(line, buyer, now, "requested"),
        lambda line: _refunded_whole(line),
    ]
    for line, mark in zip(goods_lines, marks, strict=False):
        mark(line)
    for line in booked[:1]:
        _review(line, buyer, now, 4)
    db.session.flush()
    db.session.refresh(order)
    return order


def _refunded(line: OrderLine, buyer, now) -> None:
    _refund_request(line, buyer, now, "rejected", note="不符合")
    refund = Refund(
        payment_id=line.order.payments[0].id,
        order_line_id=line.id,
        amount_fen=2 * line.unit_price_fen,
        state="succeeded",
        reason="坏了",
        created_at=now,
    )
    db.session.add(refund)
    db.session.flush()
    _refund_request(line, buyer, now, "approved", quantity=2, refund=refund)
    line.refunded_quantity = 2


def _refunded_whole(line: OrderLine) -> None:
    line.status = LineStatus.REFUNDED
    line.refunded_quantity = line.quantity


def _deliver_all(order, world, now):
    for shipment in order.shipments:
        side = world.a if shipment.station_id == world.a.station.id else world.b
        _deliver_one(shipment, side.operator, now)
    return order


def _deliver_one(shipment, operator, now):
    from stations.services import fulfilment

    fulfilment.accept(shipment, actor=operator, now=now)
    fulfilment.pack(shipment, actor=operator, now=now)
    fulfilment.ship(shipment, tracking_number="SF1", actor=operator, now=now)
    fulfilment.deliver(shipment, actor=operator, now=now)
