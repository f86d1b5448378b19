"""An approved bulk purchase placed while retail buyers buy the same products never oversells, and
placing its several orders (one per address, each allocating in ascending stock-record id, but
not in that order one after the other) never deadlocks with a retail checkout (PostgreSQL threads)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from institutions.models import Purchase, PurchaseOrder
from institutions.services.purchases import (
    DestinationData,
    PurchaseData,
    approve_purchase,
    create_purchase,
    submit_purchase,
)
from orders.models import OrderLine
from orders.services.placement import PlacementRequest, place_order
from shop.db import commit
from shop.timeutil import local_date, now_utc
from stock.models import StockRecord
from tests.concurrency.race import Race, at_once
from tests.conftest import requires_postgres
from tests.factories import make_product, make_station, make_user
from tests.institutions.factories import make_organisation
from tests.orders.factories import ADDRESS

RETAIL = 24
STOCK = 20
BULK = 8  # of each product, to each of the two addresses' products


def _approve(db, purchase_id: int, approver_id: int):
    """The approver approving the purchase (which places its orders)."""
    from shop.auth.models import User

    return lambda: approve_purchase(
        db.session.get(Purchase, purchase_id), user=db.session.get(User, approver_id), now=now_utc()
    )


def _approval_and_retail(app, db, ids: dict, retail_ids: list[int]) -> Race:
    """The purchase approved (action 0) while each retail buyer orders one of a and one of b, all at once."""
    from shop.auth.models import User

    def retail(user_id: int):
        return lambda: place_order(
            PlacementRequest(items=[(ids["a"], 1), (ids["b"], 1)], payment_method="cod", address=ADDRESS),
            buyer=db.session.get(User, user_id),
            now=now_utc(),
        )

    approval = _approve(db, ids["purchase"], ids["approver"])
    return at_once(app, [approval] + [retail(user_id) for user_id in retail_ids], seconds=90)


@requires_postgres
def test_an_approved_purchase_and_retail_buyers_never_oversell_or_deadlock(app, committed_db):
    db = committed_db

    a = make_product(name="南昌大米", stock=STOCK, station=make_station())
    b = make_product(name="土鸡蛋", stock=STOCK, station=make_station())
    assert a.stock.id < b.stock.id
    buyer, approver = make_user(), make_user()
    organisation = make_organisation(members={"buyer": buyer, "approver": approver})
    now = now_utc()
    purchase = create_purchase(
        organisation,
        PurchaseData(
            delivery="ship",
            requested_date=local_date(now) + timedelta(days=5),
            payment_method="cod",
            # the first address takes the product with the higher stock record id: placed one order after
            # the other, b would be allocated before a
            destinations=[
                DestinationData(label="东校区食堂", address=ADDRESS, items=[(b.id, BULK)]),
                DestinationData(label="西校区食堂", address=ADDRESS, items=[(a.id, BULK)]),
            ],
        ),
        user=buyer,
        now=now,
    )
    submit_purchase(purchase, user=buyer, now=now)
    ids = {"a": a.id, "b": b.id, "purchase": purchase.id, "approver": approver.id}
    retail_ids = [make_user().id for _ in range(RETAIL)]
    commit()

    race = _approval_and_retail(app, db, ids, retail_ids)
    assert race.errors == []
    db.session.remove()
    retail_won = len([i for i in race.won if i != 0])
    purchase_placed = 0 in race.won
    for key in ("a", "b"):
        record = db.session.scalar(sa.select(StockRecord).where(StockRecord.product_id == ids[key]))
        sold = db.session.scalar(sa.select(sa.func.sum(OrderLine.quantity)).where(OrderLine.product_id == ids[key]))
        assert record.allocated == sold <= record.on_hand == STOCK  # never oversold
        assert sold == retail_won + (BULK if purchase_placed else 0)
    placed = db.session.get(Purchase, ids["purchase"])
    orders = db.session.scalar(sa.select(sa.func.count(PurchaseOrder.id)))
    assert (placed.status, orders) == (("approved", 2) if purchase_placed else ("submitted", 0))
    assert retail_won == (STOCK - BULK if purchase_placed else STOCK)  # every unit left was sold, no more


QUOTED_PRICE = 3100


@requires_postgres
def test_a_purchase_with_a_quoted_line_and_retail_buyers_never_oversell_and_keep_the_quoted_price(app, committed_db):
    """The same race, the purchase holding a line accepted from a station's quote (询价) at a price below
    the catalogue's: placed through the same allocation, at the quoted price, never oversold."""
    db = committed_db
    from institutions.services.quotes import AnswerData, accept_quote, answer_quote, create_quote_request

    a = make_product(name="南昌大米", price_fen=6000, stock=STOCK, station=make_station())
    b = make_product(name="土鸡蛋", stock=STOCK, station=make_station())
    buyer, approver = make_user(), make_user()
    operator = make_user(role="operator", station=a.station)
    organisation = make_organisation(members={"buyer": buyer, "approver": approver})
    now = now_utc()
    purchase = create_purchase(
        organisation,
        PurchaseData(
            delivery="ship",
            requested_date=local_date(now) + timedelta(days=5),
            payment_method="bank_transfer",
            destinations=[
                DestinationData(label="东校区食堂", address=ADDRESS, items=[(b.id, BULK)]),
                DestinationData(label="西校区食堂", address=ADDRESS, items=[(b.id, BULK)]),
            ],
        ),
        user=buyer,
        now=now,
    )
    quote = create_quote_request(
        organisation, product_id=a.id, quantity=BULK, needed_by=local_date(now), user=buyer, now=now
    )
    answer_quote(
        quote,
        AnswerData(quantity=BULK, unit_price_fen=QUOTED_PRICE, lead_days=0, valid_until=local_date(now)),
        user=operator,
        now=now,
    )
    accept_quote(quote, purchase_id=purchase.id, destination_id=purchase.destinations[0].id, user=buyer, now=now)
    submit_purchase(purchase, user=buyer, now=now)
    ids = {"a": a.id, "b": b.id, "purchase": purchase.id, "approver": approver.id}
    bulk = {"a": BULK, "b": 2 * BULK}
    retail_ids = [make_user().id for _ in range(RETAIL)]
    commit()

    race = _approval_and_retail(app, db, ids, retail_ids)
    assert race.errors == []
    db.session.remove()
    retail_won = len([i for i in race.won if i != 0])
    placed = 0 in race.won
    for key in ("a", "b"):
        record = db.session.scalar(sa.select(StockRecord).where(StockRecord.product_id == ids[key]))
        sold = db.session.scalar(sa.select(sa.func.sum(OrderLine.quantity)).where(OrderLine.product_id == ids[key]))
        assert record.allocated == sold <= record.on_hand == STOCK  # never oversold
        assert sold == retail_won + (bulk[key] if placed else 0)
    assert retail_won == (STOCK - 2 * BULK if placed else STOCK)  # b, the scarcer, sold out
    if placed:
        order_ids = db.session.scalars(sa.select(PurchaseOrder.order_id)).all()
        prices = db.session.execute(
            sa.select(OrderLine.product_id, OrderLine.unit_price_fen).where(OrderLine.order_id.in_(order_ids))
        ).all()
        assert (ids["a"], QUOTED_PRICE) in prices and all(p != 6000 for pid, p in prices if pid == ids["a"])
        retail_prices = db.session.scalars(
            sa.select(OrderLine.unit_price_fen).where(
                OrderLine.product_id == ids["a"], OrderLine.order_id.not_in(order_ids)
            )
        ).all()
        assert set(retail_prices) <= {6000}  # the quote is the organisation's, not the retail buyers'


