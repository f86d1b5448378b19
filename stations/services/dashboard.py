"""The operator's dashboard: one station's shipments by status, today's pick-ups, low stock, the refund
requests waiting for its decision, the lines of its recalled lots still to refund.

Everything is filtered by `station_id` in the query itself: nothing of another station is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from catalog.models import Product
from orders.models import Delivery, Order, Refund, RefundKind, Shipment, ShipmentStatus
from orders.services import payments, refunds
from shop.errors import NotFound
from shop.extensions import db
from shop.timeutil import local_date, local_midnight_utc
from stations.services import recalls
from stock.models import Station, StockRecord

STATUS_ORDER = (
    ShipmentStatus.NEW,
    ShipmentStatus.ACCEPTED,
    ShipmentStatus.PACKED,
    ShipmentStatus.SHIPPED,
    ShipmentStatus.ARRIVED,
    ShipmentStatus.READY_FOR_PICKUP,
    ShipmentStatus.DELIVERED,
    ShipmentStatus.CANCELED,
)
#: A pick-up shipment still in the station's hands before it is ready for the buyer.
PREPARING = (ShipmentStatus.NEW, ShipmentStatus.ACCEPTED, ShipmentStatus.PACKED)
TERMINAL = (ShipmentStatus.DELIVERED, ShipmentStatus.CANCELED)
PER_STATUS = 50


@dataclass
class StatusGroup:
    status: str
    count: int
    shipments: list[Shipment]
    oldest_age: timedelta | None = None


@dataclass
class Dashboard:
    station: Station
    groups: list[StatusGroup]
    #: 今日自提: pick-up orders on this counter's shelf (packed here, or sent here and arrived) and those
    #: handed over here today; a transfer this station only sends is the chosen station's.
    pickups_waiting: list[Shipment] = field(default_factory=list)
    picked_up_today: list[Shipment] = field(default_factory=list)
    low_stock: list[StockRecord] = field(default_factory=list)
    #: Pick-up orders collected here: their shipments packed at other stations, not yet handed over.
    incoming: list[Shipment] = field(default_factory=list)
    #: This station's goods coming back from a pick-up station (a transfer canceled after it arrived).
    returning: list[Shipment] = field(default_factory=list)
    #: Pick-up orders still being prepared here (new, accepted, packed): not ready yet, but 今日自提 all the same.
    pickups_preparing: list[Shipment] = field(default_factory=list)
    #: Buyers' refund requests waiting for this station's decision (退款申请).
    refunds_waiting: int = 0
    #: Of them, those whose buyer sends the goods back (退货退款): goods to expect at the counter.
    returns_waiting: int = 0
    #: Open lines of this station's recalled lots (`recalls.settle_counts`): {"now": to refund now,
    #: "in_transit": on their way, refunded once delivered}.
    recalls_to_settle: dict[str, int] = field(default_factory=dict)
    #: 待退还现金: cash refunds this station's till owes buyers, to hand back (who, how much, which order).
    cash_to_hand_back: list[Refund] = field(default_factory=list)


def get_station(station_id: int | None = None, *, code: str | None = None) -> Station:
    if code is not None:
        station = db.session.scalar(sa.select(Station).where(Station.code == code))
    else:
        station = db.session.get(Station, station_id) if station_id else None
    if station is None:
        raise NotFound("no_such_station")
    return station


def age(shipment: Shipment, now: datetime) -> timedelta:
    return max(now - shipment.created_at, timedelta(0))


def station_dashboard(station: Station, *, now: datetime) -> Dashboard:
    counts = dict(
        db.session.execute(
            sa.select(Shipment.status, sa.func.count(Shipment.id))
            .where(Shipment.station_id == station.id)
            .group_by(Shipment.status)
        ).all()
    )
    base = (
        sa.select(Shipment)
        .where(Shipment.station_id == station.id)
        .options(selectinload(Shipment.order), selectinload(Shipment.lines))
    )
    groups = []
    for status in STATUS_ORDER:
        query = base.where(Shipment.status == status)
        if status in TERMINAL:  # the most recent ones; the active ones oldest first
            query = query.order_by(Shipment.created_at.desc(), Shipment.id.desc())
        else:
            query = query.order_by(Shipment.created_at, Shipment.id)
        shipments = list(db.session.scalars(query.limit(PER_STATUS))) if counts.get(status) else []
        oldest = age(shipments[0], now) if shipments and status not in TERMINAL else None
        groups.append(StatusGroup(str(status), counts.get(status, 0), shipments, oldest))

    today_start = local_midnight_utc(local_date(now))
    today_end = today_start + timedelta(days=1)
    pickup = base.join(Order, Shipment.order_id == Order.id).where(Order.delivery == Delivery.PICKUP)
    #: 今日自提 is what buyers collect at this counter: not a transfer this station only packs and sends to
    #: the station the buyer chose (its desk row says 送往 …; that station lists it under 送来本站自提), but
    #: the transfers sent here once they arrived (waiting on this shelf) and were handed over here
    collected_here = pickup.where(sa.or_(Order.pickup_station_id.is_(None), Order.pickup_station_id == station.id))
    sent_here = (
        sa.select(Shipment)
        .join(Order, Shipment.order_id == Order.id)
        .where(
            Order.delivery == Delivery.PICKUP,
            Order.pickup_station_id == station.id,
            Shipment.station_id != station.id,
        )
        .options(selectinload(Shipment.order), selectinload(Shipment.lines))
    )
    waiting = list(
        db.session.scalars(
            pickup.where(Shipment.status == ShipmentStatus.READY_FOR_PICKUP).order_by(Shipment.created_at, Shipment.id)
        )
    ) + list(
        db.session.scalars(
            sent_here.where(Shipment.status == ShipmentStatus.ARRIVED).order_by(Shipment.created_at, Shipment.id)
        )
    )
    preparing = list(
        db.session.scalars(
            collected_here.where(Shipment.status.in_(PREPARING)).order_by(Shipment.created_at, Shipment.id)
        )
    )
    handed_over_today = (
        Shipment.status == ShipmentStatus.DELIVERED,
        Shipment.delivered_at >= today_start,
        Shipment.delivered_at < today_end,
    )
    picked = sorted(
        [
            *db.session.scalars(collected_here.where(*handed_over_today)),
            *db.session.scalars(sent_here.where(*handed_over_today)),
        ],
        key=lambda s: (s.delivered_at, s.id),
    )
    return Dashboard(
        station,
        groups,
        waiting,
        picked,
        low_stock(station.id),
        incoming_shipments(station.id),
        returning_shipments(station.id),
        pickups_preparing=preparing,
        refunds_waiting=refunds.waiting_count(station.id),
        returns_waiting=refunds.waiting_count(station.id, kind=RefundKind.RETURN),
        recalls_to_settle=recalls.settle_counts(station.id),
        cash_to_hand_back=payments.cash_to_hand_back(station.id),
    )


def returning_shipments(station_id: int) -> list[Shipment]:
    """This station's shipments whose goods travel back to it (`Shipment.return_status` returning)."""
    return list(
        db.session.scalars(
            sa.select(Shipment)
            .where(Shipment.station_id == station_id, Shipment.return_status == "returning")
            .options(selectinload(Shipment.order))
            .order_by(Shipment.created_at, Shipment.id)
        )
    )


