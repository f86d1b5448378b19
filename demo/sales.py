"""Demo sales (idempotent): a villager's pick-up orders at the second demo station (NC02), paid in cash at
its counter today, so that the county's income report, the households' statements (明白卡) and 收益发放 show
sale income traced to the households linked to each product, as a real sale's is.

Every step goes through the shop's own services, as the buyer's and the operator's taps would: the order is
placed (`place_order`: prices on the server, stock and lots allocated), the station accepts and packs it,
and hands it over against the pick-up code with the cash written in its cash book
(`fulfilment.hand_over_pickup`) — the moment the money is received and the sale credited. The station's
day is left open (its operator closes it, 日结). The demo operator's own station (NC01) is left untouched.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from catalog.models import ApprovalStatus, Product
from orders.models import Delivery, Order, PaymentMethod
from orders.services.placement import PlacementRequest, place_order
from shop.auth.models import User
from shop.extensions import db
from stations.services import fulfilment
from stock.models import StockRecord

#: (how many products of the station, units of each) in each demo order
ORDERS = ((2, 1), (1, 3))


def seed_sales(*, buyer: User, operator: User, now: datetime) -> bool:
    """The demo villager's orders, placed, packed and picked up today; nothing if they have any order."""
    if operator.station_id is None or db.session.scalar(sa.select(Order.id).where(Order.user_id == buyer.id).limit(1)):
        return False
    products = db.session.scalars(
        sa.select(Product)
        .join(StockRecord, StockRecord.product_id == Product.id)
        .where(
            Product.station_id == operator.station_id,
            Product.approval_status == ApprovalStatus.APPROVED,
            Product.is_published.is_(True),
            StockRecord.on_hand - StockRecord.allocated >= 10,
        )
        .order_by(Product.id)
    ).all()
    if not products:
        return False
    for n, (count, units) in enumerate(ORDERS):
        chosen = [products[(n + k) % len(products)] for k in range(count)]
        order = place_order(
            PlacementRequest(
                items=[(p.id, units) for p in dict.fromkeys(chosen)],
                payment_method=PaymentMethod.STATION_CASH,
                delivery=Delivery.PICKUP,
                pickup_station_id=operator.station_id,
            ),
            buyer=buyer,
            now=now,
        )
        (shipment,) = order.shipments
        fulfilment.accept(shipment, actor=operator, now=now)
        fulfilment.pack(shipment, actor=operator, now=now)  # a pick-up at its own station: on the shelf
        fulfilment.hand_over_pickup(
            shipment, pickup_code=shipment.pickup_code, actor=operator, now=now, cash_received_fen=order.total_fen
        )
    return True
