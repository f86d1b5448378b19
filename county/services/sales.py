"""One sale traced (`/county/sales/<line id>`): an order line, what it sold and from which lots, where its
money went (its `SaleFigure` rows: households, commission, collective, purchased units), every household
it credited with what each holds from it, the refunds that took part of it back, and whether each
household's share was paid out (in which payout batch).

Read in a fixed number of statements whatever the line holds (`tests/county/test_sale_trace.py`). Household
names leave this module masked only (`mask_name`), as on every county page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from catalog.models import Household, Product, Village
from ledger.models import IncomeEntry, IncomeKind, SaleFigure
from ledger.payouts import PayoutBatch, PayoutItem, PayoutLine
from orders.models import Order, OrderLine, Refund
from shop.errors import NotFound
from shop.extensions import db
from shop.personal_data import mask_name
from stock.models import Lot, LotAllocation, Station
from tourism.models import Booking, Listing

#: The parts of a sale, in the order the page shows them (sale = the rest, to the fen).
PARTS = ("household_fen", "commission_fen", "collective_fen", "purchased_fen")


@dataclass
class SaleTrace:
    line_id: int
    kind: str  # "product" | "booking"
    title: str
    product_name: str  # the product's (or the listing's) name today; "" when it is gone
    variant_label: str
    product_id: int | None
    booking_code: str
    check_in: date | None
    check_out: date | None
    order_code: str
    ordered_at: datetime
    station: str
    status: str
    unit: str
    unit_price_fen: int
    quantity: int
    refunded_quantity: int
    line_total_fen: int
    commission_bps: int
    lots: list[dict[str, Any]] = field(default_factory=list)
    #: One row per credit or reversal of the line (`SaleFigure`), signed, oldest first.
    figures: list[dict[str, Any]] = field(default_factory=list)
    #: Net of the figures: what of the sale stays with whom, to the fen.
    totals: dict[str, int] = field(default_factory=dict)
    households: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)


def _line(line_id: int):
    row = db.session.execute(
        sa.select(
            OrderLine,
            Order.code,
            Order.created_at,
            Station.name,
            Product.name,
            Product.variant_label,
            Booking.code,
            Booking.check_in_date,
            Booking.check_out_date,
            Listing.name,
        )
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(Station, Station.id == OrderLine.station_id)
        .outerjoin(Product, Product.id == OrderLine.product_id)
        .outerjoin(Booking, Booking.id == OrderLine.booking_id)
        .outerjoin(Listing, Listing.id == Booking.listing_id)
        .where(OrderLine.id == line_id)
    ).first()
    return row


def sale_trace(line_id: int) -> SaleTrace | None:
    """The sale of order line `line_id`; None for no such line."""
    row = _line(line_id)
    if row is None:
        return None
    line, code, ordered_at, station, product, variant, booking, check_in, check_out, listing = row
    trace = SaleTrace(
        line_id=line.id,
        kind=line.kind,
        title=line.title,
        product_name=(listing if line.kind == "booking" else product) or "",
        variant_label=variant or "",
        product_id=line.product_id,
        booking_code=booking or "",
        check_in=check_in,
        check_out=check_out,
        order_code=code,
        ordered_at=ordered_at,
        station=station or "",
        status=line.status,
        unit=line.unit,
        unit_price_fen=line.unit_price_fen,
        quantity=line.quantity,
        refunded_quantity=line.refunded_quantity,
        line_total_fen=line.line_total_fen,
        commission_bps=line.commission_bps,
    )
    trace.lots = [
        {"code": lot_code, "status": status, "taken": consumed or allocated}
        for lot_code, status, allocated, consumed in db.session.execute(
            sa.select(Lot.code, Lot.status, LotAllocation.allocated, LotAllocation.consumed)
            .join(Lot, Lot.id == LotAllocation.lot_id)
            .where(LotAllocation.order_line_id == line.id)
            .order_by(LotAllocation.id)
        )
    ]
    figures = db.session.scalars(
        sa.select(SaleFigure).where(SaleFigure.order_line_id == line.id).order_by(SaleFigure.id)
    ).all()
    trace.figures = [
        {
            "date": f.entry_date,
            "ref": f.ref,
            "reversal": f.sale_fen < 0,
            "sale_fen": f.sale_fen,
            **{part: getattr(f, part) for part in PARTS},
        }
        for f in figures
    ]
    trace.totals = {part: sum(f[part] for f in trace.figures) for part in ("sale_fen", *PARTS)}
    trace.households = _households(line.id)
    trace.refunds = [
        {"id": r.id, "amount_fen": r.amount_fen, "state": r.state, "reason": r.reason, "at": r.created_at}
        for r in db.session.scalars(sa.select(Refund).where(Refund.order_line_id == line.id).order_by(Refund.id))
    ]
    return trace


def get_sale_trace(line_id: int) -> SaleTrace:
    """The sale of order line `line_id` (`sale_trace`); no such line is 404 `sale_not_found`."""
    trace = sale_trace(line_id)
    if trace is None:
        raise NotFound("sale_not_found")
    return trace


def _households(line_id: int) -> list[dict[str, Any]]:
    """Every household the line credited: what it was credited, what refunds took back, what it holds, and the
    payout batches that paid (or are paying) its entries. Two statements."""
    rows = db.session.execute(
        sa.select(IncomeEntry.id, IncomeEntry.household_id, IncomeEntry.kind, IncomeEntry.amount_fen)
        .where(IncomeEntry.order_line_id == line_id)
        .order_by(IncomeEntry.id)
    ).all()
    ids = {r.household_id for r in rows}
    entry_ids = [r.id for r in rows]
    names = (
        {
            hid: (name, village)
            for hid, name, village in db.session.execute(
                sa.select(Household.id, Household.head_name, Village.name)
                .join(Village, Village.id == Household.village_id)
                .where(Household.id.in_(ids))
            )
        }
        if ids
        else {}
    )
    paid = (
        db.session.execute(
            sa.select(PayoutItem.entry_id, PayoutBatch.id, PayoutBatch.code, PayoutLine.status)
            .join(PayoutLine, PayoutLine.id == PayoutItem.line_id)
            .join(PayoutBatch, PayoutBatch.id == PayoutLine.batch_id)
            .where(PayoutItem.entry_id.in_(entry_ids), PayoutItem.released.is_(False))
        ).all()
        if entry_ids
        else []
    )
    batch_of = {entry_id: (batch_id, code, status) for entry_id, batch_id, code, status in paid}
    households: dict[int, dict[str, Any]] = {}
    for r in rows:
        name, village = names.get(r.household_id, ("", ""))
        h = households.setdefault(
            r.household_id,
            {
                "id": r.household_id,
                "name": mask_name(name),
                "village": village,
                "credited_fen": 0,
                "reversed_fen": 0,
                "net_fen": 0,
                "batches": {},
                "unpaid_fen": 0,
            },
        )
        if r.kind == IncomeKind.REVERSAL:
            h["reversed_fen"] += r.amount_fen
        else:
            h["credited_fen"] += r.amount_fen
        h["net_fen"] += r.amount_fen
        if r.id in batch_of:
            batch_id, code, status = batch_of[r.id]
            batch = h["batches"].setdefault(batch_id, {"id": batch_id, "code": code, "status": status, "fen": 0})
            batch["fen"] += r.amount_fen
        else:
            h["unpaid_fen"] += r.amount_fen
    for h in households.values():
        h["batches"] = list(h["batches"].values())
    return list(households.values())


def line_names(line_ids) -> dict[int, dict[str, str]]:
    """{line id: {"title", "order_code"}} of the order lines a household's statement names, in one statement."""
    ids = {i for i in line_ids if i is not None}
    if not ids:
        return {}
    return {
        line_id: {"title": title, "order_code": code}
        for line_id, title, code in db.session.execute(
            sa.select(OrderLine.id, OrderLine.title, Order.code)
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.id.in_(ids))
        )
    }
