"""The setup the tests of cash refunds owed at the counter (待退还现金) share, the desk's and shipment page's
(tests/stations/test_cash_hand_back.py) and the API's (tests/stations/test_cash_refunds_api.py), on the
stations' world (tests/stations/conftest.py `world`): a refund station A's till owes, and the cash book."""

from __future__ import annotations

import sqlalchemy as sa

from orders.models import CashEntry, Refund
from orders.services import payments
from shop.db import commit
from shop.extensions import db
from shop.timeutil import now_utc
from tests.stations.factories import make_order


def cash_book() -> list[tuple[str, int, int | None]]:
    """(kind, amount_fen, actor_id) of every cash-book entry as stored, oldest first."""
    db.session.expire_all()
    return [(e.kind, e.amount_fen, e.actor_id) for e in db.session.scalars(sa.select(CashEntry).order_by(CashEntry.id))]


def canceled_after_counter_cash(world, client, auth) -> tuple:
    """A pick-up order at station A, its cash taken ahead at the counter, then cancelled by its buyer on
    the order page (the confirmation's 确认取消订单): the refund A's till owes. Returns (order, refund)."""
    order = make_order([(world.a.product, 1)], delivery="pickup", payment_method="station_cash", buyer=world.buyer)
    payments.confirm_counter_cash(order.shipments[0], actor=world.a.operator, now=now_utc())
    commit()
    auth.login(world.buyer)
    res = client.post(f"/orders/{order.code}/cancel", data={"confirm": "1"})
    assert res.status_code == 303, res.get_data(as_text=True)
    auth.logout()
    refund = db.session.scalars(sa.select(Refund).where(Refund.shipment_id == order.shipments[0].id)).one()
    return order, refund
