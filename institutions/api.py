"""API of institutional buying: organisations (register, read, members, the county office's decision),
bulk purchases (draft, submit, approve — placed as orders —, reject) and quote requests (询价: ask the
selling station, its answer, accepted into a draft purchase at the quoted price).

Same services as the pages. An organisation is visible to its members, the county office and admins;
to anyone else it does not exist (404)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AliasPath, BaseModel, ConfigDict, Field

from institutions.models import Organisation, Purchase, PurchaseStatus
from institutions.services import organisations as orgs
from institutions.services import purchases, quotes, statements
from orders.services import transfers
from orders.services.placement import AddressData
from shop.api import QuerySchema, Schema, api_user, committed, endpoint, ok
from shop.args import MAX_ID
from shop.errors import DomainError, ValidationError
from shop.timeutil import local_date, now_utc

TAGS = ("organisations",)
Kind = Literal["budget_unit", "union", "company", "other"]
MemberRoleName = Literal["buyer", "approver", "viewer"]


class OrganisationIn(Schema):
    name: str = Field(max_length=200, description="the organisation's registered name (at most 100 characters)")
    kind: Kind = Field(description="budget_unit (预算单位), union (工会), company (企业) or other (其他)")
    credit_code: str = Field(max_length=40, description="统一社会信用代码: 18 characters, GB 32100 check character")
    address: str = Field(max_length=400, description="at most 200 characters")
    contact_name: str = Field(max_length=80, description="at most 40 characters")
    contact_phone: str = Field(max_length=40, description="a mobile number or a landline with its area code")


class MemberIn(Schema):
    email: str = Field(max_length=254, description="the login e-mail of an existing buyer account")
    role: MemberRoleName


def limited_text(limit: int, description: str, **field: Any) -> Any:
    """A text whose limit is the service's rule (the page's too), refused past it with the service's own code
    naming the limit: the spec says `limit` (`maxLength`); pydantic only bounds what is read, at twice that, as
    the invoice title's and `HostCancelIn.reason`'s. `description` says the limit and the code."""
    return Field(max_length=limit * 2, description=description, json_schema_extra={"maxLength": limit}, **field)


#: What the spec says of a note (a purchase's, a quote request's, a station's answer), the limit `quotes.MAX_NOTE`.
NOTE_LIMIT = (
    f"at most {quotes.MAX_NOTE} characters once its spaces are collapsed: longer is a 422 `note_too_long` naming "
    "the limit"
)


class OrganisationDecisionIn(Schema):
    reason: str = limited_text(
        orgs.MAX_DECISION_REASON,
        f"required to reject; at most {orgs.MAX_DECISION_REASON} characters once its spaces are collapsed: longer "
        "is a 422 `reason_too_long` naming the limit, a rejection without one `rejection_reason_required`",
        default="",
    )


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # answered from the membership row and its user

    user_id: int
    name: str = Field(validation_alias=AliasPath("user", "name"))
    email: str = Field(validation_alias=AliasPath("user", "email"))
    role: MemberRoleName
    is_manager: bool


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # answered from the organisation row

    id: int
    name: str
    kind: Kind
    credit_code: str
    address: str
    contact_name: str
    contact_phone: str
    status: Literal["pending", "approved", "rejected"]
    decision_reason: str
    decided_at: datetime | None
    created_at: datetime
    members: list[MemberOut]


def organisation_out(organisation: Organisation) -> OrganisationOut:
    return OrganisationOut.model_validate(organisation, from_attributes=True)


def member_out(member) -> MemberOut:
    return MemberOut.model_validate(member, from_attributes=True)


@endpoint(
    "/organisations",
    ("POST",),
    body=OrganisationIn,
    response=OrganisationOut,
    status=201,
    auth=True,
    tags=TAGS,
    errors=(403, 409),
    summary="Register an organisation (a buyer account; it waits for the county office's verification)",
)
def create_organisation(body: OrganisationIn):
    organisation = orgs.register_organisation(
        orgs.OrganisationData(**body.model_dump()), user=api_user(), now=now_utc()
    )
    return committed(organisation_out(organisation), 201)


@endpoint(
    "/organisations/<int:organisation_id>/resubmit",
    ("POST",),
    body=OrganisationIn,
    response=OrganisationOut,
    auth=True,
    tags=TAGS,
    errors=(403, 404, 409),
    summary="Its manager corrects a rejected registration (checked as a registration is) and submits it again: "
    "pending for the county office once more (audited); another member 403, a registration not rejected 409 "
    "organisation_not_rejected, another user's organisation 404",
    load=lambda user, organisation_id: orgs.get_visible_organisation(
        organisation_id, user
    ),  # 404 before the body is read
)
def resubmit_organisation(organisation_id: int, body: OrganisationIn, loaded):
    user = api_user()
    organisation = orgs.resubmit_organisation(
        loaded,
        orgs.OrganisationData(**body.model_dump()),
        user=user,
        now=now_utc(),
    )
    return committed(organisation_out(organisation))


@endpoint(
    "/organisations/<int:organisation_id>",
    response=OrganisationOut,
    auth=True,
    tags=TAGS,
    summary="An organisation with its members (its members, the county office and admins; else 404)",
)
def get_organisation(organisation_id: int):
    return ok(organisation_out(orgs.get_visible_organisation(organisation_id, api_user())))


@endpoint(
    "/organisations/<int:organisation_id>/members",
    ("POST",),
    body=MemberIn,
    response=MemberOut,
    status=201,
    auth=True,
    tags=TAGS,
    errors=(403, 409),
    summary="A manager of the organisation adds an account as buyer, approver or viewer (or changes its role)",
    load=lambda user, organisation_id: orgs.get_visible_organisation(
        organisation_id, user
    ),  # 404 before the body is read
)
def add_organisation_member(organisation_id: int, body: MemberIn, loaded):
    user = api_user()
    organisation = loaded
    member = orgs.add_member(organisation, email=body.email, role=body.role, actor=user, now=now_utc())
    return committed(member_out(member), 201)


class MemberRightsIn(Schema):
    role: MemberRoleName | None = Field(
        default=None, description="buyer, approver or viewer; omitted or null keeps the member's role"
    )
    is_manager: bool | None = Field(
        default=None,
        description="whether the member manages the organisation (adds, removes and changes members, corrects "
        "its registration); omitted or null keeps it",
    )


@endpoint(
    "/organisations/<int:organisation_id>/members/<int:user_id>",
    ("PATCH",),
    body=MemberRightsIn,
    response=MemberOut,
    auth=True,
    tags=TAGS,
    errors=(403, 404, 409),
    summary="A manager of the organisation (or an admin) changes a member's rights: its role and is_manager, its "
    "own too (audited unless nothing changes; counted from the member's next request). Another member 403 "
    "member_rights_forbidden, a member it does not have 404 member_not_found, the right of its only manager 409 "
    "organisation_needs_manager_kept, of its only approver 409 organisation_needs_approver; another user's "
    "organisation 404 before the body is read",
    load=lambda user, organisation_id, user_id: orgs.get_visible_organisation(organisation_id, user),
)
def change_organisation_member_rights(organisation_id: int, user_id: int, body: MemberRightsIn, loaded):
    member = orgs.change_member_rights(
        loaded, user_id=user_id, role=body.role, is_manager=body.is_manager, actor=api_user(), now=now_utc()
    )
    return committed(member_out(member))


class MemberRemovedOut(BaseModel):
    organisation_id: int
    user_id: int
    removed: bool


@endpoint(
    "/organisations/<int:organisation_id>/members/<int:user_id>",
    ("DELETE",),
    response=MemberRemovedOut,
    auth=True,
    tags=TAGS,
    errors=(403, 404, 409),
    summary="A manager of the organisation (or an admin) removes a member, or a member leaves (its own user_id); "
    "audited. From the next request the account gets what a stranger gets (404) of the organisation, its "
    "purchases, quotes and invoices; what it did for the organisation (purchases, their orders) stays the "
    "organisation's. Another member removing someone 403 member_remove_forbidden, a member it does not have 404 "
    "member_not_found, its only manager 409 organisation_needs_manager, its only approver 409 "
    "organisation_needs_approver_left; another user's organisation 404",
    load=lambda user, organisation_id, user_id: orgs.get_visible_organisation(organisation_id, user),
)
def remove_organisation_member(organisation_id: int, user_id: int, loaded):
    orgs.remove_member(loaded, user_id=user_id, actor=api_user(), now=now_utc())
    return committed(MemberRemovedOut(organisation_id=organisation_id, user_id=user_id, removed=True))


@endpoint(
    "/organisations/<int:organisation_id>/approve",
    ("POST",),
    body=OrganisationDecisionIn,
    response=OrganisationOut,
    roles=("county",),
    tags=TAGS,
    errors=(409,),
    summary="The county office verifies a pending organisation (audited)",
)
def approve_organisation(organisation_id: int, body: OrganisationDecisionIn):
    return _decide_organisation(organisation_id, body, approve=True)


@endpoint(
    "/organisations/<int:organisation_id>/reject",
    ("POST",),
    body=OrganisationDecisionIn,
    response=OrganisationOut,
    roles=("county",),
    tags=TAGS,
    errors=(409,),
    summary="The county office refuses a pending organisation with a reason (audited)",
)
def reject_organisation(organisation_id: int, body: OrganisationDecisionIn):
    return _decide_organisation(organisation_id, body, approve=False)


def _decide_organisation(organisation_id: int, body: OrganisationDecisionIn, *, approve: bool):
    """The county office's decision on a pending organisation (the service audits it), answered."""
    user = api_user()
    organisation = orgs.decide_organisation(
        orgs.get_visible_organisation(organisation_id, user),
        approve=approve,
        reason=body.reason,
        actor=user,
        now=now_utc(),
    )
    return committed(organisation_out(organisation))


