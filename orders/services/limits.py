"""Limits on unpaid reservations (#17.4): orders paid later — at the station (station_cash) or on
delivery (cod) — are confirmed at once and hold stock without any money, so:

- an account has at most MAX_OPEN_PAY_LATER_ORDERS such orders open (confirmed, not yet completed or
  canceled) at a time; one more is a 409 `too_many_open_orders` with a clear message;
- each line of such an order holds at most MAX_PAY_LATER_QUANTITY units, so that one account cannot
  take a product's whole stock (3 orders × 10 units, against the 34 units one account took);
- a station-cash pick-up order not collected within PICKUP_UNCOLLECTED_DAYS of its placing is canceled
  by the beat schedule and its stock released (`orders.services.expiry.expire_uncollected_pickups`).

The count is taken under a lock of the buyer's account row (the same lock the pay-on-arrival
booking limits take), so two simultaneous checkouts of one account cannot both pass the cap.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from orders.models import Delivery, Order, OrderLine, OrderStatus, PaymentMethod, ShipmentStatus
from shop.auth.models import User
from shop.db import statement
from shop.errors import Conflict, ValidationError
from shop.extensions import db

PAY_LATER = (PaymentMethod.STATION_CASH, PaymentMethod.COD)


class TooManyOpenOrders(Conflict):
    code = "too_many_open_orders"


def _config(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def max_open_orders() -> int:
    return _config("MAX_OPEN_PAY_LATER_ORDERS", 3)


def max_quantity() -> int:
    return _config("MAX_PAY_LATER_QUANTITY", 10)


def uncollected_days() -> int:
    return _config("PICKUP_UNCOLLECTED_DAYS", 7)


def _open_orders_statement() -> sa.Select:
    open_orders = (
        sa.select(Order.id)
        .where(
            Order.user_id == sa.bindparam("user_id"),
            Order.payment_method.in_(PAY_LATER),
            Order.status == OrderStatus.CONFIRMED,
            Order.lines.any(OrderLine.kind == "product"),
        )
        .limit(sa.bindparam("at_most"))
        .subquery()
    )
    return sa.select(sa.func.count()).select_from(open_orders)


def open_orders_column() -> sa.ScalarSelect:
    """`open_pay_later_orders` as a scalar subquery (bind parameters `user_id` and `at_most`), for a
    read that runs after `lock_pay_later` anyway (the checkout's items read): one round trip less."""
    return _open_orders_statement().scalar_subquery()


def open_pay_later_orders(user_id: int, *, at_most: int) -> int:
    """Open unpaid orders of goods (a pay-on-arrival booking's order is limited by tourism's own rule),
    counted up to `at_most` (the cap: a checkout only needs to know whether it is reached). Read through
    `ix_orders_user_status`: the buyer's confirmed orders, not every confirmed order of the shop."""
    query = statement("orders.open_pay_later_orders", _open_orders_statement)
    return int(db.session.scalar(query, {"user_id": user_id, "at_most": at_most}) or 0)


def _lock_buyer_statement() -> sa.Select:
    return sa.select(User.id).where(User.id == sa.bindparam("user_id")).with_for_update()


def lock_pay_later(buyer_id: int, payment_method: str, wanted: dict[int, int]) -> int | None:
    """The first half of `check_pay_later`: refuse a line over MAX_PAY_LATER_QUANTITY (422), then lock
    the buyer's row until commit. Returns the cap of open orders to count against (None: not a
    pay-later order, nothing locked, nothing to count). The caller counts in a statement of its own
    that starts after this one (see `check_pay_later`) and hands the count to `refuse_over_cap`."""
    if payment_method not in PAY_LATER:
        return None
    cap = max_quantity()
    for product_id, quantity in wanted.items():
        if quantity > cap:
            raise ValidationError(
                "pay_later_quantity",
                max=cap,
                fields={"items": "pay_later_quantity", "product_id": str(product_id), "max": str(cap)},
            )
    db.session.execute(statement("orders.lock_buyer", _lock_buyer_statement), {"user_id": buyer_id})
    return max_open_orders()


def refuse_over_cap(open_orders: int, limit: int) -> None:
    """409 `too_many_open_orders` when the buyer's open pay-later orders (counted after the lock,
    up to `limit`) have reached the cap."""
    if open_orders >= limit:
        raise TooManyOpenOrders(
            "too_many_open_orders",
            max=limit,
            fields={"max": str(limit)},
        )


def check_pay_later(buyer_id: int, payment_method: str, wanted: dict[int, int]) -> None:
    """Refuse a pay-later order over the limits (changes nothing); locks the buyer's row until commit.
    The count is a second statement, after the lock: under READ COMMITTED a statement sees the rows
    committed before it started, so the count must start once a concurrent checkout of the same
    account has committed (one statement locking and counting would count with the older snapshot).
    The checkout folds that count into its items read, the next statement after the lock
    (`orders.services.placement.quote`, `open_orders_column`)."""
    limit = lock_pay_later(buyer_id, payment_method, wanted)
    if limit is not None:
        refuse_over_cap(open_pay_later_orders(buyer_id, at_most=limit), limit)


def paid_ahead_at_the_counter(order: Order) -> bool:
    """The counter took some of the order's cash before the hand-over (确认已收现金): no mere reservation
    any more, so it is never canceled as uncollected (`expiry.expire_uncollected_pickups`); the station
    hands it over whenever the buyer comes."""
    return any(s.cash_received_at is not None for s in order.shipments if s.status != ShipmentStatus.CANCELED)


def collect_by(order: Order) -> datetime | None:
    """When an uncollected station-cash pick-up order is canceled (None for other orders, and for one the
    buyer already paid at the counter: the buyer's page then no longer says 逾期订单自动取消)."""
    if order.delivery != Delivery.PICKUP or order.payment_method != PaymentMethod.STATION_CASH:
        return None
    if paid_ahead_at_the_counter(order):
        return None
    return order.created_at + timedelta(days=uncollected_days())
