"""PostgreSQL race: the county's daily summaries (income_daily, sale_daily) under concurrent hand-overs.

Two pick-up orders of one station, each with a line of category A and one of category B in opposite
orders (the first order's lines go A, B, the second's B, A), every line crediting the same two
households: both hand-overs add to the same summary rows (one sale_daily row per category, one
income_daily row per household and category) in opposite orders.

The race is forced, not hoped for: the test holds the summary row of one category (`FOR UPDATE`), starts
the hand-over whose first line is of that category, waits until it waits, starts the other one, waits
until it waits too, and lets go. Row-by-row triggers deadlocked here every time (the first held its
first category's rows and wanted the other's, which the second held while it wanted the first's). The
ledger adds a transaction's amounts just before it commits, in sorted key order (`ledger.summaries`):
the second waits for the first, both succeed, and the summaries equal the rows grouped.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from ledger.models import IncomeDaily, IncomeEntry, SaleDaily, SaleFigure
from orders.models import Order, OrderStatus
from orders.services.placement import PlacementRequest, place_order
from shop.db import commit
from shop.timeutil import now_utc
from tests.concurrency.race import Started, start
from tests.conftest import requires_postgres
from tests.factories import make_category, make_household, make_product, make_station, make_user

LINE_ORDERS = {"first": ("A", "B"), "second": ("B", "A")}


def _waiting_on_locks(db) -> int:
    """How many backends of this database wait for a lock."""
    with db.engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()


def _wait_until(predicate, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _errors(started: list[Started]) -> list[str]:
    """Wait for the hand-overs; what went wrong in them (any exception: none is expected)."""
    return [outcome.error for outcome in (s.join() for s in started) if outcome.error is not None]


def _grouped_entries(db) -> dict:
    keys = (
        IncomeEntry.entry_date,
        IncomeEntry.household_id,
        sa.func.coalesce(IncomeEntry.village_id, 0),
        sa.func.coalesce(IncomeEntry.station_id, 0),
        sa.func.coalesce(IncomeEntry.category_id, 0),
        IncomeEntry.kind,
        IncomeEntry.benefit_kind,
    )
    return {
        tuple(r[:-2]): (int(r[-2]), int(r[-1]))
        for r in db.session.execute(
            sa.select(*keys, sa.func.sum(IncomeEntry.amount_fen), sa.func.count()).group_by(*keys)
        )
    }


def _income_daily(db) -> dict:
    d = IncomeDaily
    return {
        tuple(r[:-2]): (int(r[-2]), int(r[-1]))
        for r in db.session.execute(
            sa.select(
                d.entry_date,
                d.household_id,
                d.village_id,
                d.station_id,
                d.category_id,
                d.kind,
                d.benefit_kind,
                d.amount_fen,
                d.entries,
            )
        )
    }


PARTS = ("sale_fen", "household_fen", "commission_fen", "collective_fen", "purchased_fen")


def _grouped_figures(db) -> dict:
    keys = (
        SaleFigure.entry_date,
        sa.func.coalesce(SaleFigure.village_id, 0),
        sa.func.coalesce(SaleFigure.station_id, 0),
        sa.func.coalesce(SaleFigure.category_id, 0),
    )
    return {
        tuple(r[:4]): tuple(int(v) for v in r[4:])
        for r in db.session.execute(
            sa.select(*keys, *(sa.func.sum(getattr(SaleFigure, p)) for p in PARTS), sa.func.count()).group_by(*keys)
        )
    }


def _sale_daily(db) -> dict:
    s = SaleDaily
    return {
        tuple(r[:4]): tuple(int(v) for v in r[4:])
        for r in db.session.execute(
            sa.select(s.entry_date, s.village_id, s.station_id, s.category_id, *(getattr(s, p) for p in PARTS), s.lines)
        )
    }


@requires_postgres
def test_two_hand_overs_adding_to_the_same_summary_rows_in_opposite_orders_both_succeed(app, committed_db):
    from orders.services.cashbook import outstanding_cash_fen, take_cash_for_order
    from stations.services import fulfilment

    db = committed_db
    station = make_station(commission_bps=500)
    village = station.villages[0]
    households = [make_household(village=village) for _ in range(2)]
    categories = {"A": make_category(), "B": make_category()}
    operator = make_user(role="operator", station=station)
    rounds = 3  # unforced (it makes the summary rows), then held on A, then held on B
    # made in this order, so within each order (by item or by product id) the lines go A, B and B, A
    products = {
        name: [
            make_product(
                station=station,
                category=categories[c],
                stock=rounds,
                price_fen=1999,
                households=households,
                weights=[2, 1],
            )
            for c in order
        ]
        for name, order in LINE_ORDERS.items()
    }
    shipments: list[dict] = []
    for _ in range(rounds):
        pair = {}
        for name, items in products.items():
            order = place_order(
                PlacementRequest(
                    items=[(p.id, 1) for p in items],
                    payment_method="station_cash",
                    delivery="pickup",
                    pickup_station_id=station.id,
                ),
                buyer=make_user(),
                now=now_utc(),
            )
            (shipment,) = order.shipments
            for action in ("accept", "pack"):
                fulfilment.apply_action(shipment, action, actor=operator, now=now_utc())
            # the cash is in the book already (taking it locks the station's till: it would serialise
            # the hand-overs before they credit anything)
            take_cash_for_order([shipment], outstanding_cash_fen([shipment]), actor=operator, now=now_utc())
            pair[name] = (shipment.code, shipment.pickup_code, order.id)
        shipments.append(pair)
    operator_id = operator.id
    category_ids = {c: categories[c].id for c in categories}
    commit()

    def hand_over(shipment_code, pickup_code, _order_id):
        def job():
            from shop.auth.models import User

            user = db.session.get(User, operator_id)
            shipment = fulfilment.get_shipment_for(user, shipment_code)
            fulfilment.apply_action(shipment, "pickup", actor=user, now=now_utc(), pickup_code=pickup_code)

        return job

    # round 1: both at once, nothing held (and the summary rows exist afterwards)
    both = [start(app, hand_over(*shipments[0][name]), refused=()) for name in LINE_ORDERS]
    assert _errors(both) == []

    # rounds 2 and 3: hold one category's summary row, start the order whose first line is of it, then the other
    for pair, (held, leader, follower) in zip(shipments[1:], (("A", "first", "second"), ("B", "second", "first"))):
        with db.engine.connect() as blocker:
            blocker.execute(
                sa.text("SELECT 1 FROM sale_daily WHERE category_id = :c FOR UPDATE"), {"c": category_ids[held]}
            )
            run = [start(app, hand_over(*pair[leader]), refused=())]
            assert _wait_until(lambda: _waiting_on_locks(db) >= 1)
            run.append(start(app, hand_over(*pair[follower]), refused=()))
            assert _wait_until(lambda: _waiting_on_locks(db) >= 2)
            blocker.rollback()
        assert _errors(run) == []

    order_ids = [p[2] for pair in shipments for p in pair.values()]
    assert {db.session.get(Order, i).status for i in order_ids} == {OrderStatus.COMPLETED}
    grouped = _grouped_entries(db)
    assert len(grouped) == 4  # two households × two categories, one day
    assert sum(count for _amount, count in grouped.values()) == 2 * 2 * 2 * rounds
    assert _income_daily(db) == grouped
    figures = _grouped_figures(db)
    assert len(figures) == 2 and sum(f[-1] for f in figures.values()) == 2 * 2 * rounds
    assert _sale_daily(db) == figures
