"""PostgreSQL races: one account's simultaneous pay-later checkouts never pass the open-order cap;
two simultaneous submissions of one 代卖 form create one product; two operators handing over the same
pick-up order at once hand it over once."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.models import Product
from orders.models import Order, OrderStatus
from orders.services.placement import PlacementRequest, place_order
from shop.db import commit
from shop.errors import DomainError
from shop.timeutil import now_utc
from tests.concurrency.race import at_once
from tests.conftest import requires_postgres
from tests.factories import make_category, make_household, make_product, make_station, make_user, make_village
from tests.orders.factories import ADDRESS


def _run(app, threads: int, work) -> tuple[list, list, list]:
    """`work(i)` for i in range(threads) at once: (won, refused codes, errors)."""
    race = at_once(app, [lambda i=i: work(i) for i in range(threads)], refused=(DomainError,))
    return race.won, race.refused, race.errors


@requires_postgres
def test_simultaneous_pay_later_checkouts_of_one_account_stop_at_the_cap(app, committed_db):
    db = committed_db
    cap = app.config["MAX_OPEN_PAY_LATER_ORDERS"]
    product = make_product(stock=100)
    buyer = make_user()
    product_id, buyer_id = product.id, buyer.id
    commit()
    threads = cap + 5

    def buy(i):
        from shop.auth.models import User

        place_order(
            PlacementRequest(items=[(product_id, 1)], payment_method="cod", address=ADDRESS),
            buyer=db.session.get(User, buyer_id),
            now=now_utc(),
        )

    won, lost, errors = _run(app, threads, buy)
    assert errors == []
    assert len(won) == cap and lost == ["too_many_open_orders"] * (threads - cap)
    assert db.session.scalar(sa.select(sa.func.count(Order.id)).where(Order.user_id == buyer_id)) == cap


@requires_postgres
def test_two_simultaneous_submissions_of_one_form_create_one_product(app, committed_db):
    from stations.services import assisted

    db = committed_db
    village = make_village()
    station = make_station(village=village)
    household = make_household(village=village)
    category = make_category()
    operator = make_user(role="operator", station=station)
    ids = station.id, household.id, category.id, operator.id
    commit()
    token = "double-tap-token-0123456789"

    def submit(i):
        from shop.auth.models import User
        from shop.once import claim_or_refuse
        from stock.models import Station

        # what the form's view does (shop.forms.create_once): claim the form's token, then create
        claim_or_refuse("stations.product_new", token, user_id=ids[3], now=now_utc())
        assisted.create_assisted_product(
            db.session.get(Station, ids[0]),
            assisted.AssistedProductInput(
                household_id=ids[1], name="三江腌菜", category_id=ids[2], price_fen=1250, initial_stock=5
            ),
            actor=db.session.get(User, ids[3]),
            now=now_utc(),
        )

    won, lost, errors = _run(app, 2, submit)
    assert errors == []
    assert len(won) == 1 and lost == ["already_submitted"]
    assert db.session.scalar(sa.select(sa.func.count(Product.id)).where(Product.name == "三江腌菜")) == 1


@requires_postgres
def test_two_operators_handing_over_one_pick_up_order_at_once_hand_it_over_once(app, committed_db):
    from ledger.models import IncomeEntry
    from stations.services import fulfilment

    db = committed_db
    category = make_category()
    stations, operators, items = [], [], []
    for n in range(3):
        village = make_village()
        station = make_station(village=village)
        h = make_household(village=village)
        items.append((make_product(station=station, stock=5, category=category, households=[h], weights=[1]), 1))
        stations.append(station)
        operators.append(make_user(role="operator", station=station))
    buyer = make_user()
    order = place_order(
        PlacementRequest(
            items=[(p.id, q) for p, q in items],
            payment_method="station_cash",
            delivery="pickup",
            pickup_station_id=stations[0].id,
        ),
        buyer=buyer,
        now=now_utc(),
    )
    for shipment in order.shipments:
        op = operators[[s.id for s in stations].index(shipment.station_id)]
        for action in ("accept", "pack") + (("ship",) if shipment.station_id != stations[0].id else ()):
            fulfilment.apply_action(shipment, action, actor=op, now=now_utc())
        if shipment.station_id != stations[0].id:
            fulfilment.apply_action(shipment, "receive", actor=operators[0], now=now_utc())
    code = order.shipments[0].pickup_code
    from orders.services.cashbook import outstanding_cash_fen

    due = outstanding_cash_fen(fulfilment.live_shipments(order))  # cash on collection, taken at the hand-over
    assert due > 0
    shipment_codes = [s.code for s in order.shipments]
    order_id, op_id = order.id, operators[0].id
    admin_like = make_user(role="operator", station=stations[0])
    ids = [op_id, admin_like.id]
    commit()

    def hand_over(i):
        from shop.auth.models import User

        user = db.session.get(User, ids[i])
        shipment = fulfilment.get_shipment_for(user, shipment_codes[i + 1])
        fulfilment.apply_action(shipment, "pickup", actor=user, now=now_utc(), pickup_code=code, cash_received_fen=due)

    won, lost, errors = _run(app, 2, hand_over)
    assert errors == []
    assert len(won) == 1 and len(lost) == 1
    assert db.session.get(Order, order_id).status == OrderStatus.COMPLETED
    lines = db.session.get(Order, order_id).lines
    credited = db.session.scalar(
        sa.select(sa.func.count(IncomeEntry.id)).where(IncomeEntry.order_line_id.in_([ln.id for ln in lines]))
    )
    assert credited == 3  # one household per line, credited once
    from orders.models import CashEntry

    taken = db.session.scalars(sa.select(CashEntry).where(CashEntry.order_id == order_id)).all()
    assert sum(e.amount_fen for e in taken) == due and {e.station_id for e in taken} == {stations[0].id}
