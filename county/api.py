"""JSON API endpoints of the county package (added to shop.api's blueprint). Role county (admin passes)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from flask import Response, request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from catalog import changes
from catalog.changes import pending_changes
from county.services import approvals, benefits, payouts, reports, targets
from county.services.registry import get_household, household_row
from shop.api import QuerySchema, Schema, api_user, endpoint, ok
from shop.args import MAX_ID, ApiDate
from shop.db import commit
from shop.errors import Forbidden, NotFound, ValidationError
from shop.timeutil import now_utc

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

COUNTY = ("county",)


class RangeQuery(QuerySchema):
    model_config = QuerySchema.model_config | {"populate_by_name": True}
    date_from: ApiDate | None = Field(default=None, alias="from")
    date_to: ApiDate | None = Field(default=None, alias="to")

    @model_validator(mode="after")
    def _ordered(self):
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("'from' is after 'to'")
        return self


class IncomeQuery(RangeQuery):
    group_by: Literal["household", "village", "station", "category", "month", "kind"] = "household"


class IncomeRow(BaseModel):
    """One group. `sale_fen`/`tourism_fen`/`reversal_fen`/`recorded_fen` split the total by where the money came from,
    `kind_<benefit kind>_fen` by what the households earned (reversals inside the kind they reverse)."""

    key: int | str | None
    label: str
    sale_fen: int
    tourism_fen: int
    reversal_fen: int
    recorded_fen: int
    kind_sale_fen: int
    kind_purchase_fen: int
    kind_wage_fen: int
    kind_dividend_fen: int
    kind_rent_fen: int
    kind_collective_fen: int
    total_fen: int
    entries: int
    households: int


class SaleRow(BaseModel):
    """Where the money of the sales went, to the fen: sale_fen = household_fen (the households' consignment
    shares) + commission_fen (the platform's or station's) + collective_fen (the village collective's: the
    producer share of goods no household is linked to) + purchased_fen (units bought at intake, whose
    household was credited `purchase` then)."""

    key: int | str | None = None
    label: str = ""
    sale_fen: int
    household_fen: int
    commission_fen: int
    collective_fen: int
    purchased_fen: int
    lines: int


class SalesOut(BaseModel):
    #: village, station, category or month (station for the household and kind groupings)
    group_by: str
    rows: list[SaleRow]
    total: SaleRow


class IncomeOut(BaseModel):
    group_by: str
    date_from: date | None = Field(serialization_alias="from")
    date_to: date | None = Field(serialization_alias="to")
    rows: list[IncomeRow]
    total_fen: int
    entries: int
    households: int
    sales: SalesOut


class HouseholdOut(BaseModel):
    """Masked identity only."""

    id: int
    village_id: int
    village: str
    head_name: str
    registry_no: str
    phone: str
    members: int
    status: str


class EntryOut(BaseModel):
    id: int
    #: The record of a recorded benefit (order_line_id is then null).
    record_id: int | None = None
    entry_date: date
    #: What the household earned (its benefit kind); a reversal has the kind of the credit it reverses.
    kind: Literal["sale", "purchase", "wage", "dividend", "rent", "collective"]
    #: Where the money came from: sale (a product line), tourism (a booking), reversal (a refund of either),
    #: recorded (a benefit record: wages, purchases at intake, dividends, rents, collective shares).
    source: Literal["sale", "tourism", "reversal", "recorded"]
    order_line_id: int | None
    amount_fen: int
    balance_fen: int
    village: str
    station: str
    category: str


class HouseholdStatementOut(BaseModel):
    household: HouseholdOut
    date_from: date | None = Field(serialization_alias="from")
    date_to: date | None = Field(serialization_alias="to")
    opening_fen: int
    entries: list[EntryOut]
    total_fen: int
    closing_fen: int
    #: Paid to the household (bank confirmed), and still to pay (credited − reversed − paid), up to `to`.
    paid_fen: int
    payable_fen: int
    #: The part of `payable_fen` in a payout batch the bank has not answered yet.
    in_batch_fen: int


class BatchIn(Schema):
    period_from: date
    period_to: date
    village_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    township_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class PayoutLineOut(BaseModel):
    """Masked: the account number shows its last four digits only (`**** 0123`, `mask_account_no`)."""

    id: int
    ref: str
    household_id: int
    head_name: str
    village: str
    amount_fen: int
    status: str
    account_kind: str
    account_number: str
    bank_ref: str
    failure_reason: str


class BatchOut(BaseModel):
    id: int
    code: str
    period_from: date
    period_to: date
    scope: str
    status: str
    created: bool
    skipped_no_account: int
    lines: list[PayoutLineOut]
    total_fen: int
    paid_fen: int
    failed_fen: int
    pending_fen: int


class ResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # answered from the import's `payouts.ResultReport`

    paid: int
    failed: int
    unchanged: int


class TargetOut(BaseModel):
    key: str
    label: str
    label_en: str
    unit: str
    target: int
    actual: int
    percent: int
    met: bool


class TargetsOut(BaseModel):
    items: list[TargetOut]


class ProductDecisionIn(Schema):
    # the length is the service's rule (`catalog.services.decision_note`: 422 decision_note_too_long)
    reason: str = ""
    note: str = ""


class ProductDecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # answered from the product row

    id: int
    name: str
    approval_status: str
    approval_note: str


@endpoint(
    "/county/income",
    query=IncomeQuery,
    response=IncomeOut,
    roles=COUNTY,
    tags=("county",),
    summary="Income credited to households, grouped, for a date range (Beijing dates, inclusive)",
)
def county_income(query: IncomeQuery):
    rows, totals = reports.income_report(query.group_by, query.date_from, query.date_to)
    sales = reports.sale_figures(query.group_by, query.date_from, query.date_to)
    out = IncomeOut(
        group_by=query.group_by,
        date_from=query.date_from,
        date_to=query.date_to,
        rows=[IncomeRow(**r) for r in rows],
        sales=SalesOut(
            group_by=sales["group_by"], rows=[SaleRow(**r) for r in sales["rows"]], total=SaleRow(**sales["total"])
        ),
        **totals,
    )
    return ok(out.model_dump(mode="json", by_alias=True))


@endpoint(
    "/county/households/<int:household_id>/statement",
    query=RangeQuery,
    response=HouseholdStatementOut,
    roles=COUNTY,
    tags=("county",),
    summary="A household's statement: every entry with its kind, the total, and what of it is paid and payable",
)
def county_household_statement(household_id: int, query: RangeQuery):
    household = get_household(household_id)
    statement = reports.household_statement(household, query.date_from, query.date_to)
    out = HouseholdStatementOut(
        household=HouseholdOut(**household_row(household)),
        date_from=query.date_from,
        date_to=query.date_to,
        opening_fen=statement.opening_fen,
        # the ledger's column names (`IncomeEntry.benefit_kind`, `.kind`) are the API's kind and source
        entries=[EntryOut(**{**e, "kind": e["benefit_kind"], "source": e["kind"]}) for e in statement.entries],
        total_fen=statement.total_fen,
        closing_fen=statement.closing_fen,
        **{
            k: v
            for k, v in payouts.household_payout_figures(household.id, until=query.date_to).items()
            if k in ("paid_fen", "payable_fen", "in_batch_fen")
        },
    )
    return ok(out.model_dump(mode="json", by_alias=True))


def _batch_out(batch, *, created: bool = False) -> BatchOut:
    totals = payouts.batch_totals(batch)
    return BatchOut(
        id=batch.id,
        code=batch.code,
        period_from=batch.period_from,
        period_to=batch.period_to,
        scope=batch.scope,
        status=batch.status,
        created=created,
        skipped_no_account=batch.skipped_no_account,
        lines=[
            PayoutLineOut(**{k: v for k, v in row.items() if k in PayoutLineOut.model_fields})
            for row in payouts.batch_lines(batch)
        ],
        total_fen=totals["total_fen"],
        paid_fen=totals["paid_fen"],
        failed_fen=totals["failed_fen"],
        pending_fen=totals["pending_fen"],
    )


@endpoint(
    "/county/payouts",
    methods=("POST",),
    body=BatchIn,
    response=BatchOut,
    roles=COUNTY,
    tags=("county",),
    errors=(409,),
    summary="Create the payout batch of a period (county, or one township or village); "
    "the same period and scope again returns that batch (created: false); nothing payable makes no batch "
    "(409 payout_no_account with fields.skipped_no_account, payout_credited_later, or payout_nothing_payable)",
)
def county_create_payout(body: BatchIn):
    result = payouts.create_batch(
        period_from=body.period_from,
        period_to=body.period_to,
        village_id=body.village_id,
        township_id=body.township_id,
        actor=api_user(),
        now=now_utc(),
    )
    commit()
    return ok(_batch_out(result.batch, created=result.created))


@endpoint(
    "/county/payouts/<int:batch_id>",
    response=BatchOut,
    roles=COUNTY,
    tags=("county",),
    summary="A payout batch with its lines (account numbers masked)",
)
def county_payout(batch_id: int):
    return ok(_batch_out(payouts.get_batch(batch_id)))


@endpoint(
    "/county/payouts/<int:batch_id>/export.xlsx",
    roles=COUNTY,
    tags=("county",),
    produces=XLSX,
    errors=(409,),
    summary="The bank's batch-payment workbook of the batch's pending lines (audited)",
)
def county_payout_export(batch_id: int):
    batch = payouts.get_batch(batch_id, lock=True)
    body = payouts.export_batch(batch, actor=api_user(), now=now_utc())
    commit()
    response = Response(body, mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{batch.code}.xlsx"'
    response.headers["Cache-Control"] = "no-store"
    return response


@endpoint(
    "/county/payouts/<int:batch_id>/result",
    methods=("POST",),
    response=ResultOut,
    roles=COUNTY,
    tags=("county",),
    upload="file",
    summary="Import the bank's result file (XLSX): paid lines get the bank reference, failed lines are "
    "payable again; a file with any bad row changes nothing; the same file twice changes nothing",
)
def county_payout_result(batch_id: int):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError("bank_file_required", fields={"file": "required"})
    batch = payouts.get_batch(batch_id)
    report = payouts.import_result(batch, upload.stream, actor=api_user(), now=now_utc())
    commit()
    return ok(ResultOut.model_validate(report, from_attributes=True))


@endpoint(
    "/county/targets",
    response=TargetsOut,
    roles=COUNTY,
    tags=("county",),
    summary="The plan's targets with live progress",
)
def county_targets():
    return ok(TargetsOut(items=[TargetOut(**t) for t in targets.progress()]))


def _decision(product) -> ProductDecisionOut:
    return ProductDecisionOut.model_validate(product, from_attributes=True)


@endpoint(
    "/county/products/<int:product_id>/approve",
    methods=("POST",),
    body=ProductDecisionIn,
    response=ProductDecisionOut,
    roles=COUNTY,
    tags=("county",),
    errors=(409,),
    summary="Approve a pending product as a poverty-alleviation product (扶贫产品认定)",
)
def county_approve_product(product_id: int, body: ProductDecisionIn):
    return _decide_product(product_id, approvals.approve, note=body.note or body.reason)


@endpoint(
    "/county/products/<int:product_id>/reject",
    methods=("POST",),
    body=ProductDecisionIn,
    response=ProductDecisionOut,
    roles=COUNTY,
    tags=("county",),
    errors=(409,),
    summary="Reject a pending product, with a reason",
)
def county_reject_product(product_id: int, body: ProductDecisionIn):
    return _decide_product(product_id, approvals.reject, reason=body.reason or body.note)


def _decide_product(product_id: int, decide, **text: str):
    """Lock the product, `decide` it (`approvals.approve` or `approvals.reject`, which audit), commit,
    answer the decision."""
    product = approvals.get_product(product_id, lock=True)
    decide(product, actor=api_user(), now=now_utc(), **text)
    commit()
    return ok(_decision(product))


# --- re-certification of approved products (catalog.changes, the same services as the 认定 page) --------


class CertifiedFacts(BaseModel):
    name: str | None
    unit: str | None
    price_fen: int | None
    #: A new photo waiting for approval (`new` only): its stored path.
    image_path: str | None = None


class ProductChangeOut(BaseModel):
    """A change to an approved product's certified facts: `old` is what the shop sells now, `new`
    what the operator asked for (null where unchanged)."""

    id: int
    product_id: int
    status: Literal["pending", "approved", "rejected"]
    old: CertifiedFacts
    new: CertifiedFacts
    requested_at: datetime
    decided_at: datetime | None
    decision_note: str


class ProductChangesOut(BaseModel):
    items: list[ProductChangeOut]


class ChangeRejectIn(Schema):
    # the length is the service's rule (`catalog.services.decision_note`: 422 decision_note_too_long)
    reason: str = Field(min_length=1)


class ChangeApproveIn(Schema):
    note: str = ""


def _change_out(change) -> dict:
    return ProductChangeOut(
        id=change.id,
        product_id=change.product_id,
        status=change.status,
        old=CertifiedFacts(name=change.old_name, unit=change.old_unit, price_fen=change.old_price_fen),
        new=CertifiedFacts(
            name=change.name, unit=change.unit, price_fen=change.price_fen, image_path=change.image_path
        ),
        requested_at=change.requested_at,
        decided_at=change.decided_at,
        decision_note=change.decision_note or "",
    ).model_dump(mode="json")


@endpoint(
    "/county/product-changes",
    response=ProductChangesOut,
    roles=COUNTY,
    tags=("county",),
    summary="Changes to approved products waiting for re-certification, old beside new",
)
def county_product_changes():
    return ok({"items": [_change_out(c) for c in pending_changes()]})


@endpoint(
    "/county/product-changes/<int:change_id>/approve",
    methods=("POST",),
    body=ChangeApproveIn,
    response=ProductChangeOut,
    roles=COUNTY,
    tags=("county",),
    errors=(409,),
    summary="Re-certify: the product sells with the new facts from now on (audited)",
)
def county_approve_product_change(change_id: int, body: ChangeApproveIn):
    return _decide_change(change_id, changes.approve_change, note=body.note)


@endpoint(
    "/county/product-changes/<int:change_id>/reject",
    methods=("POST",),
    body=ChangeRejectIn,
    response=ProductChangeOut,
    roles=COUNTY,
    tags=("county",),
    errors=(409,),
    summary="Reject a change with a reason: the approved version stays on sale (audited)",
)
def county_reject_product_change(change_id: int, body: ChangeRejectIn):
    return _decide_change(change_id, changes.reject_change, reason=body.reason)


def _decide_change(change_id: int, decide, **text: str):
    """`decide` a product change (`changes.approve_change` or `changes.reject_change`, which lock and
    audit), commit, answer the change as it now stands."""
    decide(changes.get_change(change_id), actor=api_user(), now=now_utc(), **text)
    commit()
    return ok(_change_out(changes.get_change(change_id)))


class RecordLineIn(Schema):
    household_id: int = Field(ge=1, le=MAX_ID)
    member_no: int | None = Field(default=None, ge=1, le=30)
    units: int | None = Field(default=None, ge=1, le=100_000)
    quantity: int | None = Field(default=None, ge=1, le=1_000_000)
    rate_fen: int | None = Field(default=None, ge=1, le=100_000_000)
    shares: int | None = Field(default=None, ge=1, le=10_000_000)
    amount_fen: int | None = Field(default=None, ge=1, le=100_000_000)


class RecordIn(Schema):
    """wage: lines {household_id, member_no, units, rate_fen} and `unit` (day|hour); purchase: {household_id,
    quantity, rate_fen (unit price)}; rent: {household_id, amount_fen}; dividend and collective: `total_fen`,
    `shares_total` and lines {household_id, shares} (the shares must add up to shares_total)."""

    kind: Literal["purchase", "wage", "dividend", "rent", "collective"]
    period_from: date
    period_to: date
    description: str = Field(min_length=1, max_length=120)
    unit: Literal["day", "hour"] = "day"
    station_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    listing_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    total_fen: int | None = Field(default=None, ge=1, le=100_000_000)
    shares_total: int | None = Field(default=None, ge=1, le=100_000_000)
    lines: list[RecordLineIn] = Field(min_length=1, max_length=500)


class RecordOut(BaseModel):
    id: int
    kind: str
    period_from: date
    period_to: date
    description: str
    station_id: int | None
    listing_id: int | None
    total_fen: int
    lines: list[dict]


def _record_out(record) -> RecordOut:
    return RecordOut(
        id=record.id,
        kind=record.kind,
        period_from=record.period_from,
        period_to=record.period_to,
        description=record.description,
        station_id=record.station_id,
        listing_id=record.listing_id,
        total_fen=record.total_fen,
        lines=record.detail.get("lines", []),
    )


@endpoint(
    "/county/benefits",
    methods=("POST",),
    body=RecordIn,
    response=RecordOut,
    roles=("county", "operator", "host"),
    tags=("county",),
    summary="Record purchases at intake, wages, dividends, rents or a collective distribution: validated, "
    "credited to the households' ledgers and audited (operators: their station; hosts: their listing)",
)
def county_record_benefit(body: RecordIn):
    user = api_user()
    if not benefits.can_record(user, station_id=body.station_id, listing_id=body.listing_id):
        raise Forbidden("benefit_scope_forbidden")
    data = benefits.RecordData(
        kind=body.kind,
        period_from=body.period_from,
        period_to=body.period_to,
        description=body.description,
        unit=body.unit,
        station_id=body.station_id,
        listing_id=body.listing_id,
        total_fen=body.total_fen,
        shares_total=body.shares_total,
        lines=[benefits.RecordLine(**line.model_dump()) for line in body.lines],
    )
    record = benefits.record_benefit(data, actor=user, now=now_utc())
    commit()
    return ok(_record_out(record))


@endpoint(
    "/county/benefits/<int:record_id>",
    response=RecordOut,
    roles=("county", "operator", "host"),
    tags=("county",),
    summary="A benefit record with what each line credited",
)
def county_benefit_record(record_id: int):
    record = benefits.get_record(record_id)
    if not benefits.can_record(api_user(), station_id=record.station_id, listing_id=record.listing_id):
        raise NotFound("benefit_entry_not_found")
    return ok(_record_out(record))
