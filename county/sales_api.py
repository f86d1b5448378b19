"""JSON API of one sale traced (销售溯源, the county's page `/county/sales/<line id>`), added to shop.api's blueprint.

- GET /county/sales/<line id>   the county office (or an admin): the order line, what it sold (product or
                                 listing, variant) from which lots, how its money was split (each credit and
                                 reversal, and their net), every household it credited — masked as the page
                                 shows it — with its net and the payout batches that paid it, and the refunds

The same service as the page (`county.services.sales.sale_trace`); a line that is none is 404 `sale_not_found`.
No more personal data than the page: a household is its id, its head's masked name and its village; the
buyer is not named at all, the order only by its public code.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from county.services import sales
from shop.api import endpoint, ok

COUNTY = ("county",)


class SaleLotOut(BaseModel):
    code: str = Field(description="the lot's trace code (/trace/{code})")
    status: str = Field(description="active, expired or recalled")
    taken: int = Field(description="units of the line it supplied")


class SaleFigureOut(BaseModel):
    """One credit or reversal of the line's money, signed: sale_fen = household_fen + commission_fen +
    collective_fen + purchased_fen."""

    date: date
    ref: str = Field(description="'' a credit; 'refund:<id>' the reversal of that refund; 'kept:…' a kept fee")
    reversal: bool
    sale_fen: int
    household_fen: int
    commission_fen: int
    collective_fen: int
    purchased_fen: int


class SaleTotalsOut(BaseModel):
    """The net of the figures: what of the sale stays with whom, to the fen."""

    sale_fen: int
    household_fen: int
    commission_fen: int
    collective_fen: int
    purchased_fen: int


class SaleBatchOut(BaseModel):
    id: int
    code: str
    status: str = Field(description="the payout line's status in that batch")
    amount_fen: int = Field(description="what of the household's entries from this sale the batch pays")


class SaleHouseholdOut(BaseModel):
    id: int
    name: str = Field(description="the head's name, masked as on every county page")
    village: str
    credited_fen: int
    reversed_fen: int
    net_fen: int
    unpaid_fen: int = Field(description="of the net, what no payout batch pays yet")
    batches: list[SaleBatchOut]


class SaleRefundOut(BaseModel):
    id: int
    amount_fen: int
    state: str
    reason: str
    created_at: datetime


class SaleOut(BaseModel):
    line_id: int
    kind: Literal["product", "booking"]
    title: str = Field(description="the line's title as sold")
    product_name: str = Field(description="the product's (or the listing's) name today; '' when it is gone")
    variant_label: str
    product_id: int | None
    booking_id: str = Field(description="a booking line's booking code; '' for goods")
    check_in: date | None
    check_out: date | None
    order_id: str = Field(description="the order's public code")
    ordered_at: datetime
    station: str = Field(description="the selling station's name")
    status: str
    unit: str
    unit_price_fen: int
    quantity: int
    refunded_quantity: int
    line_total_fen: int
    commission_bps: int
    lots: list[SaleLotOut]
    figures: list[SaleFigureOut]
    totals: SaleTotalsOut
    households: list[SaleHouseholdOut]
    refunds: list[SaleRefundOut]


def sale_out(t: sales.SaleTrace) -> SaleOut:
    return SaleOut(
        line_id=t.line_id,
        kind=t.kind,
        title=t.title,
        product_name=t.product_name,
        variant_label=t.variant_label,
        product_id=t.product_id,
        booking_id=t.booking_code,
        check_in=t.check_in,
        check_out=t.check_out,
        order_id=t.order_code,
        ordered_at=t.ordered_at,
        station=t.station,
        status=t.status,
        unit=t.unit,
        unit_price_fen=t.unit_price_fen,
        quantity=t.quantity,
        refunded_quantity=t.refunded_quantity,
        line_total_fen=t.line_total_fen,
        commission_bps=t.commission_bps,
        lots=[SaleLotOut.model_validate(lot) for lot in t.lots],
        figures=[SaleFigureOut.model_validate(f) for f in t.figures],
        totals=SaleTotalsOut.model_validate(t.totals),
        households=[
            SaleHouseholdOut.model_validate({**h, "batches": [{**b, "amount_fen": b["fen"]} for b in h["batches"]]})
            for h in t.households
        ],
        refunds=[SaleRefundOut.model_validate({**r, "created_at": r["at"]}) for r in t.refunds],
    )


@endpoint(
    "/county/sales/<int:line_id>",
    response=SaleOut,
    roles=COUNTY,
    tags=("county",),
    summary="One sale traced (销售溯源): the line, its lots, its money's split, the households it credited "
    "(masked) with their net and payout batches, its refunds",
)
def county_sale(line_id: int):
    return ok(sale_out(sales.get_sale_trace(line_id)))
