"""SQL statements of one API checkout stay within a fixed budget, whatever the number of lines.

One order with 1 line, then one with 5 lines from 5 stations (each product with its own village,
station, category and linked households): the worst case for a lazy load or a query per line.
Statements are counted with `before_cursor_execute` (transaction control statements excluded).
"""

from __future__ import annotations

import sqlalchemy as sa

from catalog.models import Product
from orders.models import Order
from tests.factories import make_household, make_product, make_user, product_benefit_split
from tests.orders.factories import ADDRESS_JSON
from tests.sql_count import count_statements

#: Upper bound for one checkout with one line, e-mail task included (Celery runs eagerly in tests):
#: the count seen (PostgreSQL 20, SQLite 22) plus one. History: 33/35 before the batching, 28/30 before
#: the single read (products, stock records, stations, benefit links and the pick-up station in one
#: SELECT) and the token lookup joined with its user; PostgreSQL 15 while the order's rows, status
#: events and sold counts were written in one hand-built statement (removed by #24: the ORM's flush
#: writes them, one multi-row INSERT per table, then the status events and the sold counts). #23 lots:
#: +3 (the lots of every record in one SELECT, the guarded lot UPDATE, the lot allocation INSERT).
#: Seen before #24's third round: PostgreSQL 24, SQLite 24 (the eager search reindex of the products the
#: test made counts too); then the open pay-later orders counted in the items read (-1) and, on
#: PostgreSQL, the lines' lots taken in one statement (-2): PostgreSQL 21, SQLite 23.
MAX_STATEMENTS = {"postgresql": 22, "sqlite": 24}
#: Statements allowed per extra line: the guarded stock UPDATE (one per stock record: the lock order
#: and the no-oversell check need them); on PostgreSQL every line's lots are taken in one statement.
#: SQLite also takes them step by step (a guarded UPDATE per lot) and writes one INSERT per new row
#: (no multi-row INSERT ... RETURNING there): a shipment, a line, a status event and a lot allocation
#: per extra station.
PER_LINE = {"postgresql": 1, "sqlite": 6}


def _products(n: int) -> list:
    products = []
    for i in range(n):
        households = [make_household(), make_household()]
        products.append(make_product(name=f"土鸡蛋{i}号", stock=50, households=households, weights=[2, 1]))
    return products


def _checkout(client, headers, products, **extra):
    body = {
        "items": [{"product_id": p.id, "quantity": 2} for p in products],
        "address": ADDRESS_JSON,
        "delivery": "ship",
        "payment_method": "cod",
        **extra,
    }
    with count_statements() as statements:
        res = client.post("/api/v1/orders", json=body, headers=headers)
    assert res.status_code == 201, res.json
    return res, statements


def _selects(statements):
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def test_checkout_statements_do_not_grow_per_line(client, db, api_token):
    headers = api_token(make_user())
    _checkout(client, headers, _products(1))  # warm-up: first-use queries (mail templates, caches)
    one = _products(1)
    five = _products(5)
    res1, small = _checkout(client, headers, one)
    res5, large = _checkout(client, headers, five)
    assert len(res5.json["shipments"]) == 5
    assert sum(len(s["items"]) for s in res5.json["shipments"]) == 5
    assert len(small) <= MAX_STATEMENTS[db.engine.dialect.name], "\n".join(small)
    assert len(_selects(large)) <= len(_selects(small)), "\n".join(_selects(large))
    per_line = PER_LINE[db.engine.dialect.name]
    assert len(large) <= len(small) + 4 * per_line, "\n".join(large)
    order = db.session.scalar(sa.select(Order).where(Order.code == res5.json["id"]))
    assert [l.benefit_split for l in order.lines] == [product_benefit_split(p.id) for p in five]
    assert all(len(l.benefit_split) == 2 for l in order.lines)
    sold = db.session.scalars(sa.select(Product.sold_count).where(Product.id.in_([p.id for p in five]))).all()
    assert sold == [2] * 5


def test_the_checkout_flush_stores_every_row_and_its_history(client, db, api_token):
    """The order's rows go through the ORM's flush (db.session.add + flush, #24):
    re-read from the database, every row, default and status event is there."""
    from orders.models import OrderLine, OrderPayment, Shipment
    from shop.history import history_of

    user = make_user()
    products = _products(2)
    res, _ = _checkout(client, api_token(user), products)
    db.session.expire_all()
    order = db.session.scalar(sa.select(Order).where(Order.code == res.json["id"]))
    assert (order.user_id, order.status, order.payment_method, order.total_fen) == (
        user.id,
        "confirmed",
        "cod",
        res.json["total_fen"],
    )
    shipments = db.session.scalars(sa.select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id)).all()
    assert [s.code for s in shipments] == [s["id"] for s in res.json["shipments"]]
    assert all((s.status, s.tracking_number, s.pickup_failures, s.pickup_code) == ("new", "", 0, "") for s in shipments)
    lines = db.session.scalars(sa.select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)).all()
    assert [(l.product_id, l.quantity, l.status, l.kind) for l in lines] == [
        (p.id, 2, "open", "product") for p in products
    ]
    assert [l.shipment_id for l in lines] == [s.id for s in shipments]
    assert all(len(l.benefit_split) == 2 for l in lines)
    [payment] = db.session.scalars(sa.select(OrderPayment).where(OrderPayment.order_id == order.id)).all()
    assert (payment.state, payment.amount_fen, payment.refunded_fen, payment.number) == (
        "pending",
        order.total_fen,
        0,
        1,
    )
    assert [(e.from_status, e.to_status, e.actor_id) for e in history_of(order)] == [(None, "confirmed", user.id)]
    assert [e.to_status for s in shipments for e in history_of(s)] == ["new", "new"]
    assert [e.to_status for e in history_of(payment)] == ["pending"]


def test_the_checkout_writes_its_rows_in_one_flush(client, db, api_token):
    """The order, its shipments, lines and payment are flushed once (they need ids); the first statuses
    and the lines' lot allocations follow in one bulk INSERT each, not in a second flush: re-read,
    every line holds its units in a lot and every new row has its first status."""
    from sqlalchemy.orm import Session

    from orders.models import OrderLine
    from shop.history import history_of
    from stock.models import LotAllocation

    headers = api_token(make_user())
    _checkout(client, headers, _products(1))  # warm-up
    products = _products(3)
    flushes = []

    def count(_session, _context):
        flushes.append(1)

    sa.event.listen(Session, "after_flush", count)
    try:
        res, _ = _checkout(client, headers, products)
    finally:
        sa.event.remove(Session, "after_flush", count)
    assert len(flushes) == 1
    db.session.expire_all()
    order = db.session.scalar(sa.select(Order).where(Order.code == res.json["id"]))
    lines = db.session.scalars(sa.select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)).all()
    held = db.session.execute(
        sa.select(LotAllocation.order_line_id, LotAllocation.allocated, LotAllocation.consumed)
        .where(LotAllocation.order_line_id.in_([l.id for l in lines]))
        .order_by(LotAllocation.order_line_id)
    ).all()
    assert [tuple(r) for r in held] == [(l.id, 2, 0) for l in lines]
    assert [e.to_status for e in history_of(order)] == ["confirmed"]
    assert [e.to_status for s in order.shipments for e in history_of(s)] == ["new"] * 3
    assert [e.to_status for p in order.payments for e in history_of(p)] == ["pending"]
