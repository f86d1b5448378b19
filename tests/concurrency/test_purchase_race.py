"""An approved bulk purchase placed while retail buyers buy the same products never oversells, and
placing its several orders (one per address, each allocating in ascending stock-record id, but
not in that order one after the other) never deadlocks with a retail checkout (PostgreSQL threads)."""
from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from institutions.models import Purchase, PurchaseOrder
from institutions.services.purchases import DestinationData, PurchaseData, approve_purchase, create_purchase, \
    submit_purchase
from orders.models import OrderLine
from orders.services.placement import PlacementRequest, place_order
from shop.db import commit, rollback
from shop.errors import Conflict
from shop.timeutil import local_date, now_utc
from stock.models import StockRecord
from tests.conftest import requires_postgres
from tests.factories import make_product, make_station, make_user
from tests.institutions.factories import make_organisation
from tests.orders.factories import ADDRESS

RETAIL = 24
STOCK = 20
BULK = 8  # of each product, to each of the two addresses' products


@requires_postgres
def test_an_approved_purchase_and_retail_buyers_never_oversell_or_deadlock(app, committed_db):
    db = committed_db
    from shop.auth.models import User

    a = make_product(name="南昌大米", stock=STOCK, station=make_station())
    b = make_product(name="土鸡蛋", stock=STOCK, station=make_station())
    assert a.stock.id < b.stock.id
    buyer, approver = make_user(), make_user()
    organisation = make_organisation(members={"buyer": buyer, "approver": approver})
    now = now_utc()
    purchase = create_purchase(organisation, PurchaseData(
        delivery="ship", requested_date=local_date(now) + timedelta(days=5), payment_method="cod",
        # the first address takes the product with the higher stock record id: placed one order after
        # the other, b would be allocated before a
        destinations=[DestinationData(label="东校区食堂", address=ADDRESS, items=[(b.id, BULK)]),
                      DestinationData(label="西校区食堂", address=ADDRESS, items=[(a.id, BULK)])],
    ), user=buyer, now=now)
    submit_purchase(purchase, user=buyer, now=now)
    ids = {"a": a.id, "b": b.id, "purchase": purchase.id, "approver": approver.id}
    retail_ids = [make_user().id for _ in range(RETAIL)]
    commit()

    barrier = threading.Barrier(RETAIL + 1)
    won, lost, errors = [], [], []

    def approve():
        with app.app_context():
            try:
                barrier.wait()
                approve_purchase(db.session.get(Purchase, ids["purchase"]),
                                 user=db.session.get(User, ids["approver"]), now=now_utc())
                commit()
                won.append("purchase")
            except Conflict:
                rollback()
                lost.append("purchase")
            except Exception as exc:  # a deadlock is a failure
                rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    def retail(i):
        with app.app_context():
            try:
                barrier.wait()
                place_order(PlacementRequest(items=[(ids["a"], 1), (ids["b"], 1)], payment_method="cod",
                                             address=ADDRESS),
                            buyer=db.session.get(User, retail_ids[i]), now=now_utc())
                commit()
                won.append(i)
            except Conflict:
                rollback()
                lost.append(i)
            except Exception as exc:
                rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approve)] + [threading.Thread(target=retail, args=(i,)) for i in range(RETAIL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert errors == []
    db.session.remove()
    retail_won = len([w for w in won if w != "purchase"])
    purchase_placed = "purchase" in won
    for key in ("a", "b"):
        record = db.session.scalar(sa.select(StockRecord).where(StockRecord.product_id == ids[key]))
        sold = db.session.scalar(sa.select(sa.func.sum(OrderLine.quantity)).where(OrderLine.product_id == ids[key]))
        assert record.allocated == sold <= record.on_hand == STOCK  # never oversold
        assert sold == retail_won + (BULK if purchase_placed else 0)
    placed = db.session.get(Purchase, ids["purchase"])
    orders = db.session.scalar(sa.select(sa.func.count(PurchaseOrder.id)))
    assert (placed.status, orders) == (("approved", 2) if purchase_placed else ("submitted", 0))
    assert retail_won == (STOCK - BULK if purchase_placed else STOCK)  # every unit left was sold, no more
