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

from county.services import sales
from shop.api import endpoint, model_of, ok

COUNTY = ("county",)

# The answer is the service's `SaleTrace` as it stands: its dataclasses list (and describe) the fields.
SaleLotOut = model_of(sales.SaleLot, "SaleLotOut")
SaleFigureOut = model_of(sales.SaleFigureRow, "SaleFigureOut")
SaleTotalsOut = model_of(sales.SaleTotals, "SaleTotalsOut")
SaleBatchOut = model_of(sales.SaleBatch, "SaleBatchOut")
SaleHouseholdOut = model_of(sales.SaleHousehold, "SaleHouseholdOut", batches=list[SaleBatchOut])
SaleRefundOut = model_of(sales.SaleRefund, "SaleRefundOut")
SaleOut = model_of(
    sales.SaleTrace,
    "SaleOut",
    lots=list[SaleLotOut],
    figures=list[SaleFigureOut],
    totals=SaleTotalsOut,
    households=list[SaleHouseholdOut],
    refunds=list[SaleRefundOut],
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
    return ok(SaleOut.model_validate(sales.get_sale_trace(line_id), from_attributes=True))
