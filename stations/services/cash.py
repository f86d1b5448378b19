"""Counter cash: pay-at-station (station_cash) and cash-on-delivery (cod) orders.

The operator confirms the cash received for a shipment (what its open lines and shipping cost);
the time and the operator are kept on the shipment and in its status history. The day's summary
per operator is computed from those rows (a Beijing calendar day), never a stored total.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from orders.models import Order, PaymentMethod, Shipment, ShipmentStatus
from shop.auth.models import User
from shop.errors import Conflict
from shop.extensions import db
from shop.history import record_status
from shop.money import format_yuan
from shop.timeutil import local_midnight_utc
from stations.services.fulfilment import shipment_amount_fen

CASH_METHODS = (PaymentMethod.STATION_CASH, PaymentMethod.COD)


def confirm_cash(shipment: Shipment, *, actor, now: datetime) -> Shipment:
    """Record that the cash for this shipment is in the till. Refused twice or for card orders.

    The orders package owns the payment: `orders.services.payments.confirm_cash` stamps the shipment
    and confirms the order's payment once every live shipment is paid; this adds the clear refusals
    an operator needs and the amount to the shipment's history.
    """
    from orders.services.payments import confirm_cash as orders_confirm_cash

    db.session.execute(sa.select(Order.id).where(Order.id == shipment.order_id).with_for_update())
    db.session.refresh(shipment)
    if shipment.order.payment_method not in CASH_METHODS:
        raise Conflict(_("此订单为在线支付，不收现金"), code="not_cash_order")
    if shipment.cash_received_at is not None:
        raise Conflict(_("此发货单的现金已确认过"), code="cash_already_received")
    if shipment.status == ShipmentStatus.CANCELED:
        raise Conflict(_("此发货单已取消"), code="shipment_canceled")
    amount = shipment_amount_fen(shipment)
    orders_confirm_cash(shipment, actor=actor, now=now)
    record_status(shipment, from_status=shipment.status, to_status=shipment.status, actor=actor, now=now,
                  note=f"cash received {format_yuan(amount)}")
    db.session.flush()
    return shipment


@dataclass
class OperatorCash:
    operator_id: int | None
    operator_name: str
    count: int
    amount_fen: int
    shipments: list[Shipment]


def cash_summary(station_id: int, day: date) -> list[OperatorCash]:
    """Cash confirmed at this station on Beijing calendar `day`, per operator."""
    start = local_midnight_utc(day)
    end = local_midnight_utc(day + timedelta(days=1))
    shipments = list(
        db.session.scalars(
            sa.select(Shipment)
            .where(Shipment.station_id == station_id, Shipment.cash_received_at >= start,
                   Shipment.cash_received_at < end)
            .options(selectinload(Shipment.lines), selectinload(Shipment.order))
            .order_by(Shipment.cash_received_at, Shipment.id)
        )
    )
    users = {
        u.id: u for u in db.session.scalars(
            sa.select(User).where(User.id.in_({s.cash_received_by_id for s in shipments if s.cash_received_by_id}))
        )
    }
    groups: dict[int | None, OperatorCash] = {}
    for s in shipments:
        user = users.get(s.cash_received_by_id)
        group = groups.setdefault(
            s.cash_received_by_id,
            OperatorCash(s.cash_received_by_id, (user.name or user.email) if user else "—", 0, 0, []),
        )
        group.count += 1
        group.amount_fen += shipment_amount_fen(s)
        group.shipments.append(s)
    return sorted(groups.values(), key=lambda g: (g.operator_name, g.operator_id or 0))