# --- purchases ------------------------------------------------------------------------------------


class PurchaseItemIn(Schema):
    """A product and a quantity. No price: prices are the catalogue's or a station's accepted quote,
    never the client's (a body naming one is refused, 422)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    product_id: int = Field(ge=1, le=MAX_ID)
    # bounded only against numbers no column holds (shop.args.MAX_ID): the service refuses the rest by the line
    quantity: int = Field(
        ge=-MAX_ID,
        le=MAX_ID,
        description="a whole number from 1 to 999 (the retail line limit; the lines of one product at one "
        "address together too); another is refused (422 purchase_row_quantity, `fields` naming the line — "
        "destinations.{i}.items.{j}.quantity or items.{j}.quantity — and its product_id), nothing saved",
        json_schema_extra={"minimum": 1, "maximum": 999},
    )


class PurchaseAddressIn(Schema):
    name: str = Field(max_length=80)
    phone: str = Field(max_length=40, description="the receiver's mobile number")
    province: str = Field(max_length=40)
    city: str = Field(max_length=40)
    district: str = Field(max_length=40)
    line: str = Field(max_length=400)


class DestinationIn(Schema):
    label: str = Field(max_length=80, description="what the organisation calls the place (东校区食堂), at most 40")
    address: PurchaseAddressIn
    items: list[PurchaseItemIn] = Field(max_length=50)


class PurchaseDraftIn(Schema):
    """A draft's content: what a new purchase holds and what its author's edit replaces."""

    delivery: Literal["ship", "pickup"]
    requested_date: date = Field(description="the delivery date asked for (today to a year ahead, Beijing time)")
    payment_method: Literal["card", "station_cash", "cod", "bank_transfer"] = Field(
        description="how the placed orders are paid; the retail rules apply (card only when enabled; "
        "pay-later orders have per-line and open-order limits). bank_transfer (对公转账): each order waits "
        "unpaid, showing the payee's account and the reference to quote, until the county office or the "
        "selling station records the transfer (POST /orders/{code}/bank-transfer); unpaid card and "
        "bank-transfer orders of a purchase expire after INSTITUTIONAL_PAYMENT_DAYS"
    )
    pickup_station_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="required for pickup")
    note: str = limited_text(quotes.MAX_NOTE, NOTE_LIMIT, default="")
    destinations: list[DestinationIn] = Field(
        default=[], max_length=20, description="delivery addresses (ship): one order each"
    )
    items: list[PurchaseItemIn] = Field(default=[], max_length=50, description="the products (pickup)")


class PurchaseIn(PurchaseDraftIn):
    organisation_id: int = Field(ge=1, le=MAX_ID)
    quote_request_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="an answered quote of the organisation (询价) accepted into the new draft at the first "
        "destination (or the pick-up) at its quoted price, as POST /quote-requests/{id}/accept does; that "
        "destination may then list no items. Its refusals (404 another organisation's, 409 not answered, "
        "expired or accepted already) save nothing",
    )


class ApproveIn(Schema):
    shown_total_fen: int | None = Field(
        default=None, ge=0, le=MAX_ID, description="the total the approver saw; refused (409) if it changed"
    )


class RejectIn(Schema):
    reason: str = limited_text(
        purchases.MAX_RETURN_REASON,
        f"why (required; audited); at most {purchases.MAX_RETURN_REASON} characters once its spaces are "
        "collapsed: longer is a 422 `purchase_return_reason_too_long` naming the limit, empty "
        "`purchase_return_reason_required`",
    )


class PurchaseLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # answered from the purchase's line rows

    product_id: int
    title: str = Field(validation_alias=AliasPath("product", "name"))
    quantity: int
    destination_id: int | None
    unit_price_fen: int | None = Field(description="the quoted unit price of a line accepted from a quote, else null")
    quote_request_id: int | None


class DestinationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # answered from the purchase's destination rows

    id: int
    label: str
    name: str
    phone: str
    province: str
    city: str
    district: str
    line: str


class TransferDueOut(BaseModel):
    order_code: str
    amount_fen: int = Field(
        description="what the transfer must bring (`transfers.transfer_due_fen`, the one amount recording accepts)"
    )
    reference: str
    payee: str
    bank: str
    account: str
    expires_at: datetime | None


def transfers_due(purchase: Purchase) -> list[TransferDueOut]:
    due = [po.order for po in purchase.orders if transfers.awaiting_transfer(po.order)]
    if not due:
        return []
    payee = transfers.payee()
    return [
        TransferDueOut(
            order_code=order.code,
            amount_fen=transfers.transfer_due_fen(order),
            reference=transfers.transfer_reference(order),
            payee=payee.name,
            bank=payee.bank,
            account=payee.account,
            expires_at=order.expires_at,
        )
        for order in due
    ]


class ShortageOut(BaseModel):
    product_id: int
    name: str
    village: str
    wanted: int = Field(description="the units the purchase wants of it, over all its addresses")
    free: int = Field(description="the units its station has free now (on hand less allocated)")


class PurchaseOrderOut(BaseModel):
    code: str
    status: str = Field(description="the order's status (pending, confirmed, …, canceled, expired)")
    total_fen: int = Field(description="its total as placed")
    due_fen: int = Field(
        description="what it is due now, as the statement counts it (`statements.counted_fen`: live lines and "
        "shipping; 0 once canceled or expired)"
    )
    refunded_fen: int = Field(description="the money given back on it so far (its payments' refunds)")
    destination_id: int | None = Field(description="its address; null for a pick-up")
    canceled_at: datetime | None = Field(description="when it was canceled (null when it is not)")
    canceled_by_id: int | None = Field(
        description="the member who canceled it (its buyer, from the order page or the API); null when not "
        "canceled, or canceled by the shop (not collected in time, a recall, …)"
    )
    canceled_by_name: str = Field(description="that member's name, as the purchase page shows it; empty otherwise")


class PurchaseOut(BaseModel):
    id: int
    organisation_id: int
    status: Literal["draft", "submitted", "approved", "rejected"]
    created_by_id: int
    delivery: Literal["ship", "pickup"]
    pickup_station_id: int | None
    requested_date: date
    payment_method: str
    note: str
    destinations: list[DestinationOut]
    lines: list[PurchaseLineOut]
    estimated_total_fen: int | None = Field(description="today's prices and shipping (before approval)")
    order_codes: list[str] = Field(description="the orders placed on approval")
    orders: list[PurchaseOrderOut] = Field(
        default=[],
        description="the orders placed on approval with their status, and for a canceled one when and by whom, "
        "as the purchase page shows them (`purchases.canceled_orders`)",
    )
    bank_transfers_due: list[TransferDueOut] = Field(
        default=[],
        description="bank_transfer: each placed order still waiting for its transfer, with the account to pay "
        "and the reference (the order code) to write in the remark",
    )
    short_stock: list[ShortageOut] = Field(
        default=[],
        description="before approval: the products the stations have too little of now, as the purchase page "
        "warns (`purchases.short_stock`); no refusal — stock is taken at approval, which refuses them (409 "
        "purchase_out_of_stock) unless restocked; empty when none, and once approved",
    )
    decision_reason: str
    submitted_at: datetime | None
    decided_at: datetime | None
    created_at: datetime


def purchase_orders_out(purchase: Purchase) -> list[PurchaseOrderOut]:
    canceled = purchases.canceled_orders(purchase)
    amounts = statements.purchase_order_amounts(purchase)
    out = []
    for po in purchase.orders:
        when = canceled.get(po.order_id)
        by = when.by if when is not None else None
        out.append(
            PurchaseOrderOut(
                code=po.order.code,
                status=po.order.status,
                total_fen=po.order.total_fen,
                due_fen=amounts[po.order_id].due_fen,
                refunded_fen=amounts[po.order_id].refunded_fen,
                destination_id=po.destination_id,
                canceled_at=when.at if when is not None else None,
                canceled_by_id=by.id if by is not None else None,
                canceled_by_name=(by.name or by.email) if by is not None else "",
            )
        )
    return out


def purchase_out(purchase: Purchase) -> PurchaseOut:
    estimated = None
    if purchase.status in (PurchaseStatus.DRAFT, PurchaseStatus.SUBMITTED):
        try:
            estimated = sum(g.total_fen for g in purchases.groups_of(purchase))
        except DomainError:  # a product withdrawn since: approval will say so
            estimated = None
    return PurchaseOut(
        id=purchase.id,
        organisation_id=purchase.organisation_id,
        status=purchase.status,
        created_by_id=purchase.created_by_id,
        delivery=purchase.delivery,
        pickup_station_id=purchase.pickup_station_id,
        requested_date=purchase.requested_date,
        payment_method=purchase.payment_method,
        note=purchase.note,
        destinations=purchase.destinations,
        lines=purchase.lines,
        estimated_total_fen=estimated,
        order_codes=[po.order.code for po in purchase.orders],
        orders=purchase_orders_out(purchase),
        bank_transfers_due=transfers_due(purchase),
        short_stock=[
            ShortageOut(
                product_id=shortage.product.id,
                name=shortage.product.name,
                village=shortage.product.village.name,
                wanted=shortage.wanted,
                free=max(shortage.available, 0),
            )
            for shortage in (purchases.short_stock(purchase) if purchase.status != PurchaseStatus.APPROVED else [])
        ],
        decision_reason=purchase.decision_reason,
        submitted_at=purchase.submitted_at,
        decided_at=purchase.decided_at,
        created_at=purchase.created_at,
    )


def _items(items: list[PurchaseItemIn]) -> list[tuple[int, int]]:
    return [(item.product_id, item.quantity) for item in items]


def _draft_data(body: PurchaseDraftIn) -> purchases.PurchaseData:
    return purchases.PurchaseData(
        delivery=body.delivery,
        requested_date=body.requested_date,
        payment_method=body.payment_method,
        pickup_station_id=body.pickup_station_id,
        note=body.note,
        items=_items(body.items),
        destinations=[
            purchases.DestinationData(
                label=d.label, address=AddressData(**d.address.model_dump()), items=_items(d.items)
            )
            for d in body.destinations
        ],
    )


class PurchaseDeletedOut(BaseModel):
    id: int
    deleted: bool


@endpoint(
    "/purchases",
    ("POST",),
    body=PurchaseIn,
    response=PurchaseOut,
    status=201,
    auth=True,
    tags=("purchases",),
    errors=(403, 404, 409),
    summary="A buyer of a verified organisation writes a draft purchase (several addresses or a pick-up)",
)
def create_purchase(body: PurchaseIn):
    user = api_user()
    organisation = orgs.get_visible_organisation(body.organisation_id, user)
    data = _draft_data(body)
    data.quote_request_id = body.quote_request_id
    purchase = purchases.create_purchase(organisation, data, user=user, now=now_utc())
    return committed(purchase_out(purchase), 201)


@endpoint(
    "/purchases/<int:purchase_id>",
    ("PUT",),
    body=PurchaseDraftIn,
    response=PurchaseOut,
    auth=True,
    tags=("purchases",),
    errors=(403, 404, 409),
    summary="The buyer who built a draft replaces its content (same rules as a new draft; lines accepted from a "
    "quote stay at their address); a purchase sent back (rejected) becomes a draft again; a submitted or approved "
    "purchase is refused (409 purchase_not_draft)",
    load=lambda user, purchase_id: purchases.get_visible_purchase(purchase_id, user),  # 404 before the body is read
)
def update_purchase(purchase_id: int, body: PurchaseDraftIn, loaded):
    user = api_user()
    purchase = purchases.update_purchase(loaded, _draft_data(body), user=user, now=now_utc())
    return committed(purchase_out(purchase))


@endpoint(
    "/purchases/<int:purchase_id>",
    ("DELETE",),
    response=PurchaseDeletedOut,
    auth=True,
    tags=("purchases",),
    errors=(403, 404, 409),
    summary="The buyer who built a draft (or a purchase sent back) deletes it (audited; a quote accepted into it "
    "can be accepted again); a submitted or approved purchase is refused (409 purchase_not_draft)",
)
def delete_purchase(purchase_id: int):
    user = api_user()
    purchase = purchases.get_visible_purchase(purchase_id, user)
    deleted = PurchaseDeletedOut(id=purchase.id, deleted=True)
    purchases.delete_purchase(purchase, user=user, now=now_utc())
    return committed(deleted)


@endpoint(
    "/purchases/<int:purchase_id>",
    response=PurchaseOut,
    auth=True,
    tags=("purchases",),
    summary="A purchase (members of its organisation and the county office; else 404)",
)
def get_purchase(purchase_id: int):
    return ok(purchase_out(purchases.get_visible_purchase(purchase_id, api_user())))


@endpoint(
    "/purchases/<int:purchase_id>/submit",
    ("POST",),
    response=PurchaseOut,
    auth=True,
    tags=("purchases",),
    errors=(403, 409, 422),
    summary="The buyer who built the draft submits it for approval; a product that cannot be ordered now "
    "(withdrawn, papers lapsed) is refused as placement would refuse it (409), the purchase still a draft",
)
def submit_purchase(purchase_id: int):
    user = api_user()
    purchase = purchases.submit_purchase(purchases.get_visible_purchase(purchase_id, user), user=user, now=now_utc())
    return committed(purchase_out(purchase))


@endpoint(
    "/purchases/<int:purchase_id>/approve",
    ("POST",),
    body=ApproveIn,
    response=PurchaseOut,
    auth=True,
    tags=("purchases",),
    errors=(403, 409),
    summary="An approver of the organisation, not its buyer, approves: it is placed as orders (audited); a total "
    "past what is left of the year's budget is refused (409 purchase_over_budget), nothing placed",
    load=lambda user, purchase_id: purchases.get_visible_purchase(purchase_id, user),  # 404 before the body is read
)
def approve_purchase(purchase_id: int, body: ApproveIn, loaded):
    user = api_user()
    purchase = purchases.approve_purchase(
        loaded,
        user=user,
        now=now_utc(),
        shown_total_fen=body.shown_total_fen,
    )
    return committed(purchase_out(purchase))


@endpoint(
    "/purchases/<int:purchase_id>/reject",
    ("POST",),
    body=RejectIn,
    response=PurchaseOut,
    auth=True,
    tags=("purchases",),
    errors=(403, 409),
    summary="An approver of the organisation, not its buyer, rejects it with a reason (audited)",
    load=lambda user, purchase_id: purchases.get_visible_purchase(purchase_id, user),  # 404 before the body is read
)
def reject_purchase(purchase_id: int, body: RejectIn, loaded):
    user = api_user()
    purchase = purchases.reject_purchase(loaded, reason=body.reason, user=user, now=now_utc())
    return committed(purchase_out(purchase))


# --- quote requests (询价) ------------------------------------------------------------------------


class QuoteRequestIn(Schema):
    organisation_id: int = Field(ge=1, le=MAX_ID)
    product_id: int = Field(ge=1, le=MAX_ID, description="the product; the request goes to the station that sells it")
    quantity: int = Field(ge=1, le=999)
    needed_by: date = Field(description="the delivery date wanted (today to a year ahead, Beijing time)")
    note: str = limited_text(quotes.MAX_NOTE, NOTE_LIMIT, default="")


class QuoteAnswerIn(Schema):
    quantity: int = Field(ge=1, le=999, description="what the station can supply (1 to the quantity asked)")
    unit_price_fen: int = Field(ge=1, le=quotes.MAX_UNIT_PRICE_FEN)
    lead_days: int = Field(ge=0, le=365, description="days from placement to delivery")
    valid_until: date = Field(description="the last day the answer may be accepted (today to 90 days ahead)")
    note: str = limited_text(quotes.MAX_NOTE, NOTE_LIMIT, default="")


class QuoteDeclineIn(Schema):
    reason: str = limited_text(
        quotes.MAX_NOTE,
        f"why the station cannot supply it (required: empty is a 422 `quote_decline_reason_required`); {NOTE_LIMIT}",
    )


class QuoteAcceptIn(Schema):
    """Where the answer goes. No price: the line takes the station's quoted price (a body naming one
    is refused, 422)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    purchase_id: int = Field(
        ge=1, le=MAX_ID, description="a draft purchase of the caller, of the request's organisation"
    )
    destination_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="one of its addresses (none for pickup)"
    )


