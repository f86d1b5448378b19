"""Two-stage stock (STYLE.md B3): allocate at checkout, consume at hand-over, cancel on expiry.

Every number changes through a guarded atomic UPDATE, so concurrent checkouts never oversell and a
concurrent sale and correction never lose an update. Records are always touched in ascending id
order (the global lock order: stock records, then stays, then the order/payment row).
`on_hand` changes only with a `StockMovement`, so movements always sum to `on_hand`.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.util import identity_key

from shop import pagecache
from shop.db import rowcount, statement
from shop.errors import Conflict, ValidationError
from shop.extensions import db
from stock.models import MovementKind, StockMovement, StockRecord

MAX_QUANTITY = 100_000


class OutOfStock(Conflict):
    code = "out_of_stock"

    def __init__(self, product_id: int, message: str | None = None):
        super().__init__(message or _("库存不足，无法购买所选数量"), fields={"product_id": str(product_id)})
        self.product_id = product_id


def _check_quantity(quantity: int) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0 or quantity > MAX_QUANTITY:
        raise ValidationError(_("数量必须是 1 到 100000 之间的整数"), fields={"quantity": "invalid"})


def _expire_records(record_ids) -> None:
    """Expire the loaded StockRecord objects a Core UPDATE just changed (and nothing else: the
    caller's other objects stay loaded, so nothing is re-read for nothing)."""
    identity_map = db.session.identity_map
    for record_id in record_ids:
        record = identity_map.get(identity_key(StockRecord, record_id))
        if record is not None:
            db.session.expire(record)


def _changes(record_id: int, product_ids: dict[int, int] | None = None) -> dict:
    """The page cache's execution options for a Core UPDATE of one stock record: its product's
    pages are invalidated after the commit (by product id when the caller knows it)."""
    product_id = (product_ids or {}).get(record_id)
    if product_id is not None:
        return pagecache.changes(products=[product_id])
    return pagecache.changes(stock_records=[record_id])


def _guarded_update(kind: str) -> sa.Update:
    """The allocate or release UPDATE with the record id `rid` and quantity `qty` as parameters,
    built once per process by `shop.db.statement` (building one per record was about as costly as
    running it). Their callers name the records they change to the page cache (`pagecache.changes`)."""
    def build():
        table = StockRecord.__table__
        rid: sa.BindParameter[int] = sa.bindparam("rid")
        qty: sa.BindParameter[int] = sa.bindparam("qty")
        if kind == "allocate":
            return (sa.update(table).where(table.c.id == rid, table.c.on_hand - table.c.allocated >= qty)
                    .values(allocated=table.c.allocated + qty))
        return (sa.update(table).where(table.c.id == rid, table.c.allocated >= qty)
                .values(allocated=table.c.allocated - qty))

    return statement(("stations.stock", kind), build)


def allocate(wanted: dict[int, int], *, product_ids: dict[int, int] | None = None) -> None:
    """Allocate {stock_record_id: quantity}; all or nothing (raises OutOfStock, caller rolls back).

    One guarded UPDATE per record, in ascending record id (the global lock order, so orders over
    several products never deadlock). `product_ids` ({record_id: product_id}) names the product in
    the OutOfStock error without a query.
    """
    table = StockRecord.__table__
    for record_id in sorted(wanted):
        quantity = wanted[record_id]
        _check_quantity(quantity)
        result = db.session.execute(_guarded_update("allocate"), {"rid": record_id, "qty": quantity},
                                    execution_options=_changes(record_id, product_ids))
        if rowcount(result) != 1:
            product_id = (product_ids or {}).get(record_id) or db.session.scalar(
                sa.select(table.c.product_id).where(table.c.id == record_id))
            raise OutOfStock(product_id or 0)
    _expire_records(wanted)


def cancel_allocation(wanted: dict[int, int]) -> None:
    """Give back allocations (expiry, cancellation). Never lets `allocated` go below zero."""
    for record_id in sorted(wanted):
        quantity = wanted[record_id]
        result = db.session.execute(_guarded_update("release"), {"rid": record_id, "qty": quantity},
                                    execution_options=_changes(record_id))
        if rowcount(result) != 1:
            raise Conflict(_("库存分配已释放"), code="allocation_mismatch")
    _expire_records(wanted)


def consume_allocation(record_id: int, quantity: int, *, order_line_id: int | None, actor, now: datetime) -> None:
    """Hand-over: the allocated units leave the station (on_hand and allocated both go down)."""
    table = StockRecord.__table__
    result = db.session.execute(
        sa.update(table)
        .where(table.c.id == record_id, table.c.allocated >= quantity, table.c.on_hand >= quantity)
        .values(allocated=table.c.allocated - quantity, on_hand=table.c.on_hand - quantity),
        execution_options=_changes(record_id),
    )
    if rowcount(result) != 1:
        raise Conflict(_("这一行没有对应的库存分配"), code="allocation_mismatch")
    db.session.add(
        StockMovement(
            stock_record_id=record_id,
            kind=MovementKind.CONSUME,
            quantity=-quantity,
            order_line_id=order_line_id,
            actor_id=getattr(actor, "id", None),
            created_at=now,
        )
    )
    db.session.flush()
    _expire_records([record_id])


def receive_stock(
    record: StockRecord,
    quantity: int,
    *,
    actor,
    now: datetime,
    lot_note: str = "",
    harvest_date: date | None = None,
    from_household_id: int | None = None,
) -> StockMovement:
    """Goods in: on_hand grows, with the lot / harvest record behind the traceability code."""
    _check_quantity(quantity)
    table = StockRecord.__table__
    db.session.execute(sa.update(table).where(table.c.id == record.id).values(on_hand=table.c.on_hand + quantity))
    movement = StockMovement(
        stock_record_id=record.id,
        kind=MovementKind.RECEIVE,
        quantity=quantity,
        lot_note=lot_note[:200],
        harvest_date=harvest_date,
        from_household_id=from_household_id,
        actor_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(movement)
    db.session.flush()
    db.session.refresh(record)
    return movement


def correct_stock(record: StockRecord, delta: int, *, reason: str, actor, now: datetime) -> StockMovement:
    """Correct the count by `delta` (signed), with a reason; never below what is allocated."""
    if not reason or not reason.strip():
        raise ValidationError(_("盘点修正需要填写原因"), fields={"reason": "required"})
    if not isinstance(delta, int) or delta == 0 or abs(delta) > MAX_QUANTITY:
        raise ValidationError(_("修正数量必须是非零整数"), fields={"delta": "invalid"})
    table = StockRecord.__table__
    result = db.session.execute(
        sa.update(table)
        .where(table.c.id == record.id, table.c.on_hand + delta >= table.c.allocated)
        .values(on_hand=table.c.on_hand + delta)
    )
    if rowcount(result) != 1:
        raise Conflict(_("库存不能少于已售出（已分配）的数量"), code="stock_below_allocated")
    movement = StockMovement(
        stock_record_id=record.id,
        kind=MovementKind.CORRECT,
        quantity=delta,
        reason=reason.strip()[:200],
        actor_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(movement)
    db.session.flush()
    db.session.refresh(record)
    return movement


def list_movements(record_id: int, *, limit: int = 500) -> list[StockMovement]:
    """A record's movements, newest first (the log page)."""
    return list(
        db.session.scalars(
            sa.select(StockMovement)
            .where(StockMovement.stock_record_id == record_id)
            .order_by(StockMovement.created_at.desc(), StockMovement.id.desc())
            .limit(limit)
        )
    )


def movements_total(record_id: int) -> int:
    """The sum of a record's movements (equals its on_hand)."""
    return int(
        db.session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(StockMovement.quantity), 0)).where(
                StockMovement.stock_record_id == record_id
            )
        ).scalar_one()
    )


def set_on_hand(record: StockRecord, target: int, *, reason: str, actor, now: datetime) -> StockMovement | None:
    """Correct the count to an absolute `target` (a physical count): the delta is computed under a
    row lock, so a sale or hand-over committing meanwhile is not overwritten. None if unchanged."""
    if not isinstance(target, int) or isinstance(target, bool) or target < 0 or target > MAX_QUANTITY:
        raise ValidationError(_("库存须为 0 到 100000 的整数"), fields={"stock": "invalid"})
    table = StockRecord.__table__
    on_hand = db.session.scalar(sa.select(table.c.on_hand).where(table.c.id == record.id).with_for_update())
    if on_hand is None:
        raise Conflict(_("没有库存记录"), code="allocation_mismatch")
    if target == on_hand:
        return None
    return correct_stock(record, target - on_hand, reason=reason, actor=actor, now=now)
