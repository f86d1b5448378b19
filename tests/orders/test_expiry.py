"""Unpaid card orders expire through the beat task and release their stock exactly once."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from orders.models import Order, OrderStatus
from orders.services.expiry import expire_pending_orders
from orders.tasks import expire_orders
from shop.db import commit
from shop.history import history_of
from stock.models import StockRecord
from tests.concurrency.race import at_once
from tests.conftest import requires_postgres
from tests.factories import make_product, make_user
from tests.orders.factories import make_order


def test_expire_releases_stock_after_the_window_only(db, now, fake_stripe):
    product = make_product(stock=5)
    order = make_order(make_user(), [(product, 3)], now=now, payment_method="card")
    cash = make_order(make_user(), [(product, 1)], now=now, payment_method="cod")
    assert expire_pending_orders(now + timedelta(minutes=29)) == []
    assert db.session.get(StockRecord, product.stock.id).allocated == 4
    assert expire_pending_orders(now + timedelta(minutes=30)) == [order.code]
    assert db.session.get(Order, order.id).status == OrderStatus.EXPIRED
    assert db.session.get(Order, cash.id).status == OrderStatus.CONFIRMED
    assert db.session.get(StockRecord, product.stock.id).allocated == 1
    assert expire_pending_orders(now + timedelta(hours=2)) == []  # exactly once
    assert db.session.get(StockRecord, product.stock.id).allocated == 1
    assert history_of(db.session.get(Order, order.id))[-1].to_status == "expired"


def test_paid_orders_do_not_expire(db, now, fake_stripe):
    from orders.services.payments import confirm_payment, start_payment

    product = make_product(stock=5)
    order = make_order(make_user(), [(product, 1)], now=now, payment_method="card")
    payment = start_payment(order.payments[0], now=now)
    fake_stripe.succeed(payment.provider_ref)
    confirm_payment(payment, now=now)
    assert expire_pending_orders(now + timedelta(hours=1)) == []
    assert db.session.get(StockRecord, product.stock.id).allocated == 1


def test_expire_orders_task_runs_and_commits(db, now, fake_stripe):
    product = make_product(stock=5)
    past = now - timedelta(days=400)  # the task uses the real clock
    order = make_order(make_user(), [(product, 2)], now=past, payment_method="card")
    commit()
    assert order.code in expire_orders()
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.EXPIRED
    assert db.session.get(StockRecord, product.stock.id).allocated == 0


@requires_postgres
def test_overlapping_expiry_runs_release_stock_exactly_once(app, committed_db, now, fake_stripe):
    db = committed_db
    product = make_product(stock=20)
    expiring = [make_order(make_user(), [(product, 2)], now=now, payment_method="card") for _ in range(5)]
    keeper = make_order(make_user(), [(product, 3)], now=now + timedelta(hours=1), payment_method="card")
    commit()
    record_id = product.stock.id
    codes = sorted(o.code for o in expiring)
    ids = [o.id for o in expiring]
    keeper_id = keeper.id
    later = now + timedelta(minutes=45)
    race = at_once(app, [lambda: expire_pending_orders(later)] * 2, refused=(), seconds=30)
    assert race.errors == []
    results = race.values
    assert sorted(code for r in results for code in r) == codes
    db.session.remove()
    assert db.session.get(StockRecord, record_id).allocated == 3
    assert db.session.get(Order, keeper_id).status == OrderStatus.PENDING
    statuses = db.session.scalars(sa.select(Order.status).where(Order.id.in_(ids))).all()
    assert set(statuses) == {"expired"}
    events = db.session.execute(
        sa.text("SELECT count(*) FROM status_events WHERE subject_type='orders' AND to_status='expired'")
    ).scalar()
    assert events == 5