class QuoteOut(BaseModel):
    id: int
    organisation_id: int
    station_id: int
    product_id: int
    title: str
    quantity: int
    needed_by: date
    note: str
    status: Literal["open", "answered", "accepted", "declined"]
    expired: bool = Field(description="answered but not accepted by valid_until")
    answered_quantity: int | None
    unit_price_fen: int | None
    lead_days: int | None
    valid_until: date | None
    answer_note: str
    answered_at: datetime | None
    created_at: datetime


class QuoteList(BaseModel):
    items: list[QuoteOut]


def quote_out(request) -> QuoteOut:
    return QuoteOut(
        id=request.id,
        organisation_id=request.organisation_id,
        station_id=request.station_id,
        product_id=request.product_id,
        title=request.product.name,
        quantity=request.quantity,
        needed_by=request.needed_by,
        note=request.note,
        status=request.status,
        expired=quotes.is_expired(request, local_date(now_utc())),
        answered_quantity=request.answered_quantity,
        unit_price_fen=request.unit_price_fen,
        lead_days=request.lead_days,
        valid_until=request.valid_until,
        answer_note=request.answer_note,
        answered_at=request.answered_at,
        created_at=request.created_at,
    )


class QuoteListQuery(QuerySchema):
    organisation_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="an organisation of the caller's; without it, a station's requests"
    )


