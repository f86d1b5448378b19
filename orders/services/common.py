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


#: {mapped class: (column attribute keys, relationship keys)} for `new_row`.
_ROW_KEYS: dict[type, tuple[frozenset, frozenset]] = {}


def new_row(cls, **values):
    """`cls(**values)` for a new row, without the attribute events of its plain columns.

    A mapped class's constructor sends every keyword through an instrumented attribute (history,
    modified flag): ~2 us a column, ~0.1 ms for the four objects of a checkout. A new (transient)
    object needs none of it: its INSERT, by a flush or by `write_new_rows`, reads the values from
    the instance dict. So columns go straight into the dict; relationships still go through their
    attribute (backrefs fill the parent's collection, and a flush reads their history to set the
    foreign keys). Unknown keywords raise TypeError, as the constructor does. Only for classes
    without a custom __init__ or attribute listeners (ours have neither)."""
    keys = _ROW_KEYS.get(cls)
    if keys is None:
        sa.orm.configure_mappers()  # what the constructor's init event would ensure
        mapper = sa.inspect(cls)
        keys = _ROW_KEYS[cls] = (frozenset(p.key for p in mapper.column_attrs),
                                 frozenset(r.key for r in mapper.relationships))
    columns, relationships = keys
    obj = cls._sa_class_manager.new_instance()
    state = obj.__dict__
    for key, value in values.items():
        if key in columns:
            state[key] = value
        elif key in relationships:
            setattr(obj, key, value)
        else:
            raise TypeError(f"{key!r} is an invalid keyword argument for {cls.__name__}")
    return obj


#: {mapped class: ((attribute key, column name, column default), ...)} of the columns an INSERT of a
#: new object sends (all but the primary key), read once per class for `column_values`.
_INSERT_COLUMNS: dict[type, tuple] = {}


def _insert_columns(cls) -> tuple:
    columns = _INSERT_COLUMNS.get(cls)
    if columns is None:
        columns = _INSERT_COLUMNS[cls] = tuple(
            (prop.key, prop.columns[0].name, prop.columns[0].default)
            for prop in sa.inspect(cls).column_attrs if not prop.columns[0].primary_key
        )
    return columns


def column_values(obj) -> dict:
    """The column values a new ORM object's INSERT sends: what is set, else the column's Python-side
    default (also set on the object, so that nothing is expired once it is persistent). The primary
    key is left out."""
    state = obj.__dict__
    values = {}
    for key, name, default in _insert_columns(type(obj)):
        if key not in state:
            value = None if default is None else (default.arg(None) if default.is_callable else default.arg)
            setattr(obj, key, value)
        values[name] = state[key]
    return values


def _cross(*ctes):
    """Single-row CTEs joined ON TRUE (a cross join that says it means it)."""
    joined = ctes[0]
    for cte in dict.fromkeys(ctes[1:]):
        if cte is not ctes[0]:
            joined = joined.join(cte, sa.true())
    return joined


#: Built statements by shape (tables, parents, events, increments): built once per process, reused
#: with new parameters, so a checkout pays neither the construction nor SQLAlchemy's compile.
_WRITE_STATEMENTS: dict[tuple, sa.Select] = {}


def _write_statement(shape: tuple) -> sa.Select:
    """The statement for one shape of `write_new_rows`, with a bind parameter for every value."""
    from shop.history import StatusEvent

    row_shapes, event_shapes, increment_shapes = shape
    ctes = []
    for n, (table, names, parents) in enumerate(row_shapes):
        columns = [sa.bindparam(f"r{n}_{name}", type_=table.c[name].type).label(name) for name in names]
        if not parents:
            ctes.append(sa.insert(table).values({c.name: c.element for c in columns})
                        .returning(table.c.id).cte(f"r{n}"))
            continue
        columns += [ctes[parent].c.id.label(name) for name, parent in parents]
        select = sa.select(*columns).select_from(_cross(*(ctes[parent] for _, parent in parents)))
        ctes.append(sa.insert(table).from_select(list(names) + [name for name, _ in parents], select)
                    .returning(table.c.id).cte(f"r{n}"))
    extra = []
    for n, (table, column) in enumerate(increment_shapes):
        extra.append(sa.update(table).where(table.c.id == sa.bindparam(f"i{n}_id", type_=table.c.id.type))
                     .values({column: table.c[column] + sa.bindparam(f"i{n}_by", type_=table.c[column].type)})
                     .cte(f"i{n}"))
    if event_shapes:
        t = StatusEvent.__table__
        names = ["subject_type", "from_status", "to_status", "actor_id", "note", "created_at"]
        selects = [
            sa.select(*(sa.bindparam(f"e{n}_{name}", type_=t.c[name].type).label(name) for name in names),
                      ctes[subject].c.id.label("subject_id")).select_from(ctes[subject])
            for n, subject in enumerate(event_shapes)
        ]
        extra.append(sa.insert(t).from_select(names + ["subject_id"],
                                              sa.union_all(*selects) if len(selects) > 1 else selects[0]).cte("ev"))
    statement = sa.select(*(c.c.id for c in ctes)).select_from(_cross(*ctes))
    return statement.add_cte(*extra) if extra else statement


