"""Two-stage stock (docs/ARCHITECTURE.md, "Stock and nights"): allocate at checkout, consume at hand-over,
cancel on expiry.

Every number changes through a guarded atomic UPDATE, so concurrent checkouts never oversell and a
concurrent sale and correction never lose an update. Records are always touched in ascending id
order, after any existing order and payment row the caller locks and before any unit type (the one
lock order: docs/ARCHITECTURE.md, "A request, from route to side effects").
`on_hand` changes only with a `StockMovement`, so movements always sum to `on_hand`.

Lots (#23): every intake is a `Lot`; every unit on hand or allocated is in exactly one lot, so a
record's lots sum to its `on_hand` and `allocated`. An order line takes its units from lots first
expiring first (`allocate_lots`, `LotAllocation` says which), or from the lot the packer scans
(`assign_lot`); hand-over consumes them; a release gives them back. A recalled or expired lot is
blocked (`block_lot`): its unallocated units leave the sellable stock (a `block` movement), and
units given back to it later are blocked too. Every lot change first locks its stock record
(the guarded record UPDATE, or `_lock_record`), so lot changes of one product are serialised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from shop import pagecache
from shop.codes import new_code, typed_code
from shop.db import rowcount, statement
from shop.errors import Conflict, ValidationError
from shop.extensions import db
from shop.timeutil import local_date
from stock.models import Lot, LotAllocation, LotStatus, MovementKind, StockMovement, StockRecord

MAX_QUANTITY = 100_000
#: The longest reason a stock correction keeps (盘点修正, typed by the operator): a longer one is refused
#: (422 `count_reason_too_long`, naming the limit), never cut.
MAX_COUNT_REASON = 200
#: A purchase price per unit above this is a typing error (10,000 yuan), and so is a purchase of more
#: than 1,000,000 yuan in one intake.
MAX_PURCHASE_PRICE_FEN = 1_000_000
MAX_PURCHASE_TOTAL_FEN = 100_000_000


class OutOfStock(Conflict):
    code = "out_of_stock"

    def __init__(self, product_id: int):
        super().__init__("out_of_stock", fields={"product_id": str(product_id)})
        self.product_id = product_id


class LotRecalled(Conflict):
    code = "lot_recalled"

    def __init__(self, lot: Lot):
        super().__init__("lot_recalled", code=lot.code, fields={"lot": lot.code})


class LotUnavailable(Conflict):
    code = "lot_unavailable"


@dataclass(frozen=True)
class LineStock:
    """What an order line holds of a stock record (the unit of lot allocation)."""

    line_id: int
    record_id: int
    product_id: int
    quantity: int


def new_lot_code() -> str:
    """A lot's public trace code: random, never sequential (a code says nothing about others)."""
    return "L" + new_code(11)


def _check_quantity(quantity: int) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0 or quantity > MAX_QUANTITY:
        raise ValidationError("invalid_quantity", fields={"quantity": "invalid"})


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
            return (
                sa.update(table)
                .where(table.c.id == rid, table.c.on_hand - table.c.allocated >= qty)
                .values(allocated=table.c.allocated + qty)
            )
        return (
            sa.update(table)
            .where(table.c.id == rid, table.c.allocated >= qty)
            .values(allocated=table.c.allocated - qty)
        )

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
        result = db.session.execute(
            _guarded_update("allocate"),
            {"rid": record_id, "qty": quantity},
            execution_options=_changes(record_id, product_ids),
        )
        if rowcount(result) != 1:
            product_id = (product_ids or {}).get(record_id) or db.session.scalar(
                sa.select(table.c.product_id).where(table.c.id == record_id)
            )
            raise OutOfStock(product_id or 0)
    _expire_records(wanted)