@endpoint(
    "/quote-requests",
    ("POST",),
    body=QuoteRequestIn,
    response=QuoteOut,
    status=201,
    auth=True,
    tags=("purchases",),
    errors=(403, 404, 409),
    summary="A buyer of a verified organisation asks the station selling a product for a quote (询价)",
)
def create_quote_request(body: QuoteRequestIn):
    user = api_user()
    organisation = orgs.get_visible_organisation(body.organisation_id, user)
    request = quotes.create_quote_request(
        organisation,
        product_id=body.product_id,
        quantity=body.quantity,
        needed_by=body.needed_by,
        note=body.note,
        user=user,
        now=now_utc(),
    )
    return committed(quote_out(request), 201)


@endpoint(
    "/quote-requests",
    query=QuoteListQuery,
    response=QuoteList,
    auth=True,
    tags=("purchases",),
    summary="Quote requests: an organisation's (its members), or those addressed to the caller's station",
)
def list_quote_requests(query: QuoteListQuery):
    user = api_user()
    if query.organisation_id is not None:
        items = quotes.quotes_of(orgs.get_visible_organisation(query.organisation_id, user))
    else:
        items = quotes.quotes_for(user)
    return ok(QuoteList(items=[quote_out(q) for q in items]))


@endpoint(
    "/quote-requests/<int:quote_id>",
    response=QuoteOut,
    auth=True,
    tags=("purchases",),
    summary="A quote request (its organisation's members, its station, the county office; else 404)",
)
def get_quote_request(quote_id: int):
    return ok(quote_out(quotes.get_visible_quote(quote_id, api_user())))


