"""No oversell on PostgreSQL: many buyers racing for the last units; no deadlock across products."""

from __future__ import annotations

import random

import sqlalchemy as sa

from orders.models import Order, OrderLine
from orders.services.placement import PlacementRequest, place_order
from shop.db import commit
from shop.timeutil import now_utc
from stock.models import StockRecord
from tests.concurrency.race import at_once
from tests.conftest import requires_postgres
from tests.factories import make_product, make_station, make_user
from tests.orders.factories import ADDRESS

THREADS = 32


def _race(app, db, buyer_ids, items_for, threads=THREADS):
    """Every thread waits at a barrier holding no connection, then places its order.

    The pool (5 + 10 overflow) makes the rest queue for a connection, which is still a real race
    for the row locks among the ones holding a connection."""
    from shop.auth.models import User

    def buy(i):
        return lambda: place_order(
            PlacementRequest(items=items_for(i), payment_method="cod", address=ADDRESS),
            buyer=db.session.get(User, buyer_ids[i]),
            now=now_utc(),
        )

    race = at_once(app, [buy(i) for i in range(threads)])
    return race.won, race.refused, race.errors


@requires_postgres
def test_last_units_race_never_oversells(app, committed_db):
    db = committed_db
    units = 5
    product = make_product(stock=units)
    buyer_ids = [make_user().id for _ in range(THREADS)]
    product_id = product.id
    commit()
    won, lost, errors = _race(app, db, buyer_ids, lambda i: [(product_id, 1)])
    assert errors == []
    assert len(won) == units and len(lost) == THREADS - units
    db.session.remove()
    record = db.session.scalar(sa.select(StockRecord).where(StockRecord.product_id == product_id))
    assert record.allocated == units and record.on_hand - record.allocated == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == units
    assert db.session.scalar(sa.select(sa.func.sum(OrderLine.quantity))) == units


@requires_postgres
def test_orders_over_several_products_in_different_orders_do_not_deadlock(app, committed_db):
    db = committed_db
    station_a, station_b = make_station(), make_station()
    products = [make_product(stock=12, station=station_a if n % 2 else station_b) for n in range(4)]
    buyer_ids = [make_user().id for _ in range(THREADS)]
    ids = [p.id for p in products]
    commit()

    def items_for(i):
        chosen = ids[:]
        random.Random(i).shuffle(chosen)  # each buyer lists the products in a different order
        return [(pid, 1) for pid in chosen]

    won, lost, errors = _race(app, db, buyer_ids, items_for)
    assert errors == []  # no deadlock, no 500
    assert len(won) == 12 and len(lost) == THREADS - 12
    db.session.remove()
    for record in db.session.scalars(sa.select(StockRecord)):
        assert record.allocated == 12 and record.on_hand == 12