def lock_records_of_products(product_ids) -> None:
    """Take the row locks of these products' stock records now, in ascending record id (the global
    lock order). For a caller that places several orders in one transaction (an organisation's bulk
    purchase: one order per delivery address): each order allocates in ascending id, but one after
    the other they would not, and could deadlock with a retail checkout; locked first, they cannot."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    table = StockRecord.__table__
    db.session.execute(sa.select(table.c.id).where(table.c.product_id.in_(ids)).order_by(table.c.id).with_for_update())


def cancel_allocation(wanted: dict[int, int]) -> None:
    """Give back allocations (expiry, cancellation). Never lets `allocated` go below zero."""
    for record_id in sorted(wanted):
        quantity = wanted[record_id]
        result = db.session.execute(
            _guarded_update("release"), {"rid": record_id, "qty": quantity}, execution_options=_changes(record_id)
        )
        if rowcount(result) != 1:
            raise Conflict("allocation_released")
    _expire_records(wanted)


def consume_allocation(
    record_id: int, quantity: int, *, order_line_id: int | None, actor, now: datetime, refuse_recalled: bool = True
) -> None:
    """Hand-over: the allocated units leave the station (on_hand and allocated both go down), from
    the lots the line holds (`LotAllocation`), one `consume` movement per lot. A recalled lot's units
    never leave a counter (409 `lot_recalled`); `refuse_recalled=False` for a parcel already on its way
    (delivered by post: the goods left at shipping, this only books it)."""
    table = StockRecord.__table__
    result = db.session.execute(
        sa.update(table)
        .where(table.c.id == record_id, table.c.allocated >= quantity, table.c.on_hand >= quantity)
        .values(allocated=table.c.allocated - quantity, on_hand=table.c.on_hand - quantity),
        execution_options=_changes(record_id),
    )
    if rowcount(result) != 1:
        raise Conflict("allocation_missing")
    taken = _line_allocations(order_line_id) if order_line_id is not None else []
    if sum(a.allocated for a in taken) != quantity:
        raise Conflict("lot_allocation_missing")
    for allocation in taken:
        lot = allocation.lot
        if refuse_recalled and lot.status == LotStatus.RECALLED:
            raise LotRecalled(lot)
        count = allocation.allocated
        _lot_update(lot, on_hand=-count, allocated=-count)
        allocation.allocated = 0
        allocation.consumed += count
        db.session.add(
            StockMovement(
                stock_record_id=record_id,
                lot_id=lot.id,
                kind=MovementKind.CONSUME,
                quantity=-count,
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
    best_before_date: date | None = None,
    from_household_id: int | None = None,
    producer_id: int | None = None,
    purchase_price_fen: int | None = None,
) -> StockMovement:
    """Goods in: a new lot (with its origin and dates, behind the trace code), on_hand grows.

    `purchase_price_fen`: the lot is bought from `from_household_id` at that unit price (订单收购); the
    caller credits the household at intake (`ledger.purchases.credit_intake_purchase`). None: consigned."""
    _check_quantity(quantity)
    if purchase_price_fen is not None:
        if from_household_id is None:
            raise ValidationError("purchase_needs_household", fields={"from_household_id": "required"})
        if (
            isinstance(purchase_price_fen, bool)
            or not isinstance(purchase_price_fen, int)
            or not 0 < purchase_price_fen <= MAX_PURCHASE_PRICE_FEN
        ):
            raise ValidationError("invalid_purchase_price", fields={"purchase_price_fen": "invalid"})
        if quantity * purchase_price_fen > MAX_PURCHASE_TOTAL_FEN:
            raise ValidationError("purchase_too_large", fields={"purchase_price_fen": "too_large"})
    today = local_date(now)
    if harvest_date is not None and harvest_date > today:
        raise ValidationError("harvest_in_future", fields={"harvest_date": "future"})
    if best_before_date is not None:
        if harvest_date is not None and best_before_date < harvest_date:
            raise ValidationError("best_before_before_harvest", fields={"best_before_date": "before_harvest"})
        if best_before_date < today:
            raise ValidationError("expired_goods", fields={"best_before_date": "expired"})
    _lock_record(record.id)
    lot = Lot(
        code=new_lot_code(),
        stock_record_id=record.id,
        product_id=record.product_id,
        station_id=record.station_id,
        received_quantity=quantity,
        on_hand=quantity,
        allocated=0,
        blocked=0,
        harvest_date=harvest_date,
        best_before_date=best_before_date,
        household_id=from_household_id,
        producer_id=producer_id,
        purchase_price_fen=purchase_price_fen,
        note=(lot_note or "").strip()[:200],
        status=LotStatus.ACTIVE,
        actor_id=getattr(actor, "id", None),
        received_at=now,
    )
    db.session.add(lot)
    db.session.flush()
    table = StockRecord.__table__
    db.session.execute(
        sa.update(table).where(table.c.id == record.id).values(on_hand=table.c.on_hand + quantity),
        execution_options=_changes(record.id, {record.id: record.product_id}),
    )
    movement = StockMovement(
        stock_record_id=record.id,
        lot_id=lot.id,
        kind=MovementKind.RECEIVE,
        quantity=quantity,
        lot_note=lot.note,
        harvest_date=harvest_date,
        from_household_id=from_household_id,
        actor_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(movement)
    db.session.flush()
    db.session.refresh(record)
    return movement


def correct_stock(
    record: StockRecord,
    delta: int,
    *,
    reason: str,
    actor,
    now: datetime,
    lot: Lot | None = None,
    seen_on_hand: int | None = None,
) -> StockMovement:
    """Correct the count by `delta` (signed), with a reason (at most `MAX_COUNT_REASON` characters, never
    cut); never below what is allocated.

    `seen_on_hand`: the count the page showed when the operator decided the correction. When the count
    has changed since (another operator corrected the same shelf from a page open beside this one, goods
    came in or went out), the correction is refused (409 `stock_changed_since_shown`, naming the count now)
    instead of being added to the other one: the operator counts again, and sends it again if still due.

    Lot by lot: `lot` names the lot counted; without it a shortfall comes out of the unallocated
    units of the first-expiring lots, a surplus goes into the newest sellable lot (or, when the
    record has none, a new lot with no origin, noted as a correction). Returns the last movement.
    """
    if not reason or not reason.strip():
        raise ValidationError("count_reason_required", fields={"reason": "required"})
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0 or abs(delta) > MAX_QUANTITY:
        raise ValidationError("invalid_delta", fields={"delta": "invalid"})
    reason = reason.strip()
    if len(reason) > MAX_COUNT_REASON:
        raise ValidationError("count_reason_too_long", fields={"reason": "too_long"}, max=MAX_COUNT_REASON)
    _lock_record(record.id)
    if seen_on_hand is not None:
        on_hand = db.session.scalar(sa.select(StockRecord.on_hand).where(StockRecord.id == record.id))
        if on_hand != seen_on_hand:
            raise Conflict("stock_changed_since_shown", on_hand=on_hand, fields={"delta": "stale"})
    if lot is not None and lot.stock_record_id != record.id:
        raise ValidationError("lot_of_other_product", fields={"lot": "invalid"})
    today = local_date(now)
    if lot is not None:
        db.session.refresh(lot)
        if lot.status != LotStatus.ACTIVE:
            raise Conflict("lot_blocked")
        if lot.on_hand + delta < lot.allocated:
            raise Conflict("lot_below_allocated", least=lot.allocated, most=max(lot.free, 0))
        parts = [(lot, delta)]
    elif delta < 0:
        parts, left = [], -delta
        for candidate in _lots_fefo(record.id, today=None):
            take = min(candidate.free, left)
            if take > 0:
                parts.append((candidate, -take))
                left -= take
            if not left:
                break
        if left:  # fewer unallocated units in sellable lots than asked for
            raise _below_allocated(record.id, most=-delta - left)
    else:
        newest = db.session.scalars(
            sa.select(Lot)
            .where(Lot.stock_record_id == record.id, _sellable(today))
            .order_by(Lot.received_at.desc(), Lot.id.desc())
            .limit(1)
        ).first()
        if newest is None:
            newest = Lot(
                code=new_lot_code(),
                stock_record_id=record.id,
                product_id=record.product_id,
                station_id=record.station_id,
                received_quantity=0,
                on_hand=0,
                allocated=0,
                blocked=0,
                note=reason,
                status=LotStatus.ACTIVE,
                actor_id=getattr(actor, "id", None),
                received_at=now,
            )
            db.session.add(newest)
            db.session.flush()
        parts = [(newest, delta)]
    if not parts:  # no lot holds what would be taken
        raise _below_allocated(record.id)
    table = StockRecord.__table__
    result = db.session.execute(
        sa.update(table)
        .where(table.c.id == record.id, table.c.on_hand + delta >= table.c.allocated)
        .values(on_hand=table.c.on_hand + delta),
        execution_options=_changes(record.id, {record.id: record.product_id}),
    )
    if rowcount(result) != 1:
        raise _below_allocated(record.id)
    movements = []
    for target, count in parts:
        _lot_update(target, on_hand=count)
        movement = StockMovement(
            stock_record_id=record.id,
            lot_id=target.id,
            kind=MovementKind.CORRECT,
            quantity=count,
            reason=reason,
            actor_id=getattr(actor, "id", None),
            created_at=now,
        )
        db.session.add(movement)
        movements.append(movement)
    db.session.flush()
    db.session.refresh(record)
    return movements[-1]  # the lots' parts cover `delta` (at least one part)


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
        raise ValidationError("invalid_stock", fields={"stock": "invalid"})
    table = StockRecord.__table__
    on_hand = db.session.scalar(sa.select(table.c.on_hand).where(table.c.id == record.id).with_for_update())
    if on_hand is None:
        raise Conflict("allocation_mismatch")
    if target == on_hand:
        return None
    return correct_stock(record, target - on_hand, reason=reason, actor=actor, now=now)


# --- lots (#23) ---------------------------------------------------------------------------------


def _below_allocated(record_id: int, *, most: int | None = None) -> Conflict:
    """The refusal of a count below what is sold (allocated to open orders), naming the figures the
    operator needs: the lowest count allowed and how many units can come off at most (`most` when the
    sellable lots hold fewer unallocated units than the record)."""
    on_hand, allocated = db.session.execute(
        sa.select(StockRecord.on_hand, StockRecord.allocated).where(StockRecord.id == record_id)
    ).one()
    most = on_hand - allocated if most is None else most
    return Conflict("stock_below_allocated", least=on_hand - most, most=max(most, 0))


def _lock_record(record_id: int) -> None:
    """Lock the stock record row (PostgreSQL; SQLite serialises writers): every lot change of a
    product happens under it, after any earlier record in id order."""
    db.session.execute(sa.select(StockRecord.id).where(StockRecord.id == record_id).with_for_update())


def lock_lot(lot: Lot) -> Lot:
    """Lock the lot's stock record and read the lot afresh under it: what a decision about the lot (a
    recall) must see, so that two of them at once take turns and the second sees the first's change."""
    _lock_record(lot.stock_record_id)
    db.session.refresh(lot)
    return lot