@endpoint(
    "/quote-requests/<int:quote_id>/answer",
    ("POST",),
    body=QuoteAnswerIn,
    response=QuoteOut,
    auth=True,
    tags=("purchases",),
    errors=(403, 404, 409),
    summary="The station it is addressed to answers once: quantity, unit price, lead time, valid until (audited)",
    load=lambda user, quote_id: quotes.get_visible_quote(quote_id, user),  # 404 before the body is read
)
def answer_quote_request(quote_id: int, body: QuoteAnswerIn, loaded):
    user = api_user()
    request = quotes.answer_quote(
        loaded,
        quotes.AnswerData(
            quantity=body.quantity,
            unit_price_fen=body.unit_price_fen,
            lead_days=body.lead_days,
            valid_until=body.valid_until,
            note=body.note,
        ),
        user=user,
        now=now_utc(),
    )
    return committed(quote_out(request))


@endpoint(
    "/quote-requests/<int:quote_id>/decline",
    ("POST",),
    body=QuoteDeclineIn,
    response=QuoteOut,
    auth=True,
    tags=("purchases",),
    errors=(403, 404, 409),
    summary="The station it is addressed to cannot supply it: declined with a reason (audited)",
    load=lambda user, quote_id: quotes.get_visible_quote(quote_id, user),  # 404 before the body is read
)
def decline_quote_request(quote_id: int, body: QuoteDeclineIn, loaded):
    user = api_user()
    request = quotes.decline_quote(loaded, reason=body.reason, user=user, now=now_utc())
    return committed(quote_out(request))


