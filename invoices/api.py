"""API of invoices (发票): the buyer asks for one per order or per period, reads and downloads it; the
selling station records the invoice it issued (number, date, amount, PDF/OFD file) and the red invoice
after a refund. Same services as the pages. An invoice is visible to whoever asked, its organisation's
members with rights, the issuing station and the county office; to anyone else it does not exist (404)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from flask import Response, request
from pydantic import BaseModel, Field

from invoices.files import absolute_path
from invoices.models import Invoice
from invoices.services import invoices as svc
from shop.api import QuerySchema, Schema, api_user, committed, endpoint, ok
from shop.args import MAX_ID
from shop.auth.permissions import can_manage_station
from shop.errors import Forbidden, NotFound
from shop.money import MAX_FEN
from shop.timeutil import now_utc

BUYER_TAGS = ("orders",)
STATION_TAGS = ("stations",)
KindName = Literal["ordinary", "special"]


class DetailsIn(Schema):
    kind: KindName = Field(description="ordinary (普通发票) or special (专用发票)")
    # the service refuses a title past TITLE_MAX with its own code (the form's rule); pydantic only bounds what is read
    title: str = Field(
        max_length=1000,
        description=f"抬头, at most {svc.TITLE_MAX} characters (spaces around it not counted): longer is a 422 "
        "`invoice_title_too_long` naming the limit, empty `invoice_title_required`",
        json_schema_extra={"maxLength": svc.TITLE_MAX},
    )
    tax_number: str = Field(
        default="",
        max_length=40,
        description="税号: 15, 17, 18 (a valid 统一社会信用代码) or 20 characters; required for 专票",
    )
    address: str = Field(default="", max_length=400, description="required for 专票")
    phone: str = Field(default="", max_length=40, description="required for 专票")
    bank: str = Field(default="", max_length=200, description="开户行, required for 专票")
    account: str = Field(default="", max_length=80, description="银行账号, required for 专票")

    def details(self) -> svc.InvoiceDetails:
        return svc.InvoiceDetails(**self.model_dump())


class PeriodRequestIn(DetailsIn):
    from_: date = Field(alias="from", description="first day of the period (Beijing date)")
    to: date = Field(description="last day of the period, at most one year after `from`, not in the future")
    organisation_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="the organisation's purchase orders (a member with rights); null: the caller's own "
        "retail orders; omitted: as the period page starts, the first organisation the caller approves for, "
        "else the caller's own retail orders",
    )

    def details(self) -> svc.InvoiceDetails:
        return svc.InvoiceDetails(**self.model_dump(exclude={"from_", "to", "organisation_id"}))


class InvoiceOrderOut(BaseModel):
    order_code: str
    amount_fen: int


class InvoiceOut(BaseModel):
    id: int
    station_id: int
    organisation_id: int | None
    scope: Literal["order", "period"]
    period_from: date | None
    period_to: date | None
    kind: KindName
    status: Literal["requested", "issued", "not_needed"] = Field(
        description="requested (待开票): the station has still to issue it; issued (已开票): recorded by the "
        "station; not_needed (无需开票): a request with nothing left to invoice, the station's part of its "
        "orders refunded or canceled since it was asked (closed: issuing it is refused, 409 `invoice_not_needed`). "
        "An invoice issued before a refund stays issued and asks for a red invoice (`red_due_fen`)"
    )
    title: str
    tax_number: str
    number: str | None
    issued_on: date | None
    amount_fen: int | None = Field(description="negative for a red invoice (红字发票)")
    file_format: str = Field(description="pdf, ofd, or empty when no file")
    red_of_id: int | None
    red_due_fen: int = Field(description="what a refund after invoicing asks to reverse by a red invoice")
    available_fen: int = Field(description="for a request: what the station may issue now (paid − refunded − invoiced)")
    orders: list[InvoiceOrderOut]
    created_at: datetime


class InvoiceListOut(BaseModel):
    items: list[InvoiceOut]


def invoice_out(invoice: Invoice, figures: svc.InvoiceFigures | None = None) -> InvoiceOut:
    """`figures`: the invoice's of a list (`svc.figures_of`, the whole list's at once); computed alone else."""
    figures = figures or svc.figures_of([invoice])[invoice.id]
    return InvoiceOut(
        id=invoice.id,
        station_id=invoice.station_id,
        organisation_id=invoice.organisation_id,
        scope=invoice.scope,
        period_from=invoice.period_from,
        period_to=invoice.period_to,
        kind=invoice.kind,
        status=figures.state,
        title=invoice.title,
        tax_number=invoice.tax_number,
        number=invoice.number,
        issued_on=invoice.issued_on,
        amount_fen=invoice.amount_fen,
        file_format=invoice.file_format,
        red_of_id=invoice.red_of_id,
        red_due_fen=figures.red_due_fen,
        available_fen=figures.available_fen,
        orders=[InvoiceOrderOut(order_code=link.order.code, amount_fen=link.amount_fen) for link in invoice.orders],
        created_at=invoice.created_at,
    )


def invoice_list_out(invoices: list[Invoice]) -> InvoiceListOut:
    """A list of invoices, their figures read for all of them at once (`svc.figures_of`)."""
    figures = svc.figures_of(invoices)
    return InvoiceListOut(items=[invoice_out(i, figures[i.id]) for i in invoices])


@endpoint(
    "/orders/<code>/invoice-request",
    ("POST",),
    body=DetailsIn,
    response=InvoiceListOut,
    status=201,
    auth=True,
    tags=BUYER_TAGS,
    summary="Ask for the invoice of an order (its buyer, or a member with rights of the organisation that bought it); "
    "one request per selling station; the order shows 待开票 until issued",
    load=lambda user, code: svc.get_order_for_invoice(code, user),  # another's order: 404 whatever the body
)
def request_order_invoice(code: str, body: DetailsIn, loaded):
    user, order = api_user(), loaded
    created = svc.request_for_order(order, body.details(), user=user, now=now_utc())
    return committed(InvoiceListOut(items=[invoice_out(i) for i in created]), 201)


@endpoint(
    "/invoice-requests",
    ("POST",),
    body=PeriodRequestIn,
    response=InvoiceListOut,
    status=201,
    auth=True,
    tags=BUYER_TAGS,
    errors=(403,),
    summary="Ask for invoices over a period: the paid, not yet invoiced orders of the caller (or of an organisation "
    "where the caller has rights; omitted, an approver's organisation as on the period page), one invoice per "
    "selling station",
)
def request_period_invoice(body: PeriodRequestIn):
    user = api_user()
    if "organisation_id" in body.model_fields_set:
        organisation_id = body.organisation_id  # null: the caller's own retail orders
    else:  # omitted: where the period page starts (an approver: their organisation's orders)
        organisation_id = svc.default_period_organisation_id(svc.invoice_organisations(user))
    created = svc.request_for_period(
        body.details(), start=body.from_, end=body.to, organisation_id=organisation_id, user=user, now=now_utc()
    )
    return committed(InvoiceListOut(items=[invoice_out(i) for i in created]), 201)


@endpoint(
    "/invoices",
    response=InvoiceListOut,
    auth=True,
    tags=BUYER_TAGS,
    summary="The caller's invoices and those of the organisations where the caller has rights, newest first",
)
def list_invoices():
    return ok(invoice_list_out(svc.invoices_of(api_user())))


@endpoint(
    "/invoices/<int:invoice_id>",
    response=InvoiceOut,
    auth=True,
    tags=BUYER_TAGS,
    summary="One invoice (who asked, the organisation's members with rights, the issuing station, county; else 404)",
)
def get_invoice(invoice_id: int):
    return ok(invoice_out(svc.get_visible_invoice(invoice_id, api_user())))


@endpoint(
    "/invoices/<int:invoice_id>/file",
    auth=True,
    tags=BUYER_TAGS,
    produces="application/octet-stream",
    summary="Download the invoice's file (PDF or OFD), for those who may see the invoice",
)
def download_invoice(invoice_id: int):
    invoice = svc.get_visible_invoice(invoice_id, api_user())
    if not invoice.file_path:
        raise NotFound("invoice_not_found")
    with open(absolute_path(invoice.file_path), "rb") as f:
        data = f.read()
    response = Response(data, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="invoice-{invoice.number}.{invoice.file_format}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


class IssueQuery(QuerySchema):
    number: str = Field(max_length=40, description="the invoice number: 8 to 20 digits, unique")
    issued_on: date = Field(description="the date on the invoice")
    # bounded only against numbers no column holds (shop.args.MAX_ID): the service refuses the rest, as it
    # refuses the form's typed yuan (one ceiling, shop.money.MAX_FEN)
    amount_fen: int = Field(
        ge=-MAX_ID,
        le=MAX_ID,
        description=f"at most what is left to invoice (paid − refunded − invoiced) and at most {MAX_FEN} "
        "(¥10,000,000,000, the most any amount may be), else a 422 `invoice_invalid_amount` (above what is "
        "left: a 409 `invoice_exceeds_paid`); negative for a red invoice (down to "
        f"-{MAX_FEN}, else a 422 `invoice_red_exceeds`)",
        json_schema_extra={"minimum": -MAX_FEN, "maximum": MAX_FEN},
    )


@endpoint(
    "/invoices/<int:invoice_id>/issue",
    ("POST",),
    query=IssueQuery,
    response=InvoiceOut,
    auth=True,
    tags=STATION_TAGS,
    errors=(403,),
    upload="file",
    summary="The selling station records the invoice it issued: number, date, amount (query) and the file "
    "(multipart `file`, PDF or OFD, checked by content, at most MAX_UPLOAD_BYTES); audited",
    load=lambda user, invoice_id: svc.get_visible_invoice(invoice_id, user),  # 404 before the query is read
)
def issue_invoice(invoice_id: int, query: IssueQuery, loaded):
    return _record_issued(loaded, query, svc.issue_invoice)


@endpoint(
    "/invoices/<int:invoice_id>/red",
    ("POST",),
    query=IssueQuery,
    response=InvoiceOut,
    status=201,
    auth=True,
    tags=STATION_TAGS,
    errors=(403,),
    upload="file",
    summary="The station records a red invoice (红字发票) against an issued invoice: number, date, a negative amount "
    "(query) and its file; audited",
    load=lambda user, invoice_id: svc.get_visible_invoice(invoice_id, user),  # 404 before the query is read
)
def red_invoice(invoice_id: int, query: IssueQuery, loaded):
    return _record_issued(loaded, query, svc.record_red_invoice, status=201)


def _record_issued(invoice, query: IssueQuery, record, *, status: int = 200):
    """What the station issued outside the system (`record`: the invoice, or a red one against it),
    with its uploaded file; committed, and answered as the invoice recorded."""
    user = api_user()
    data = svc.IssuedData(number=query.number, issued_on=query.issued_on, amount_fen=query.amount_fen)
    recorded = record(invoice, data, request.files.get("file"), actor=user, now=now_utc())
    return committed(invoice_out(recorded), status)


class StationInvoicesQuery(QuerySchema):
    station_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="the station (an admin's choice); an operator's own by default, another station is a 403",
    )


@endpoint(
    "/station/invoices",
    query=StationInvoicesQuery,
    response=InvoiceListOut,
    roles=("operator",),
    tags=STATION_TAGS,
    summary="The station's invoice requests waiting (待开票) first, then its issued invoices with any red invoice due "
    "and its requests with nothing left to invoice (not_needed, 无需开票)",
)
def station_invoices(query: StationInvoicesQuery):
    user = api_user()
    station_id = query.station_id or user.station_id
    if station_id is not None and not can_manage_station(user, station_id):
        raise Forbidden("not_your_station")  # another station's invoices: refused, not replaced by the caller's own
    items = svc.station_invoices(station_id) if station_id else []
    return ok(invoice_list_out(items))