def _sellable(day: date | sa.BindParameter[date] | None):
    """The SQL condition: a lot may be sold on `day` (None: whatever its date, not blocked; a bind
    parameter: the day given when the statement runs)."""
    condition = Lot.status == LotStatus.ACTIVE
    if day is not None:
        condition = sa.and_(condition, sa.or_(Lot.best_before_date.is_(None), Lot.best_before_date >= day))
    return condition


def _lots_fefo(record_id: int, *, today: date | None) -> list[Lot]:
    """The record's sellable lots with free units, first expiring first (undated last), then oldest."""
    return list(
        db.session.scalars(
            sa.select(Lot)
            .where(Lot.stock_record_id == record_id, _sellable(today), Lot.on_hand > Lot.allocated)
            .order_by(Lot.best_before_date.is_(None), Lot.best_before_date, Lot.received_at, Lot.id)
            .execution_options(populate_existing=True)
        )
    )


def _line_allocations(line_id: int) -> list[LotAllocation]:
    return list(
        db.session.scalars(
            sa.select(LotAllocation)
            .where(LotAllocation.order_line_id == line_id, LotAllocation.allocated > 0)
            .order_by(LotAllocation.lot_id)
            .execution_options(populate_existing=True)
        )
    )


def _lot_update_statement() -> sa.Update:
    table = Lot.__table__
    on_hand = sa.bindparam("on_hand", type_=sa.Integer)
    allocated = sa.bindparam("allocated", type_=sa.Integer)
    blocked = sa.bindparam("blocked", type_=sa.Integer)
    new_on_hand = table.c.on_hand + on_hand
    new_allocated = table.c.allocated + allocated
    return (
        sa.update(table)
        .where(
            table.c.id == sa.bindparam("lot_id"),
            new_allocated >= 0,
            new_on_hand >= new_allocated,
            table.c.blocked + blocked >= 0,
        )
        .values(on_hand=new_on_hand, allocated=new_allocated, blocked=table.c.blocked + blocked)
        .returning(table.c.on_hand, table.c.allocated, table.c.blocked)
    )