@endpoint(
    "/quote-requests/<int:quote_id>/accept",
    ("POST",),
    body=QuoteAcceptIn,
    response=PurchaseOut,
    auth=True,
    tags=("purchases",),
    errors=(403, 404, 409),
    summary="The buyer accepts the answer (until valid_until) into a draft purchase: a line at the quoted price",
    load=lambda user, quote_id: quotes.get_visible_quote(quote_id, user),  # 404 before the body is read
)
def accept_quote_request(quote_id: int, body: QuoteAcceptIn, loaded):
    user = api_user()
    line = quotes.accept_quote(
        loaded,
        purchase_id=body.purchase_id,
        destination_id=body.destination_id,
        user=user,
        now=now_utc(),
    )
    return committed(purchase_out(line.purchase))


# --- budget and statement -------------------------------------------------------------------------


class BudgetIn(Schema):
    year: int = Field(ge=2016, le=2100)
    #: Any JSON value reaches the service, whose rules (`statements.check_budget_fen`, `check_reserved_bps`)
    #: refuse a wrong one naming what is allowed, as the statement page does; the spec still says what is taken.
    budget_fen: Any = Field(
        description="the year's food procurement budget, a whole number of fen from 0 to "
        f"{statements.MAX_BUDGET_FEN}; anything else is a 422 `invalid_budget` (`fields.budget_fen`: "
        "`not_an_integer`, `negative` or `too_high`)",
        json_schema_extra={"type": "integer", "minimum": 0, "maximum": statements.MAX_BUDGET_FEN},
    )
    reserved_bps: Any = Field(
        description="share reserved for lifted-out areas' products (3000 = 30%), a whole number from 0 to "
        f"{statements.MAX_RESERVED_BPS}; anything else is a 422 `invalid_reserved_share`",
        json_schema_extra={"type": "integer", "minimum": 0, "maximum": statements.MAX_RESERVED_BPS},
    )