#: {(row number, class, parent foreign keys): (its value columns, their parameter names)}.
_ROW_PARAMS: dict[tuple, tuple[tuple, tuple]] = {}


def _row_params(n: int, cls, parent_keys: tuple) -> tuple[tuple, tuple]:
    """The columns row `n` sends as parameters (all but the primary key and the foreign keys taken
    from its parents' CTEs) and their parameter names, `r<n>_<column>`."""
    found = _ROW_PARAMS.get((n, cls, parent_keys))
    if found is None:
        names = tuple(name for _key, name, _default in _insert_columns(cls) if name not in parent_keys)
        found = _ROW_PARAMS[(n, cls, parent_keys)] = (names, tuple(f"r{n}_{name}" for name in names))
    return found


def write_new_rows(rows, *, events=(), actor=None, now, increments=()) -> None:
    """PostgreSQL: INSERT new ORM objects, their status events and counter increments in ONE statement.

    `rows` is [(obj, {fk column: parent obj})] in dependency order (parents first): each object is a
    data-modifying CTE `INSERT ... SELECT <its values>, <parents' ids> FROM <parents' CTEs> RETURNING id`.
    `events` is [(subject obj, from_status, to_status, note)], written as `shop.history.record_status`
    would; `increments` is [(table, row id, column, amount)] (`column = column + amount`). Afterwards
    every object has its id and foreign keys and is persistent in the session with nothing pending,
    exactly as a flush leaves it. Column values come from the mapped classes (`column_values`), so a
    new column needs nothing here; foreign keys to existing rows must be set as columns (the
    relationship alone is not read). SQLite has no DML in CTEs: callers flush there instead.
    """
    from shop.extensions import db

    index = {id(obj): n for n, (obj, _) in enumerate(rows)}
    params = {}
    row_shapes = []
    for n, (obj, parents) in enumerate(rows):
        values = column_values(obj)
        names, keys = _row_params(n, type(obj), tuple(parents))
        params.update(zip(keys, map(values.__getitem__, names)))
        row_shapes.append((obj.__table__, names, tuple((name, index[id(p)]) for name, p in parents.items())))
    for n, (subject, from_status, to_status, note) in enumerate(events):
        params.update({f"e{n}_subject_type": subject.__tablename__, f"e{n}_from_status": from_status and str(from_status),
                       f"e{n}_to_status": str(to_status), f"e{n}_actor_id": getattr(actor, "id", None),
                       f"e{n}_note": note[:255], f"e{n}_created_at": now})
    for n, (_table, row_id, _column, amount) in enumerate(increments):
        params.update({f"i{n}_id": row_id, f"i{n}_by": amount})
    shape = (tuple(row_shapes), tuple(index[id(subject)] for subject, *_ in events),
             tuple((table, column) for table, _, column, _ in increments))
    statement = _WRITE_STATEMENTS.get(shape)
    if statement is None:
        if len(_WRITE_STATEMENTS) > 500:  # bounded: at most 50 lines per order make the shapes
            _WRITE_STATEMENTS.clear()
        statement = _WRITE_STATEMENTS[shape] = _write_statement(shape)
    ids = db.session.execute(statement, params).one()
    # The ids go straight into the objects' dicts: make_transient_to_detached() commits every
    # attribute anyway (no history survives it), so the attribute events would be work for nothing.
    for (obj, _), new_id in zip(rows, ids):
        obj.__dict__["id"] = new_id
    for obj, parents in rows:
        state = obj.__dict__
        for name, parent in parents.items():
            state[name] = parent.__dict__["id"]
        make_transient_to_detached(obj)
    # Persistent with nothing pending: no flush, no SQL. Adding the first row cascades (save-update)
    # to every row its loaded relationships reach (a checkout's order reaches all of them); adding
    # those again would only walk their relationships once more, so they are skipped.
    session = db.session()
    for obj, _ in rows:
        if obj not in session:
            session.add(obj)