def _lot_update(lot: Lot, *, on_hand: int = 0, allocated: int = 0, blocked: int = 0) -> None:
    """One guarded UPDATE of a lot's numbers (the CHECK constraints are the last word; this refuses
    first, with a clear message): never below zero, never more allocated than on hand. The new
    numbers come back with RETURNING and become the loaded object's (no re-read). The statement
    is built once (`shop.db.statement`): the changes are its parameters."""
    row = db.session.execute(
        statement("stock.lot_update", _lot_update_statement),
        {"lot_id": lot.id, "on_hand": on_hand, "allocated": allocated, "blocked": blocked},
    ).first()
    if row is None:
        raise LotUnavailable("lot_unavailable", code=lot.code, fields={"lot": lot.code})
    for name, value in zip(("on_hand", "allocated", "blocked"), row):
        set_committed_value(lot, name, value)


def _allocate_line(item: LineStock, lots: list[Lot], quantity: int, *, new_rows: list[dict] | None = None) -> int:
    """Take up to `quantity` for the line from `lots` in order; returns what is still missing.
    `new_rows`: the line holds no allocation row yet (a checkout), so none is looked for; the rows it
    gets are appended there (column values) for the caller to write in one INSERT."""
    left = quantity
    for lot in lots:
        take = min(lot.on_hand - lot.allocated, left)
        if take <= 0:
            continue
        _lot_update(lot, allocated=take)
        if new_rows is not None:
            new_rows.append({"order_line_id": item.line_id, "lot_id": lot.id, "allocated": take, "consumed": 0})
            left -= take
            if not left:
                break
            continue
        allocation = db.session.scalar(
            sa.select(LotAllocation).where(LotAllocation.order_line_id == item.line_id, LotAllocation.lot_id == lot.id)
        )
        if allocation is None:
            db.session.add(LotAllocation(order_line_id=item.line_id, lot_id=lot.id, allocated=take, consumed=0))
        else:
            allocation.allocated += take
        left -= take
        if not left:
            break
    return left


def _lots_fefo_statement() -> sa.Select:
    """The sellable lots with free units of the records `record_ids` on the day `today`, per record
    first expiring first (undated last), then oldest: `_sellable` with the day as a parameter."""
    return (
        sa.select(Lot)
        .where(
            Lot.stock_record_id.in_(sa.bindparam("record_ids", expanding=True)),
            _sellable(sa.bindparam("today", type_=sa.Date)),
            Lot.on_hand > Lot.allocated,
        )
        .order_by(Lot.stock_record_id, Lot.best_before_date.is_(None), Lot.best_before_date, Lot.received_at, Lot.id)
        .execution_options(populate_existing=True)
    )


