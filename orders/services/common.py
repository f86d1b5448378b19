"""Small helpers shared by the order services: row locks, stock of lines, mail after commit (and the
refunds of the step that mail tells of)."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.models import Product
from orders.models import LineStatus, Order, OrderLine, OrderPayment, Refund
from shop import pagecache
from shop.celery import enqueue_after_commit
from shop.db import statement
from shop.extensions import db
from stock.models import StockRecord
from stock.services import LineStock


def _lock_statement(model) -> sa.Select:
    return (
        sa.select(model)
        .where(model.id == sa.bindparam("id"))
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def lock_order(order_id: int) -> Order:
    """Re-read the order row FOR UPDATE (PostgreSQL; SQLite serialises writers anyway). The statement
    is built once (`shop.db.statement`), as `lock_payment`'s."""
    return db.session.scalars(statement("orders.lock_order", lambda: _lock_statement(Order)), {"id": order_id}).one()


def lock_payment(payment_id: int) -> OrderPayment:
    return db.session.scalars(
        statement("orders.lock_payment", lambda: _lock_statement(OrderPayment)), {"id": payment_id}
    ).one()


def stock_lines(lines: list[OrderLine]) -> list[LineStock]:
    """What each open product line holds (record and lots), for allocating and releasing lot by lot."""
    wanted = [
        line
        for line in lines
        if line.kind == "product" and line.product_id is not None and line.status == LineStatus.OPEN
    ]
    if not wanted:
        return []
    records = dict(
        db.session.execute(
            sa.select(StockRecord.product_id, StockRecord.id).where(
                StockRecord.product_id.in_({line.product_id for line in wanted})
            )
        ).all()
    )
    return [
        LineStock(
            line_id=line.id, record_id=records[line.product_id], product_id=line.product_id, quantity=line.quantity
        )
        for line in wanted
        if line.product_id in records
    ]


def _adjust_product_count(
    column: sa.Column, lines: list[OrderLine], sign: int, *, name_products: bool, units: int | None = None
) -> None:
    """Add (sign > 0) or take away the units of the product lines to a per-product counter column
    (`units` of each line instead of its quantity: part of a line refunded); never below zero; one
    guarded UPDATE per product, in ascending id. `name_products`: each UPDATE names its product for
    the page cache (only that product's pages are invalidated, docs/caching.md)."""
    table = Product.__table__
    qty: dict[int, int] = {}
    for line in lines:
        if line.kind == "product" and line.product_id is not None:
            qty[line.product_id] = qty.get(line.product_id, 0) + (line.quantity if units is None else units)
    for product_id in sorted(qty):
        n = qty[product_id]
        value = column + n if sign > 0 else sa.case((column >= n, column - n), else_=0)
        db.session.execute(
            sa.update(table).where(table.c.id == product_id).values({column.name: value}),
            execution_options=pagecache.changes(products=[product_id]) if name_products else {},
        )


def adjust_sold_count(lines: list[OrderLine], sign: int) -> None:
    """Keep Product.sold_count (best-selling sort) in step; never below zero. Sorted by id."""
    _adjust_product_count(Product.__table__.c.sold_count, lines, sign, name_products=False)


def adjust_delivered_count(lines: list[OrderLine], sign: int, *, units: int | None = None) -> None:
    """Keep Product.delivered_count (已售 on cards and product pages) in step: units of product
    lines handed over to their buyers (+1, at hand-over), less those refunded afterwards (-1; `units`:
    the units refunded of each line, when not all of it)."""
    _adjust_product_count(Product.__table__.c.delivered_count, lines, sign, name_products=True, units=units)


#: The order mails that say what was refunded (退款金额) and how the money comes back (`orders.tasks`).
REFUND_MAILS = frozenset({"refunded", "canceled", "booking_canceled", "line_canceled", "recall_refunded"})

#: session.info: (the transaction, {order id: [refund ids]}) — the refunds made in that transaction.
_STEP_REFUNDS = "orders_step_refunds"


def refund_made(refund: Refund, order_id: int) -> None:
    """Note a refund just made (flushed: it has its id) for the order's mail of this step (`step_refunds`).
    Every `Refund` row is noted where it is made (`orders.services.payments`: a payment's refund, a
    cash refund owed from a till)."""
    transaction = db.session().get_transaction()  # the root one (a savepoint's parent's)
    made = db.session.info.get(_STEP_REFUNDS)
    if made is None or made[0] is not transaction:  # the first of this transaction: forget the last one's
        by_order: dict[int, list[int]] = {}
        made = db.session.info[_STEP_REFUNDS] = (transaction, by_order)
    made[1].setdefault(order_id, []).append(refund.id)


def step_refunds(order_id: int) -> list[int]:
    """The ids of the refunds made on the order in this transaction — the one step the request or task
    takes (a cancellation: its bookings', its goods', a payment that came too late: the booking it could
    not confirm and then the goods), which commits before its mail is sent. Refunds made before, by
    an earlier step, are not among them (that step's mail told of them)."""
    made = db.session.info.get(_STEP_REFUNDS)
    if made is None or made[0] is not db.session().get_transaction():
        return []
    return list(made[1].get(order_id, []))


def notify(order: Order, kind: str, line: OrderLine | None = None, note: str = "", settled: dict | None = None) -> None:
    """E-mail the buyer after commit (Celery task): the `kind` mail of the order, about `line` alone when
    the event is one line's (a line refunded or withdrawn, a booking canceled on its own), else about all
    its lines; `note`: why, in the words of whoever decided it (a station's reason for withdrawing a line);
    `settled`: `{"lines": [ids], "refunds": [ids]}`, the lines one step settled and the refunds it made
    (a recall's one-step refund: the mail tells of those, not of what was refunded before).

    A mail of the whole order that tells what was refunded (`REFUND_MAILS`: the order canceled, or
    refunded whole) and names no `settled` gets `{"refunds": step_refunds(order.id)}`: it tells of the
    refunds its own step made, never of those an earlier step made and mailed (a booking canceled alone,
    a goods line withdrawn), whichever path cancels or refunds the order (docs/journeys.md)."""
    if line is None and settled is None and kind in REFUND_MAILS:
        settled = {"refunds": step_refunds(order.id)}
    args: tuple = (order.id, kind)
    if line is not None or note or settled:
        args += (None if line is None else line.id,)
    if note or settled:
        args += (note,)
    if settled:
        args += (settled,)
    enqueue_after_commit("orders.tasks.send_order_mail", *args)
