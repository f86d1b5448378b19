"""Unpaid card orders expire (pretix `expire_orders`): pick candidates, lock each, re-check, act.

Two overlapping runs are safe: the second waits for the first's row lock, re-reads the order,
sees it is no longer pending and skips it — so stock is released exactly once.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from orders.models import Order, OrderStatus
from orders.services.common import lock_order, notify
from orders.services.payments import _call_booking_hook, _release_stock
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
        _release_stock(order)
        transition(order, OrderStatus.EXPIRED, actor=None, now=now, note="payment window passed")
        _call_booking_hook(order, "on_order_released", now)
        notify(order, "expired")
        expired.append(order.code)
    db.session.flush()
    return expired