def _take_lots_statement() -> sa.Insert:
    """PostgreSQL, for new lines of distinct records (a checkout): `allocate_lots` in ONE statement.
    Bind parameters: `record_ids`, `line_ids`, `quantities` (arrays, one entry per line) and `today`.

    `cand`: each record's sellable lots with free units, first expiring first (`_lots_fefo_statement`'s
    order), with the free units of the lots before it (a running sum); `taken`: the guarded UPDATE of
    every lot the line takes from (min(free, what is still missing)), never more than on hand;
    then the lines' allocation rows are inserted and returned (what each line got). Lots change only
    under their record's lock, which `allocate` took in this transaction, so the statement's snapshot
    sees every earlier lot change."""
    lots = Lot.__table__
    wanted = (
        sa.func.unnest(
            sa.bindparam("record_ids", type_=sa.ARRAY(sa.BigInteger)),
            sa.bindparam("line_ids", type_=sa.ARRAY(sa.BigInteger)),
            sa.bindparam("quantities", type_=sa.ARRAY(sa.Integer)),
        )
        .table_valued("record_id", "line_id", "quantity")
        .render_derived(name="wanted")
    )
    free = lots.c.on_hand - lots.c.allocated
    fefo = (lots.c.best_before_date.is_(None), lots.c.best_before_date, lots.c.received_at, lots.c.id)
    cand = (
        sa.select(
            lots.c.id.label("lot_id"),
            wanted.c.line_id,
            wanted.c.quantity,
            free.label("free"),
            (sa.func.sum(free).over(partition_by=lots.c.stock_record_id, order_by=fefo) - free).label("before"),
        )
        .join_from(lots, wanted, wanted.c.record_id == lots.c.stock_record_id)
        .where(_sellable(sa.bindparam("today", type_=sa.Date)), lots.c.on_hand > lots.c.allocated)
        .cte("cand")
    )
    take = sa.func.least(cand.c.free, cand.c.quantity - cand.c.before)
    taken = (
        sa.update(lots)
        .where(lots.c.id == cand.c.lot_id, cand.c.before < cand.c.quantity, lots.c.allocated + take <= lots.c.on_hand)
        .values(allocated=lots.c.allocated + take)
        .returning(cand.c.line_id, lots.c.id.label("lot_id"), take.label("take"))
        .cte("taken")
    )
    table = LotAllocation.__table__
    return (
        sa.insert(table)
        .from_select(
            ["order_line_id", "lot_id", "allocated", "consumed"],
            sa.select(taken.c.line_id, taken.c.lot_id, taken.c.take, sa.literal(0, sa.Integer)),
        )
        .returning(table.c.order_line_id, table.c.lot_id, table.c.allocated)
    )


def _take_lots_at_once(items: list[LineStock], *, today: date) -> None:
    """`allocate_lots` for new lines of distinct records on PostgreSQL: one round trip (see
    `_take_lots_statement`), the same lots and amounts as the step-by-step path; a line left short
    (its record's free units are only in expired or blocked lots) is OutOfStock and the caller rolls
    back. Lots loaded in the session are expired (their numbers changed)."""
    items = sorted(items, key=lambda i: i.record_id)
    for item in items:
        _check_quantity(item.quantity)
    rows = db.session.execute(
        statement("stock.take_lots", _take_lots_statement),
        {
            "record_ids": [i.record_id for i in items],
            "line_ids": [i.line_id for i in items],
            "quantities": [i.quantity for i in items],
            "today": today,
        },
    ).all()
    got: dict[int, int] = {}
    identity_map = db.session.identity_map
    for line_id, lot_id, allocated in rows:
        got[line_id] = got.get(line_id, 0) + allocated
        lot = identity_map.get(identity_key(Lot, lot_id))
        if lot is not None:
            db.session.expire(lot)
    for item in items:
        if got.get(item.line_id, 0) != item.quantity:
            raise OutOfStock(item.product_id)


