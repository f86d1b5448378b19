"""Unpaid card orders expire (pretix `expire_orders`): pick candidates, lock each, re-check, act.
Uncollected station-cash pick-up orders are canceled the same way (`expire_uncollected_pickups`).

Two overlapping runs are safe: the second waits for the first's row lock, re-reads the order,
sees it is no longer pending and skips it — so stock is released exactly once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from orders import signals
from orders.models import Delivery, Order, OrderStatus, PaymentMethod, ShipmentStatus
from orders.services.common import lock_order, notify
from orders.services.limits import paid_ahead_at_the_counter, uncollected_days
from orders.services.payments import cancel_order, release_stock, shipment_cancelable
from shop.extensions import db
from shop.history import transition


def expire_pending_orders(now: datetime, *, limit: int = 200) -> list[str]:
    """Expire pending orders whose payment window has passed; returns their codes. Flushes only."""
    candidates = db.session.scalars(
        sa.select(Order.id)
        .where(Order.status == OrderStatus.PENDING, Order.expires_at.is_not(None), Order.expires_at <= now)
        .order_by(Order.id)
        .limit(limit)
    ).all()
    expired = []
    for order_id in candidates:
        order = lock_order(order_id)
        if order.status != OrderStatus.PENDING or order.expires_at is None or order.expires_at > now:
            continue  # paid or expired by a concurrent run meanwhile
        release_stock(order, now)
        transition(order, OrderStatus.EXPIRED, actor=None, now=now, note="payment window passed")
        signals.order_released.send(order, now=now)
        notify(order, "expired")
        expired.append(order.code)
    db.session.flush()
    return expired


def expire_uncollected_pickups(now: datetime, *, limit: int = 200) -> list[str]:
    """Cancel station-cash pick-up orders not collected within PICKUP_UNCOLLECTED_DAYS of their placing
    (`orders.services.limits`): stock released, the buyer mailed. Skipped (for a later run): an order
    with goods on their way between stations, or with cash already taken. Flushes only."""
    cutoff = now - timedelta(days=uncollected_days())
    candidates = db.session.scalars(
        sa.select(Order.id)
        .where(
            Order.status == OrderStatus.CONFIRMED,
            Order.payment_method == PaymentMethod.STATION_CASH,
            Order.delivery == Delivery.PICKUP,
            Order.created_at <= cutoff,
        )
        .order_by(Order.id)
        .limit(limit)
    ).all()
    canceled = []
    for order_id in candidates:
        order = lock_order(order_id)
        if order.status != OrderStatus.CONFIRMED:
            continue  # collected or canceled meanwhile
        shipments = [s for s in order.shipments if s.status != ShipmentStatus.CANCELED]
        if not all(shipment_cancelable(s) for s in shipments):
            continue  # on the road to the pick-up station (or handed over): not a mere reservation
        if paid_ahead_at_the_counter(order):
            continue  # the buyer paid at the counter: the station hands it over
        cancel_order(order, actor=None, now=now, reason="not collected in time", mail="uncollected")
        canceled.append(order.code)
    db.session.flush()
    return canceled