class YearQuery(QuerySchema):
    year: int = Field(ge=2016, le=2100)


class StatementQuery(QuerySchema):
    year: int | None = Field(default=None, ge=2016, le=2100, description="a whole year (or give from and to)")
    from_: date | None = Field(default=None, alias="from", description="first day of the period (Beijing date)")
    to: date | None = Field(default=None, description="last day of the period, at most a year after `from`")


class MonthOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # answered from the statement's `statements.Month`

    year: int
    month: int
    orders: int
    purchased_fen: int
    cumulative_fen: int


class StatementOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # answered from the statement's `statements.StatementOrder`

    code: str
    placed_on: date
    purchase_id: int
    label: str = Field(description="the delivery address's name, empty for a pick-up")
    status: str
    due_fen: int = Field(description="what the order is due now (canceled lines count nothing)")


class OrganisationStatementOut(BaseModel):
    organisation_id: int
    year: int = Field(description="the year of the period's first day")
    period_from: date
    period_to: date
    budget_fen: int | None = Field(description="the year's budget (none when the period spans two years)")
    reserved_bps: int | None
    share_fen: int | None = Field(description="budget × reserved share")
    purchased_fen: int = Field(
        description="the sum of the months and of the orders: what the period's purchase orders are due"
    )
    progress_bps: int | None = Field(
        description="a whole year's purchases against its reserved share (basis points); null for a period within"
        " the year, whose purchases are not the year's progress, and without a share"
    )
    months: list[MonthOut]
    orders: list[StatementOrderOut]