def allocate_lots(items: list[LineStock], *, today: date, new_lines: bool = False) -> None:
    """Give each line its units from the lots, first expiring first, among lots sellable `today`.

    Call in the transaction that allocated the records (`allocate`), which holds their locks. A
    record whose free units are only in expired lots cannot supply the line: OutOfStock, and the
    caller rolls everything back (an expired lot is never sold, even before `expire_lots` ran).
    One SELECT for the lots of every record, then one guarded UPDATE per lot taken from.
    `new_lines`: the lines were just written (a checkout), they hold no allocation rows yet: theirs
    are written at the end in one INSERT (SQLAlchemy's bulk INSERT, not objects of the session, as
    `shop.history.record_statuses`), so the checkout needs no second flush; on PostgreSQL, new lines
    of distinct records (every checkout) take their lots and write their allocation rows in ONE
    statement (`_take_lots_at_once`). Otherwise the allocation rows are added to (or updated in) the
    session, and the caller's next flush writes them.
    """
    if not items:
        return
    record_ids = sorted({i.record_id for i in items})
    if new_lines and len(record_ids) == len(items) and db.session.get_bind().dialect.name == "postgresql":
        _take_lots_at_once(items, today=today)
        return
    candidates: dict[int, list[Lot]] = {record_id: [] for record_id in record_ids}
    query = statement("stock.lots_fefo", _lots_fefo_statement)
    for lot in db.session.scalars(query, {"record_ids": record_ids, "today": today}):
        candidates[lot.stock_record_id].append(lot)
    new_rows: list[dict] | None = [] if new_lines else None
    for item in sorted(items, key=lambda i: (i.record_id, i.line_id)):
        _check_quantity(item.quantity)
        lots = candidates[item.record_id]
        if _allocate_line(item, lots, item.quantity, new_rows=new_rows):
            raise OutOfStock(item.product_id)
        # what the next line of the same record may still take (the lots were expired by the UPDATEs)
        candidates[item.record_id] = [lot for lot in lots if lot.on_hand > lot.allocated]
    if new_rows:
        db.session.execute(sa.insert(LotAllocation.__table__), new_rows)


def allocate_lines(items: list[LineStock], *, today: date) -> None:
    """Allocate records and lots for these lines (a late payment re-allocating an expired order)."""
    wanted: dict[int, int] = {}
    for item in items:
        wanted[item.record_id] = wanted.get(item.record_id, 0) + item.quantity
    if wanted:
        allocate(wanted, product_ids={i.record_id: i.product_id for i in items})
        allocate_lots(items, today=today)
        db.session.flush()


def _release_line_lots(item: LineStock, *, now: datetime | None, actor=None) -> None:
    """Give back what the line holds in its lots; units going back to a blocked lot are blocked too."""
    held = _line_allocations(item.line_id)
    if sum(a.allocated for a in held) != item.quantity:
        raise Conflict("allocation_released")
    for allocation in held:
        lot, count = allocation.lot, allocation.allocated
        _lot_update(lot, allocated=-count)
        allocation.allocated = 0
        if lot.status != LotStatus.ACTIVE:
            _block_units(lot, count, now=now, actor=actor)


def release_lines(items: list[LineStock], *, now: datetime | None = None, actor=None) -> None:
    """Give back the allocations of these lines (expiry, cancellation, refund): records and lots."""
    wanted: dict[int, int] = {}
    for item in items:
        wanted[item.record_id] = wanted.get(item.record_id, 0) + item.quantity
    if not wanted:
        return
    cancel_allocation(wanted)  # locks the records, ascending
    for item in sorted(items, key=lambda i: (i.record_id, i.line_id)):
        _release_line_lots(item, now=now, actor=actor)
    db.session.flush()


def _block_units(lot: Lot, count: int, *, now: datetime | None, actor=None, reason: str = "") -> None:
    """Take `count` unallocated units of a blocked lot out of the sellable stock (record and lot)."""
    if count <= 0:
        return
    table = StockRecord.__table__
    result = db.session.execute(
        sa.update(table)
        .where(table.c.id == lot.stock_record_id, table.c.on_hand - count >= table.c.allocated)
        .values(on_hand=table.c.on_hand - count),
        execution_options=_changes(lot.stock_record_id, {lot.stock_record_id: lot.product_id}),
    )
    if rowcount(result) != 1:
        raise _below_allocated(lot.stock_record_id)
    _lot_update(lot, on_hand=-count, blocked=count)
    db.session.add(
        StockMovement(
            stock_record_id=lot.stock_record_id,
            lot_id=lot.id,
            kind=MovementKind.BLOCK,
            quantity=-count,
            reason=(reason or lot.recall_reason or str(lot.status))[:200],
            actor_id=getattr(actor, "id", None),
            created_at=now or lot.received_at,
        )
    )
    _expire_records([lot.stock_record_id])


def block_lot(lot: Lot, status: str, *, now: datetime, actor=None, reason: str = "") -> int:
    """Mark the lot expired or recalled and block its unallocated units; returns how many.

    A recall of an expired lot is still recorded (its status becomes `recalled`); blocking an
    already recalled lot again changes nothing."""
    if status not in (LotStatus.EXPIRED, LotStatus.RECALLED):
        raise ValueError(status)
    _lock_record(lot.stock_record_id)
    db.session.refresh(lot)
    if lot.status == LotStatus.RECALLED or lot.status == status:
        return 0
    lot.status = status
    if status == LotStatus.RECALLED:
        lot.recall_reason = (reason or "").strip()[:200]
        lot.recalled_at = now
        lot.recalled_by_id = getattr(actor, "id", None)
    db.session.flush()
    pagecache.mark_products(db.session, [lot.product_id])  # its trace page shows the new status
    free = lot.on_hand - lot.allocated
    _block_units(lot, free, now=now, actor=actor, reason=reason)
    db.session.flush()
    return free