def incoming_shipments(station_id: int) -> list[Shipment]:
    """Shipments packed elsewhere for pick-up orders collected at this station, still open."""
    return list(
        db.session.scalars(
            sa.select(Shipment)
            .join(Order, Shipment.order_id == Order.id)
            .where(
                Order.delivery == Delivery.PICKUP,
                Order.pickup_station_id == station_id,
                Shipment.station_id != station_id,
                Shipment.status.in_(
                    (
                        ShipmentStatus.NEW,
                        ShipmentStatus.ACCEPTED,
                        ShipmentStatus.PACKED,
                        ShipmentStatus.SHIPPED,
                        ShipmentStatus.ARRIVED,
                    )
                ),
            )
            .options(selectinload(Shipment.order), selectinload(Shipment.station), selectinload(Shipment.lines))
            .order_by(Shipment.created_at, Shipment.id)
        )
    )


def low_stock(station_id: int) -> list[StockRecord]:
    """Records whose available units are at or below their threshold, emptiest first."""
    return list(
        db.session.scalars(
            sa.select(StockRecord)
            .join(Product, StockRecord.product_id == Product.id)
            .where(
                StockRecord.station_id == station_id,
                StockRecord.on_hand - StockRecord.allocated <= StockRecord.low_stock_threshold,
            )
            .options(selectinload(StockRecord.product))
            .order_by(StockRecord.on_hand - StockRecord.allocated, Product.name)
        )
    )


def station_stock(station_id: int) -> list[StockRecord]:
    return list(
        db.session.scalars(
            sa.select(StockRecord)
            .join(Product, StockRecord.product_id == Product.id)
            .where(StockRecord.station_id == station_id)
            .options(selectinload(StockRecord.product))
            .order_by(Product.name, Product.id)
        )
    )
