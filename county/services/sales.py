"""One sale traced (`/county/sales/<line id>`): an order line, what it sold and from which lots, where its
money went (its `SaleFigure` rows: households, commission, collective, purchased units), every household
it credited with what each holds from it, the refunds that took part of it back, and whether each
household's share was paid out (in which payout batch).

Read in a fixed number of statements whatever the line holds (`tests/county/test_sale_trace.py`). Household
names leave this module masked only (`mask_name`), as on every county page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, cast

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


#: What a sale's line is: goods or a booking.
SaleKind = Literal["product", "booking"]


# One sale traced (`SaleTrace`), as the page shows it and the API answers it (`county.sales_api`): these
# dataclasses are the one list of its fields, and a docstring or a field's description is the API's too.
@dataclass
class SaleLot:
    code: str = field(metadata={"description": "the lot's trace code (/trace/{code})"})
    status: str = field(metadata={"description": "active, expired or recalled"})
    taken: int = field(metadata={"description": "units of the line it supplied"})


@dataclass
class SaleFigureRow:
    """One credit or reversal of the line's money, signed: sale_fen = household_fen + commission_fen +
    collective_fen + purchased_fen."""

    date: dt.date
    ref: str = field(
        metadata={"description": "'' a credit; 'refund:<id>' the reversal of that refund; 'kept:…' a kept fee"}
    )
    reversal: bool
    sale_fen: int
    household_fen: int
    commission_fen: int
    collective_fen: int
    purchased_fen: int


@dataclass
class SaleTotals:
    """The net of the figures: what of the sale stays with whom, to the fen."""

    sale_fen: int
    household_fen: int
    commission_fen: int
    collective_fen: int
    purchased_fen: int


@dataclass
class SaleBatch:
    id: int
    code: str
    status: str = field(metadata={"description": "the payout line's status in that batch"})
    amount_fen: int = field(metadata={"description": "what of the household's entries from this sale the batch pays"})


@dataclass
class SaleHousehold:
    id: int
    name: str = field(metadata={"description": "the head's name, masked as on every county page"})
    village: str
    credited_fen: int
    reversed_fen: int
    net_fen: int
    unpaid_fen: int = field(metadata={"description": "of the net, what no payout batch pays yet"})
    batches: list[SaleBatch]


@dataclass
class SaleRefund:
    id: int
    amount_fen: int
    state: str
    reason: str
    created_at: dt.datetime


@dataclass
class SaleTrace:
    line_id: int
    kind: SaleKind
    title: str = field(metadata={"description": "the line's title as sold"})
    product_name: str = field(
        metadata={"description": "the product's (or the listing's) name today; '' when it is gone"}
    )
    variant_label: str
    product_id: int | None
    booking_id: str = field(metadata={"description": "a booking line's booking code; '' for goods"})
    check_in: dt.date | None
    check_out: dt.date | None
    order_id: str = field(metadata={"description": "the order's public code"})
    ordered_at: dt.datetime
    station: str = field(metadata={"description": "the selling station's name"})
    status: str
    unit: str
    unit_price_fen: int
    quantity: int
    refunded_quantity: int
    line_total_fen: int
    commission_bps: int
    lots: list[SaleLot]
    #: One row per credit or reversal of the line (`SaleFigure`), signed, oldest first.
    figures: list[SaleFigureRow]
    totals: SaleTotals
    households: list[SaleHousehold]
    refunds: list[SaleRefund]


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
    lots = [
        SaleLot(code=lot_code, status=status, taken=consumed or allocated)
        for lot_code, status, allocated, consumed in db.session.execute(
            sa.select(Lot.code, Lot.status, LotAllocation.allocated, LotAllocation.consumed)
            .join(Lot, Lot.id == LotAllocation.lot_id)
            .where(LotAllocation.order_line_id == line.id)
            .order_by(LotAllocation.id)
        )
    ]
    figures = [
        SaleFigureRow(
            date=f.entry_date,
            ref=f.ref,
            reversal=f.sale_fen < 0,
            sale_fen=f.sale_fen,
            **{part: getattr(f, part) for part in PARTS},
        )
        for f in db.session.scalars(
            sa.select(SaleFigure).where(SaleFigure.order_line_id == line.id).order_by(SaleFigure.id)
        )
    ]
    totals = SaleTotals(**{part: sum(getattr(f, part) for f in figures) for part in ("sale_fen", *PARTS)})
    return SaleTrace(
        line_id=line.id,
        kind=cast(SaleKind, line.kind),
        title=line.title,
        product_name=(listing if line.kind == "booking" else product) or "",
        variant_label=variant or "",
        product_id=line.product_id,
        booking_id=booking or "",
        check_in=check_in,
        check_out=check_out,
        order_id=code,
        ordered_at=ordered_at,
        station=station or "",
        status=line.status,
        unit=line.unit,
        unit_price_fen=line.unit_price_fen,
        quantity=line.quantity,
        refunded_quantity=line.refunded_quantity,
        line_total_fen=line.line_total_fen,
        commission_bps=line.commission_bps,
        lots=lots,
        figures=figures,
        totals=totals,
        households=_households(line.id),
        refunds=[
            SaleRefund(id=r.id, amount_fen=r.amount_fen, state=r.state, reason=r.reason, created_at=r.created_at)
            for r in db.session.scalars(sa.select(Refund).where(Refund.order_line_id == line.id).order_by(Refund.id))
        ],
    )


def get_sale_trace(line_id: int) -> SaleTrace:
    """The sale of order line `line_id` (`sale_trace`); no such line is 404 `sale_not_found`."""
    trace = sale_trace(line_id)
    if trace is None:
        raise NotFound("sale_not_found")
    return trace


def _households(line_id: int) -> list[SaleHousehold]:
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
    households: dict[int, SaleHousehold] = {}
    batches: dict[tuple[int, int], SaleBatch] = {}
    for r in rows:
        h = households.get(r.household_id)
        if h is None:
            name, village = names.get(r.household_id, ("", ""))
            h = households[r.household_id] = SaleHousehold(
                id=r.household_id,
                name=mask_name(name),
                village=village,
                credited_fen=0,
                reversed_fen=0,
                net_fen=0,
                unpaid_fen=0,
                batches=[],
            )
        if r.kind == IncomeKind.REVERSAL:
            h.reversed_fen += r.amount_fen
        else:
            h.credited_fen += r.amount_fen
        h.net_fen += r.amount_fen
        if r.id in batch_of:
            batch_id, code, status = batch_of[r.id]
            batch = batches.get((h.id, batch_id))
            if batch is None:
                batch = batches[h.id, batch_id] = SaleBatch(id=batch_id, code=code, status=status, amount_fen=0)
                h.batches.append(batch)
            batch.amount_fen += r.amount_fen
        else:
            h.unpaid_fen += r.amount_fen
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