def expire_lots(*, now: datetime) -> list[int]:
    """Block every active lot whose best-before date has passed (Beijing date of `now`); returns their
    ids. Run by the beat schedule; selling never waits for it (`allocate_lots` skips expired lots)."""
    today = local_date(now)
    due = list(
        db.session.scalars(
            sa.select(Lot)
            .where(Lot.status == LotStatus.ACTIVE, Lot.best_before_date < today)
            .order_by(Lot.stock_record_id, Lot.id)
        )
    )
    for lot in due:
        block_lot(lot, LotStatus.EXPIRED, now=now, reason="expired")
    return [lot.id for lot in due]


def assign_lot(item: LineStock, code: str, *, now: datetime, actor=None) -> Lot:
    """The packer scanned `code` for this line: the line's whole quantity now comes from that lot.

    Refused (409, nothing changed) when the lot is not this product's, not sellable today, or has
    too few unallocated units (two packers scanning the last units of a lot: one wins)."""
    code = typed_code(code)
    lot = db.session.scalar(sa.select(Lot).where(Lot.code == code)) if code else None
    if lot is None or lot.stock_record_id != item.record_id:
        raise LotUnavailable("lot_not_of_product", code=code or "-", fields={"lot": "unknown"})
    _lock_record(item.record_id)
    db.session.refresh(lot)
    if not lot.sellable_on(local_date(now)):
        raise LotUnavailable("lot_blocked_out", code=lot.code, fields={"lot": "blocked"})
    held = _line_allocations(item.line_id)
    if [a.lot_id for a in held] == [lot.id]:
        return lot
    _release_line_lots(item, now=now, actor=actor)
    db.session.flush()
    if _allocate_line(item, [lot], item.quantity):
        raise LotUnavailable("lot_unavailable", code=lot.code, fields={"lot": "short"})
    db.session.flush()
    return lot


def held_lines(line_ids) -> list[LineStock]:
    """What these lines still hold in lots, as LineStock (a canceled pick-up transfer's lines, held
    until the goods are back at their packing station)."""
    ids = list(line_ids)
    if not ids:
        return []
    rows = db.session.execute(
        sa.select(
            LotAllocation.order_line_id, Lot.stock_record_id, Lot.product_id, sa.func.sum(LotAllocation.allocated)
        )
        .join(Lot, Lot.id == LotAllocation.lot_id)
        .where(LotAllocation.order_line_id.in_(ids), LotAllocation.allocated > 0)
        .group_by(LotAllocation.order_line_id, Lot.stock_record_id, Lot.product_id)
        .order_by(Lot.stock_record_id, LotAllocation.order_line_id)
    ).all()
    return [
        LineStock(line_id=line_id, record_id=record_id, product_id=product_id, quantity=int(quantity))
        for line_id, record_id, product_id, quantity in rows
    ]


def line_lots(line_ids) -> dict[int, list[Lot]]:
    """{order_line_id: [lots it took or holds]} (the packing slip's trace codes)."""
    ids = list(line_ids)
    out: dict[int, list[Lot]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = db.session.execute(
        sa.select(LotAllocation.order_line_id, Lot)
        .join(Lot, Lot.id == LotAllocation.lot_id)
        .where(LotAllocation.order_line_id.in_(ids), (LotAllocation.allocated + LotAllocation.consumed) > 0)
        .order_by(LotAllocation.order_line_id, Lot.best_before_date, Lot.id)
    )
    for line_id, lot in rows:
        out[line_id].append(lot)
    return out


def unsellable_lots(line_ids, *, today: date) -> list[Lot]:
    """The lots still held by these lines that may not leave today (expired or recalled)."""
    seen: dict[int, Lot] = {}
    for line_id in line_ids:
        for allocation in _line_allocations(line_id):
            if not allocation.lot.sellable_on(today):
                seen[allocation.lot_id] = allocation.lot
    return list(seen.values())


@dataclass(frozen=True)
class Restocked:
    """What `return_to_stock` took back: its `return` movements (one per lot) and how many of those
    units went straight on to blocked (their lot expired or recalled: not for sale again)."""

    movements: list[StockMovement]
    blocked: int

    @property
    def quantity(self) -> int:
        return sum(m.quantity for m in self.movements)


def returnable(order_line_id: int) -> int:
    """How many units of the line could come back: what it took from lots and handed over, less what
    came back already (its `return` movements)."""
    consumed = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LotAllocation.consumed), 0)).where(
            LotAllocation.order_line_id == order_line_id
        )
    )
    back = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(StockMovement.quantity), 0)).where(
            StockMovement.order_line_id == order_line_id, StockMovement.kind == MovementKind.RETURN
        )
    )
    return int(consumed or 0) - int(back or 0)


