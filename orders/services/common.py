"""Small helpers shared by the order services: row locks, stock of lines, mail after commit."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached

from orders.models import LineStatus, Order, OrderLine, OrderPayment
from shop.extensions import db
from stations.models import StockRecord


def lock_order(order_id: int) -> Order:
    """Re-read the order row FOR UPDATE (PostgreSQL; SQLite serialises writers anyway)."""
    return db.session.scalars(
        sa.select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
    ).one()


def lock_payment(payment_id: int) -> OrderPayment:
    return db.session.scalars(
        sa.select(OrderPayment)
        .where(OrderPayment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def stock_wanted(lines: list[OrderLine]) -> dict[int, int]:
    """{stock_record_id: quantity} for open product lines (what their allocation holds)."""
    product_qty: dict[int, int] = {}
    for line in lines:
        if line.kind == "product" and line.product_id is not None and line.status == LineStatus.OPEN:
            product_qty[line.product_id] = product_qty.get(line.product_id, 0) + line.quantity
    if not product_qty:
        return {}
    rows = db.session.execute(
        sa.select(StockRecord.id, StockRecord.product_id).where(StockRecord.product_id.in_(product_qty))
    )
    return {record_id: product_qty[product_id] for record_id, product_id in rows}


def adjust_sold_count(lines: list[OrderLine], sign: int) -> None:
    """Keep Product.sold_count (best-selling sort) in step; never below zero. Sorted by id."""
    from catalog.models import Product

    table = Product.__table__
    qty: dict[int, int] = {}
    for line in lines:
        if line.kind == "product" and line.product_id is not None:
            qty[line.product_id] = qty.get(line.product_id, 0) + line.quantity
    for product_id in sorted(qty):
        if sign > 0:
            value = table.c.sold_count + qty[product_id]
        else:
            value = sa.case((table.c.sold_count >= qty[product_id], table.c.sold_count - qty[product_id]), else_=0)
        db.session.execute(sa.update(table).where(table.c.id == product_id).values(sold_count=value))


def has_booking_lines(order: Order) -> bool:
    return any(line.kind == "booking" for line in order.lines)


def notify(order: Order, kind: str) -> None:
    """E-mail the buyer after commit (Celery task)."""
    from orders.tasks import send_order_mail
    from shop.celery import enqueue_after_commit

    enqueue_after_commit(send_order_mail, order.id, kind)


# --- one statement for a new order's rows (PostgreSQL) ---------------------------------------------


def column_values(obj) -> dict:
    """The column values a new ORM object's INSERT sends: what is set, else the column's Python-side
    default (also set on the object, so that nothing is expired once it is persistent). The primary
    key is left out."""
    values = {}
    for prop in sa.inspect(obj).mapper.column_attrs:
        column = prop.columns[0]
        if column.primary_key:
            continue
        if prop.key not in obj.__dict__:
            default = column.default
            value = None if default is None else (default.arg(None) if default.is_callable else default.arg)
            setattr(obj, prop.key, value)
        values[column.name] = obj.__dict__[prop.key]
    return values


def _cross(*ctes):
    """Single-row CTEs joined ON TRUE (a cross join that says it means it)."""
    joined = ctes[0]
    for cte in dict.fromkeys(ctes[1:]):
        if cte is not ctes[0]:
            joined = joined.join(cte, sa.true())
    return joined


def write_new_rows(rows, *, events=(), actor=None, now, also=()) -> None:
    """PostgreSQL: INSERT new ORM objects, their status events and `also` (more DML) in ONE statement.

    `rows` is [(obj, {fk column: parent obj})] in dependency order (parents first): each object is a
    data-modifying CTE `INSERT ... SELECT <its values>, <parents' ids> FROM <parents' CTEs> RETURNING id`.
    `events` is [(subject obj, from_status, to_status, note)], written as `shop.history.record_status`
    would. Afterwards every object has its id and foreign keys and is persistent in the session with
    nothing pending, exactly as a flush leaves it. Column values come from the mapped classes
    (`column_values`), so a new column needs nothing here. (SQLite has no DML in CTEs: callers flush.)
    """
    from shop.extensions import db
    from shop.history import StatusEvent

    ctes = {}
    for n, (obj, parents) in enumerate(rows):
        table = obj.__table__
        values = column_values(obj)
        if not parents:
            ctes[id(obj)] = sa.insert(table).values(values).returning(table.c.id).cte(f"r{n}")
            continue
        names = [name for name in values if name not in parents]
        columns = [sa.literal(values[name], table.c[name].type).label(name) for name in names]
        columns += [ctes[id(parent)].c.id.label(name) for name, parent in parents.items()]
        select = sa.select(*columns).select_from(_cross(*(ctes[id(p)] for p in parents.values())))
        ctes[id(obj)] = sa.insert(table).from_select(names + list(parents), select).returning(table.c.id).cte(f"r{n}")
    extra = [stmt.cte(f"x{n}") for n, stmt in enumerate(also)]
    if events:
        t = StatusEvent.__table__
        selects = [
            sa.select(sa.literal(subject.__tablename__, t.c.subject_type.type), ctes[id(subject)].c.id,
                      sa.literal(from_status and str(from_status), t.c.from_status.type),
                      sa.literal(str(to_status), t.c.to_status.type),
                      sa.literal(getattr(actor, "id", None), t.c.actor_id.type), sa.literal(note[:255], t.c.note.type),
                      sa.literal(now, t.c.created_at.type))
            for subject, from_status, to_status, note in events
        ]
        extra.append(sa.insert(t).from_select(
            ["subject_type", "subject_id", "from_status", "to_status", "actor_id", "note", "created_at"],
            sa.union_all(*selects) if len(selects) > 1 else selects[0]).cte("ev"))
    returned = [ctes[id(obj)] for obj, _ in rows]
    statement = sa.select(*(c.c.id for c in returned)).select_from(_cross(*returned))
    ids = db.session.execute(statement.add_cte(*extra) if extra else statement).one()
    for (obj, _), new_id in zip(rows, ids):
        obj.id = new_id
    for obj, parents in rows:
        for name, parent in parents.items():
            setattr(obj, name, parent.id)
        make_transient_to_detached(obj)
    db.session.add_all([obj for obj, _ in rows])  # persistent with nothing pending: no flush, no SQL
