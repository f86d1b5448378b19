"""Two people record the same bank transfer at the same moment (the county office and the station, or
a double submit): one records it, the other changes nothing — one confirmation, one audit row
(PostgreSQL threads; the order row lock serialises them)."""

from __future__ import annotations

import sqlalchemy as sa

from orders.models import Order, OrderPayment
from orders.services import transfers
from shop.audit import AuditEntry
from shop.db import commit
from shop.history import StatusEvent
from shop.timeutil import now_utc
from tests.concurrency.race import at_once
from tests.conftest import requires_postgres
from tests.factories import make_product, make_station, make_user
from tests.orders.factories import make_order


@requires_postgres
def test_the_same_transfer_recorded_twice_at_once_is_recorded_once(app, committed_db):
    db = committed_db
    from shop.auth.models import User

    station = make_station()
    product = make_product(stock=20, station=station)
    order = make_order(make_user(), [(product, 3)], now=now_utc(), payment_method="bank_transfer", institutional=True)
    recorders = [make_user(role="county").id, make_user(role="operator", station=station).id]
    ids = {"order": order.id, "amount": order.payments[0].amount_fen}
    commit()

    def record(user_id: int):
        return lambda: transfers.record_transfer(
            db.session.get(Order, ids["order"]),
            amount_fen=ids["amount"],
            reference="ICBC20261203000042",
            received_on=None,
            actor=db.session.get(User, user_id),
            now=now_utc(),
        )

    race = at_once(app, [record(user_id) for user_id in recorders], refused=())
    assert race.errors == []
    assert sorted(race.values) == [False, True]
    db.session.remove()
    payment = db.session.scalar(sa.select(OrderPayment).where(OrderPayment.order_id == ids["order"]))
    assert (payment.state, payment.provider_ref) == ("confirmed", "ICBC20261203000042")
    assert db.session.get(Order, ids["order"]).status == "confirmed"
    assert (
        db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "payment.bank_transfer"))
        == 1
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count(StatusEvent.id)).where(
                StatusEvent.subject_type == "order_payments",
                StatusEvent.subject_id == payment.id,
                StatusEvent.to_status == "confirmed",
            )
        )
        == 1
    )