def units_not_returned() -> sa.ColumnElement[int]:
    """SQL, for the `LotAllocation` row of the enclosing query: the units of its lot its line holds or
    handed over less those that came back into the lot (the line's `return` movements there). The
    allocation row keeps what the line took (`consumed` is not lowered by a return): this is what
    is still out with the buyer, or on its way to them."""
    returned = (
        sa.select(sa.func.coalesce(sa.func.sum(StockMovement.quantity), 0))
        .where(
            StockMovement.order_line_id == LotAllocation.order_line_id,
            StockMovement.lot_id == LotAllocation.lot_id,
            StockMovement.kind == MovementKind.RETURN,
        )
        .correlate(LotAllocation)
        .scalar_subquery()
    )
    return LotAllocation.allocated + LotAllocation.consumed - returned


def return_to_stock(
    order_line_id: int, quantity: int, *, refund_request_id: int | None, actor, now: datetime, reason: str = ""
) -> Restocked:
    """A buyer's goods are back and sellable (退货入库): `quantity` units go back on hand, into the lots
    the line was handed over from (`LotAllocation.consumed`), first expiring first — the same order
    they were taken in, so a doubtful unit is counted in the earlier lot —, never more into a lot
    than the line took from it less what came back already. One `return` movement per lot, naming
    the line, the refund request, the actor and the time.

    A lot that may not be sold today (recalled, expired, or past its best-before date before the
    schedule blocked it) takes its units back and blocks them at once (a `block` movement): the trace
    keeps where they are, and they never become sellable again. Refused (nothing changed): a quantity
    that is not 1..MAX_QUANTITY (`invalid_quantity`), a line that handed nothing over
    (`nothing_handed_over`), more than could come back (`return_above_handed_over`). Takes the stock
    record's lock first, as every lot change does."""
    _check_quantity(quantity)
    taken = list(
        db.session.execute(
            sa.select(LotAllocation.lot_id, LotAllocation.consumed, Lot.stock_record_id, Lot.product_id)
            .join(Lot, Lot.id == LotAllocation.lot_id)
            .where(LotAllocation.order_line_id == order_line_id, LotAllocation.consumed > 0)
            .order_by(Lot.best_before_date.is_(None), Lot.best_before_date, Lot.received_at, Lot.id)
        )
    )
    if not taken:
        raise Conflict("nothing_handed_over")
    record_id, product_id = taken[0].stock_record_id, taken[0].product_id
    _lock_record(record_id)
    back = dict(
        db.session.execute(
            sa.select(StockMovement.lot_id, sa.func.sum(StockMovement.quantity))
            .where(StockMovement.order_line_id == order_line_id, StockMovement.kind == MovementKind.RETURN)
            .group_by(StockMovement.lot_id)
        ).all()
    )
    parts: list[tuple[int, int]] = []
    left = quantity
    for lot_id, consumed, _record, _product in taken:
        take = min(consumed - int(back.get(lot_id) or 0), left)
        if take > 0:
            parts.append((lot_id, take))
            left -= take
    if left:
        raise Conflict("return_above_handed_over", max=quantity - left, fields={"quantity": "too_many"})
    table = StockRecord.__table__
    db.session.execute(
        sa.update(table).where(table.c.id == record_id).values(on_hand=table.c.on_hand + quantity),
        execution_options=_changes(record_id, {record_id: product_id}),
    )
    today = local_date(now)
    reason = (reason or "").strip()[:200]
    movements, blocked = [], 0
    for lot_id, count in parts:
        lot = db.session.get_one(Lot, lot_id, populate_existing=True)
        _lot_update(lot, on_hand=count)
        movement = StockMovement(
            stock_record_id=record_id,
            lot_id=lot.id,
            kind=MovementKind.RETURN,
            quantity=count,
            reason=reason,
            order_line_id=order_line_id,
            refund_request_id=refund_request_id,
            actor_id=getattr(actor, "id", None),
            created_at=now,
        )
        db.session.add(movement)
        movements.append(movement)
        if not lot.sellable_on(today):
            db.session.flush()  # the return first, then its block (the movements' order)
            # a recalled lot's block names the recall's reason; an active lot here is past its date
            expired = str(LotStatus.EXPIRED) if lot.status == LotStatus.ACTIVE else ""
            _block_units(lot, count, now=now, actor=actor, reason=expired)
            blocked += count
    db.session.flush()
    _expire_records([record_id])
    return Restocked(movements=movements, blocked=blocked)


def record_lots(record_id: int) -> list[Lot]:
    """A record's lots, newest first (the station's stock page)."""
    return list(
        db.session.scalars(
            sa.select(Lot).where(Lot.stock_record_id == record_id).order_by(Lot.received_at.desc(), Lot.id.desc())
        )
    )


def lot_totals(record_id: int) -> tuple[int, int]:
    """(sum of on_hand, sum of allocated) over a record's lots: equal to the record's numbers."""
    row = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(Lot.on_hand), 0), sa.func.coalesce(sa.func.sum(Lot.allocated), 0)).where(
            Lot.stock_record_id == record_id
        )
    ).one()
    return int(row[0]), int(row[1])