@requires_postgres
def test_two_approvals_at_once_never_spend_one_budget_twice(app, committed_db):
    """Two approvers approve two purchases of one organisation at the same moment, each within what is
    left of the year's budget but not both: one is placed, the other refused (purchase_over_budget) and
    left submitted — the organisation's row lock serialises them."""
    db = committed_db
    from institutions.models import OrganisationBudget
    from institutions.services.purchases import groups_of

    product = make_product(name="南昌大米", price_fen=6000, stock=STOCK, station=make_station())
    buyer, first, second = make_user(), make_user(), make_user()
    organisation = make_organisation(members={"buyer": buyer, "approver": first, "approver:2": second})
    now = now_utc()
    purchases = []
    for label in ("东校区食堂", "西校区食堂"):
        purchase = create_purchase(
            organisation,
            PurchaseData(
                delivery="ship",
                requested_date=local_date(now) + timedelta(days=5),
                payment_method="cod",
                destinations=[DestinationData(label=label, address=ADDRESS, items=[(product.id, 3)])],
            ),
            user=buyer,
            now=now,
        )
        submit_purchase(purchase, user=buyer, now=now)
        purchases.append(purchase)
    each = sum(group.total_fen for group in groups_of(purchases[0]))
    db.session.add(
        OrganisationBudget(
            organisation_id=organisation.id,
            year=local_date(now).year,
            budget_fen=each * 3 // 2,  # one fits, not two
            reserved_bps=3000,
            updated_at=now,
        )
    )
    ids = [(p.id, approver.id) for p, approver in zip(purchases, (first, second), strict=True)]
    commit()

    race = at_once(app, [_approve(db, purchase_id, approver_id) for purchase_id, approver_id in ids])
    assert race.errors == []
    assert len(race.won) == 1 and race.refused == ["purchase_over_budget"]
    db.session.remove()
    statuses = sorted(db.session.get(Purchase, purchase_id).status for purchase_id, _a in ids)
    assert statuses == ["approved", "submitted"]
    assert db.session.scalar(sa.select(sa.func.count(PurchaseOrder.id))) == 1