@endpoint(
    "/organisations/<int:organisation_id>/budget",
    ("POST",),
    body=BudgetIn,
    response=OrganisationStatementOut,
    auth=True,
    tags=TAGS,
    errors=(403, 409),
    summary="The organisation's manager or an approver sets a year's budget and reserved share (audited); a"
    " budget below what the year's purchase orders are due already is a 409 `budget_below_purchased`",
    load=lambda user, organisation_id: orgs.get_visible_organisation(
        organisation_id, user
    ),  # 404 before the body is read
)
def set_organisation_budget(organisation_id: int, body: BudgetIn, loaded):
    user = api_user()
    organisation = loaded
    statements.set_budget(
        organisation,
        year=body.year,
        budget_fen=body.budget_fen,
        reserved_bps=body.reserved_bps,
        actor=user,
        now=now_utc(),
    )
    return committed(statement_out(organisation, statements.statement(organisation, body.year)))


def statement_out(organisation: Organisation, st) -> OrganisationStatementOut:
    return OrganisationStatementOut(
        organisation_id=organisation.id,
        year=st.year,
        budget_fen=st.budget_fen,
        reserved_bps=st.reserved_bps,
        share_fen=st.share_fen,
        purchased_fen=st.purchased_fen,
        progress_bps=st.progress_bps,
        period_from=st.period_from,
        period_to=st.period_to,
        months=st.months,
        orders=st.orders or [],
    )


@endpoint(
    "/organisations/<int:organisation_id>/statement",
    query=StatementQuery,
    response=OrganisationStatementOut,
    auth=True,
    tags=TAGS,
    summary="The statement (对账单) of a year (`year`) or a period (`from`, `to`, at most a year): budget, reserved "
    "share, purchases month by month and order by order, each the sum of its orders (members, county)",
)
def organisation_statement(organisation_id: int, query: StatementQuery):
    organisation = orgs.get_visible_organisation(organisation_id, api_user())
    if query.from_ is not None and query.to is not None:
        st = statements.statement_for(organisation, query.from_, query.to)
    elif query.year is not None and query.from_ is None and query.to is None:
        st = statements.statement(organisation, query.year)
    else:
        raise ValidationError("statement_period_required", fields={"from": "required", "to": "required"})
    return ok(statement_out(organisation, st))


class ReportRowOut(BaseModel):
    organisation_id: int
    name: str
    kind: Kind
    months_fen: list[int] = Field(description="purchases per month, January first")
    total_fen: int


class CreditedHouseholdOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # answered from the report's `statements.CreditedHousehold`

    household_id: int
    label: str = Field(description="masked head name · village")
    credited_fen: int = Field(description="credits less reversals of the year's institutional order lines")


class CountyReportOut(BaseModel):
    year: int
    organisations: list[ReportRowOut]
    by_kind_fen: dict[str, int]
    by_month_fen: list[int]
    total_fen: int
    households: list[CreditedHouseholdOut] = Field(
        description="the households those purchases earned income for (credits less reversals, more than 0; one "
        "whose credits were all reversed is not listed), largest first"
    )
    credited_fen: int


@endpoint(
    "/county/institutions",
    query=YearQuery,
    response=CountyReportOut,
    roles=("county",),
    tags=TAGS,
    summary="Institutional purchasing of a year by organisation, type and month, and the households it credited "
    "(county office)",
)
def county_institutions(query: YearQuery):
    report = statements.county_report(query.year)
    return ok(
        CountyReportOut(
            year=report.year,
            by_kind_fen=report.by_kind,
            by_month_fen=report.by_month,
            total_fen=report.total_fen,
            credited_fen=report.credited_fen,
            households=report.households,
            organisations=[
                ReportRowOut(
                    organisation_id=r.organisation.id,
                    name=r.organisation.name,
                    kind=r.organisation.kind,
                    months_fen=r.months,
                    total_fen=r.total_fen,
                )
                for r in report.rows
            ],
        )
    )
