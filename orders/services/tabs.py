"""The tabs of 我的订单 (全部 / 待付款 / 待发货 / 待收货 / 待使用 / 待评价 / 退款售后): one SQL condition per
tab on the buyer's orders, shared by the page and `GET /api/v1/orders?tab=`.

Each condition reads only orders' own tables (orders, shipments, order lines, payments, refunds,
refund requests). "To use" and "to review" depend on something that lives above orders (the
bookings of tourism; reviews): a higher package contributes its condition through `extend_tab`, and
the tab is the OR of the contributions, so this module imports nothing above it (the layers in
docs/STYLE). A booking sold in an order appears as a booking: to pay while its order waits for the
card, to use once confirmed (paid, or to be paid at the host's on arrival) and while the guest is
checked in, to review once its stay is completed, under refunds when money went back; it has no shipment, so
never "to ship" or "to receive".
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from orders.models import (
    LineStatus,
    Order,
    OrderLine,
    OrderPayment,
    OrderStatus,
    Refund,
    RefundRequest,
    Shipment,
    ShipmentStatus,
)
from shop.extensions import db

TABS = ("all", "to_pay", "to_ship", "to_receive", "to_use", "to_review", "after_sale")
#: The tabs only a higher package fills: offered once one contributes (`extend_tab`).
_CONTRIBUTED = ("to_use", "to_review")

#: Goods not yet on their way (to ship) and on their way (to receive) — a pick-up order's goods are
#: "to receive" once they wait at the chosen station.
_NOT_SHIPPED = (ShipmentStatus.NEW, ShipmentStatus.ACCEPTED, ShipmentStatus.PACKED)
_ON_THE_WAY = (ShipmentStatus.SHIPPED, ShipmentStatus.ARRIVED, ShipmentStatus.READY_FOR_PICKUP)

_extensions: dict[str, list[Callable[[], sa.ColumnElement[bool]]]] = {}


def extend_tab(tab: str, condition: Callable[[], sa.ColumnElement[bool]]) -> None:
    """A higher package adds a condition on `Order` to a tab (called once at start-up)."""
    if tab not in TABS:
        raise ValueError(tab)
    if condition not in _extensions.setdefault(tab, []):
        _extensions[tab].append(condition)


def shown_tabs() -> tuple[str, ...]:
    """The tabs the page offers: "to use" and "to review" only once a package contributes to them."""
    return tuple(tab for tab in TABS if tab not in _CONTRIBUTED or _extensions.get(tab))


def _has_shipment_in(statuses) -> sa.ColumnElement[bool]:
    return sa.exists().where(
        Shipment.order_id == Order.id,
        Shipment.status.in_(statuses),
        sa.exists().where(OrderLine.shipment_id == Shipment.id, OrderLine.status == LineStatus.OPEN),
    )


def tab_condition(tab: str) -> sa.ColumnElement[bool]:
    """The WHERE condition on `Order` for a tab ("all": true)."""
    if tab == "to_pay":
        own = Order.status == OrderStatus.PENDING
    elif tab == "to_ship":
        own = sa.and_(Order.status == OrderStatus.CONFIRMED, _has_shipment_in(_NOT_SHIPPED))
    elif tab == "to_receive":
        own = sa.and_(Order.status == OrderStatus.CONFIRMED, _has_shipment_in(_ON_THE_WAY))
    elif tab == "after_sale":
        own = sa.or_(
            sa.exists().where(RefundRequest.order_id == Order.id),
            sa.exists().where(Refund.payment_id == OrderPayment.id, OrderPayment.order_id == Order.id),
            sa.exists().where(OrderLine.order_id == Order.id, OrderLine.status == LineStatus.REFUNDED),
        )
    elif tab == "all":
        return sa.true()
    elif tab in TABS:
        own = sa.false()
    else:
        raise ValueError(tab)
    extra = [make() for make in _extensions.get(tab, ())]
    return sa.or_(own, *extra) if extra else own


def buyer_orders(user_id: int, tab: str = "all") -> sa.Select:
    """The select of a buyer's orders in a tab, newest first."""
    return (
        sa.select(Order)
        .where(Order.user_id == user_id, tab_condition(tab))
        .order_by(Order.created_at.desc(), Order.id.desc())
    )


def tab_counts(user_id: int) -> dict[str, int]:
    """How many of the buyer's orders each tab holds (one query)."""
    columns = [sa.func.count().filter(tab_condition(tab)).label(tab) for tab in TABS]
    row = db.session.execute(sa.select(*columns).select_from(Order).where(Order.user_id == user_id)).one()
    return dict(zip(TABS, row, strict=True))
