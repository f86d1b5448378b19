"""What the buyer's order page (`/orders/<code>`) shows of each of its lines, read with the order in a
fixed number of statements whatever the number of lines, shipments and bookings: the lines with their
shipment (its station, its lines) and their booking (listing, photos, host, unit type, session), every
shipment's history, the refund requests of every goods line, the recalled lots the buyer still has and
each line's review state (asked of the package that keeps reviews: `orders.line_reviews`). The page's
template only renders what this returns; it loads nothing line by line.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from orders.bookables import booking_page_options
from orders.line_reviews import ReviewState, review_states
from orders.models import Order, OrderLine, Shipment
from orders.services.recalled import RecalledUnits, recalled_units
from orders.services.refunds import LineRefunds, line_refunds
from shop.extensions import db
from shop.history import StatusEvent, histories_of


@dataclass(frozen=True)
class OrderPageLines:
    """The order's lines as its page shows them, keyed by line (or shipment) id."""

    #: {line id: its review state} ("reviewed", review) | ("open", None) | (None, None).
    review_states: dict[int, ReviewState]
    #: {shipment id: its status changes, oldest first}.
    shipment_histories: dict[int, list[StatusEvent]]
    #: {goods line id: its refund requests and whether a new one is taken}.
    line_refunds: dict[int, LineRefunds]
    #: {line id: the recalled lots of it the buyer still has} (#23).
    recalled: dict[int, list[RecalledUnits]]


def load_order_lines(order: Order) -> Order:
    """`order` with its lines (their bookings) and its shipments (their station and lines) loaded, one SELECT
    per relation, never one per row: the two statements the page's lazy loads of `order.lines` and
    `order.shipments` would send, with what each line and shipment shows besides."""
    lines = db.session.scalars(
        sa.select(OrderLine)
        .where(OrderLine.order_id == order.id)
        .order_by(OrderLine.id)
        .options(selectinload(OrderLine.booking).options(*booking_page_options()))
    ).all()
    set_committed_value(order, "lines", list(lines))
    shipments = db.session.scalars(
        sa.select(Shipment)
        .where(Shipment.order_id == order.id)
        .order_by(Shipment.id)
        .options(selectinload(Shipment.station), selectinload(Shipment.lines))
    ).all()
    set_committed_value(order, "shipments", list(shipments))
    return order


def order_page_lines(order: Order) -> OrderPageLines:
    """What the order page shows per line and per shipment, `order` loaded first (`load_order_lines`)."""
    order = load_order_lines(order)
    by_line: dict[int, list[RecalledUnits]] = {}
    for units in recalled_units(order_id=order.id):
        by_line.setdefault(units.line_id, []).append(units)
    return OrderPageLines(
        review_states=review_states(list(order.lines)),
        shipment_histories=histories_of(order.shipments),
        line_refunds=line_refunds(order),
        recalled=by_line,
    )
