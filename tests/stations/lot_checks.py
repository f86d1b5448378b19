"""The lots' invariant the stock tests check after every change of stock (intake, sale, return,
recall, a race): a record's lots sum to its figures, and each lot's movements and allocations to its own."""

from __future__ import annotations

import sqlalchemy as sa

from stock.models import Lot, LotAllocation, StockMovement, StockRecord
from stock.services import lot_totals, movements_total


def assert_lots_exact(db, record_id: int) -> None:
    """The lots of a record sum to its on_hand and allocated; each lot's movements to its on_hand;
    each lot's allocation rows to its allocated."""
    db.session.flush()
    record = db.session.get(StockRecord, record_id)
    db.session.refresh(record)
    assert lot_totals(record_id) == (record.on_hand, record.allocated)
    assert movements_total(record_id) == record.on_hand
    for lot in db.session.scalars(sa.select(Lot).where(Lot.stock_record_id == record_id)):
        db.session.refresh(lot)
        moved = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(StockMovement.quantity), 0)).where(StockMovement.lot_id == lot.id)
        )
        held = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(LotAllocation.allocated), 0)).where(LotAllocation.lot_id == lot.id)
        )
        assert (moved, held) == (lot.on_hand, lot.allocated), lot.code
        assert 0 <= lot.allocated <= lot.on_hand
