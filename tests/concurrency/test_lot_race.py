"""#23 on PostgreSQL: two packers taking the last units of a lot at once never take more than it holds."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from orders.models import Order, Shipment
from shop.db import commit
from stations.services import fulfilment
from stock.models import Lot, LotAllocation, StockRecord
from stock.services import lot_totals
from tests.concurrency.race import at_once
from tests.conftest import requires_postgres
from tests.factories import NOW, make_lot, make_product, make_user
from tests.orders.factories import make_order

ROUNDS = 5


@requires_postgres
def test_two_packers_scanning_the_last_units_of_a_lot_one_wins(app, committed_db):
    db = committed_db
    for _ in range(ROUNDS):
        product = make_product(stock=0)
        record = product.stock
        make_lot(record, 2, best_before=NOW.date() + timedelta(days=5))  # first expiring: the checkouts take it
        last = make_lot(record, 2, best_before=NOW.date() + timedelta(days=30))  # the lot both packers scan
        operator = make_user(role="operator", station=product.station)
        orders = [make_order(make_user(), [(product, 2)], now=NOW, payment_method="cod") for _ in range(2)]
        for order in orders:
            fulfilment.accept(order.shipments[0], actor=operator, now=NOW)
        shipment_ids = [o.shipments[0].id for o in orders]
        line_ids = [o.lines[0].id for o in orders]
        record_id, last_id, last_code, operator_id = record.id, last.id, last.code, operator.id
        commit()

        def pack(i):
            from shop.auth.models import User

            shipment = db.session.get(Shipment, shipment_ids[i])
            fulfilment.pack(shipment, actor=db.session.get(User, operator_id), now=NOW, lots={line_ids[i]: last_code})

        race = at_once(app, [lambda: pack(0), lambda: pack(1)])
        assert race.errors == []
        assert len(race.won) == 1 and race.refused == ["lot_unavailable"]
        lot = db.session.get(Lot, last_id)
        assert (lot.on_hand, lot.allocated) == (2, 2)
        record = db.session.get(StockRecord, record_id)
        assert lot_totals(record_id) == (record.on_hand, record.allocated) == (4, 4)
        held = db.session.scalar(sa.select(sa.func.sum(LotAllocation.allocated)).where(LotAllocation.lot_id == last_id))
        assert held == 2
        db.session.remove()


@requires_postgres
def test_two_hand_overs_consuming_the_last_units_of_a_lot_never_take_more_than_it_holds(app, committed_db):
    db = committed_db
    product = make_product(stock=2)
    lot_id = db.session.scalar(sa.select(Lot.id).where(Lot.product_id == product.id))
    operator = make_user(role="operator", station=product.station)
    orders = [make_order(make_user(), [(product, 1)], now=NOW, payment_method="cod") for _ in range(2)]
    for order in orders:
        shipment = order.shipments[0]
        fulfilment.accept(shipment, actor=operator, now=NOW)
        fulfilment.pack(shipment, actor=operator, now=NOW)
        fulfilment.ship(shipment, tracking_number="SF1", actor=operator, now=NOW)
    shipment_ids = [o.shipments[0].id for o in orders]
    record_id, operator_id = product.stock.id, operator.id
    commit()

    def deliver(i):
        from shop.auth.models import User

        shipment = db.session.get(Shipment, shipment_ids[i])
        fulfilment.deliver(
            shipment,
            actor=db.session.get(User, operator_id),
            now=NOW,
            cash_received_fen=fulfilment.shipment_amount_fen(shipment),
        )

    race = at_once(app, [lambda: deliver(0), lambda: deliver(1)])
    assert race.errors == [] and race.won == [0, 1]
    lot = db.session.get(Lot, lot_id)
    assert (lot.on_hand, lot.allocated) == (0, 0)
    record = db.session.get(StockRecord, record_id)
    assert (record.on_hand, record.allocated) == (0, 0)
    consumed = db.session.scalar(sa.select(sa.func.sum(LotAllocation.consumed)).where(LotAllocation.lot_id == lot_id))
    assert consumed == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.status == "completed")) == 2
