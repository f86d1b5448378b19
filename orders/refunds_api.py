"""JSON API of refund requests (退款申请), added to shop.api's blueprint: the buyer's and the station's.

- GET  /orders/<code>/refund-requests   the caller's own order: each goods line's requests (oldest first)
                                   and whether a new one is taken now (`can_request`, else `refusal`'s code)
                                   and how many are left
- POST /orders/<code>/lines/<line_id>/refund-request   {kind, reason, quantity?}: ask for `quantity` units
                                   (default: all not refunded yet; 0, more, or not a whole number 422
                                   invalid_refund_quantity), keeping the goods (kind
                                   refund_only, 仅退款) or sending them back (return, 退货退款; any other
                                   value 422), 201 with the request; refused as the
                                   order page's form is (`orders.services.refunds.refund_request_refusal`):
                                   409 `not_delivered`, `line_already_refunded`, `already_requested`,
                                   `refund_requests_exhausted`; 422 `refund_reason_unchanged`

- GET  /stations/refund-requests?status=requested|decided   the requests the caller may decide (an
                                   operator: its station's; an admin: all), waiting or lately decided
- POST /stations/refund-requests/<id>/decision   {decision: approve, goods, quantity?, note?} or
                                   {decision: reject, note}

The same services as the station's page (`orders.views.refund_request_decide`): approving sends the
money back and says what became of the goods (`orders.services.refunds.approve_refund_request`, checked
by `check_goods`), rejecting closes the request; a request of another station, or none, is a 404; a bad
choice or quantity a 422; a request decided already a 409 `refund_request_decided` (two decisions at
once: the request's row is locked, one wins).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from orders.api import own_order
from orders.models import RefundGoods, RefundRequest
from orders.services.amounts import is_cash_order
from orders.services.refunds import (
    MAX_REQUESTS_PER_LINE,
    approve_refund_request,
    decided_requests_for,
    line_refunds,
    money_back,
    pending_requests_for,
    refund_of,
    reject_refund_request,
    request_for_decision,
    request_refund,
    units_left,
)
from shop.api import QuerySchema, Schema, api_user, committed, endpoint, ok
from shop.args import MAX_INT
from shop.auth.models import Role
from shop.timeutil import now_utc
from stock.services import MAX_QUANTITY

Goods = Literal["not_returned", "restocked", "returned_unsellable"]
#: What the buyer asks for (`orders.models.RefundKind`): 仅退款, keeping the goods, or 退货退款.
Kind = Literal["refund_only", "return"]


class RefundRequestQuery(QuerySchema):
    #: requested: waiting for a decision, oldest first; decided: the latest decided, newest first.
    status: Literal["requested", "decided"] = "requested"


class RefundDecisionBody(Schema):
    decision: Literal["approve", "reject"]
    #: approve: what became of the goods (required): not returned (refund only), returned and sellable
    #: (`quantity` units back into the lots the line was sold from), returned and not sellable.
    goods: Goods | None = Field(default=None, description="approve only: what became of the goods (required)")
    quantity: int | None = Field(
        default=None,
        ge=1,
        le=MAX_QUANTITY,
        description="goods restocked only: units back into stock, 1 to the request's quantity (default: all of it)",
    )
    note: str = Field(
        default="",
        max_length=200,
        description="the station's note, which the buyer reads; required to reject (why: the buyer may answer it)",
    )

    @field_validator("goods")
    @classmethod
    def _goods_only_to_approve(cls, value, info: ValidationInfo):
        if value is not None and info.data.get("decision") == "reject":
            raise ValueError("only when approving")
        return value

    @field_validator("quantity")
    @classmethod
    def _quantity_only_to_restock(cls, value, info: ValidationInfo):
        if value is not None and info.data.get("goods") != RefundGoods.RESTOCKED:
            raise ValueError("only with goods restocked")
        return value


class RefundRequestOut(BaseModel):
    id: int
    order_id: str = Field(description="the order's public code")
    shipment_id: str | None = Field(description="the shipment's public code")
    line_id: int
    title: str
    unit: str
    quantity: int = Field(description="the line's quantity")
    refund_quantity: int = Field(description="the units this request refunds (1 to the line's quantity)")
    line_refunded_quantity: int = Field(
        description="the line's units refunded so far, by every approved request (the line's quantity once refunded)"
    )
    amount_fen: int = Field(description="the units' price: unit price × refund_quantity")
    reason: str = Field(description="the buyer's reason")
    kind: Kind | None = Field(
        description="what the buyer asked for: refund_only (keeps the goods) or return (sends them back); "
        "null for requests made before buyers were asked. The station's `goods` says what actually happened"
    )
    created_at: datetime
    status: Literal["requested", "approved", "rejected"]
    goods: Goods | None = Field(description="approved: what became of the goods (null before the station said it)")
    restocked_quantity: int | None = Field(description="goods restocked: the units taken back into stock")
    note: str = Field(description="the station's note on its decision")
    decided_at: datetime | None
    refund_fen: int | None = Field(
        description="approved: the money sent back (null when nothing had been paid: what is due was lowered)"
    )
    cash_refund: bool = Field(description="a cash order: the station hands the money back from its till")
    money_back: Literal["card", "counter", "courier", "transfer"] = Field(
        description="how the money goes back: to the card; cash at the station's counter; cash on delivery, "
        "taken back to the delivery address by the station's staff; a transfer to the paying organisation"
    )


class RefundDecisionOut(RefundRequestOut):
    blocked_quantity: int = Field(
        description="of the restocked units, those back in a lot that is expired or recalled: blocked, never sold"
    )


class RefundRequestList(BaseModel):
    items: list[RefundRequestOut]


def refund_request_out(req: RefundRequest) -> dict:
    line = req.line
    refund = refund_of(req)
    return dict(
        id=req.id,
        order_id=req.order.code,
        shipment_id=line.shipment.code if line.shipment is not None else None,
        line_id=line.id,
        title=line.title,
        unit=line.unit,
        quantity=line.quantity,
        refund_quantity=req.quantity,
        line_refunded_quantity=line.refunded_quantity,
        amount_fen=req.amount_fen,
        reason=req.reason,
        kind=req.kind,
        created_at=req.created_at,
        status=req.status,
        goods=req.goods,
        restocked_quantity=req.restocked_quantity,
        note=req.decision_note or "",
        decided_at=req.decided_at,
        refund_fen=refund.amount_fen if refund is not None else None,
        cash_refund=refund is not None and is_cash_order(req.order),
        money_back=money_back(req.order),
    )


@endpoint(
    "/stations/refund-requests",
    query=RefundRequestQuery,
    response=RefundRequestList,
    roles=(Role.OPERATOR,),
    tags=("stations",),
)
def station_refund_requests(query: RefundRequestQuery):
    """The refund requests the caller decides: its station's (an admin: every station's), waiting or decided."""
    user = api_user()
    found = pending_requests_for(user) if query.status == "requested" else decided_requests_for(user)
    return ok(RefundRequestList(items=[RefundRequestOut(**refund_request_out(r)) for r in found]))


@endpoint(
    "/stations/refund-requests/<int:req_id>/decision",
    methods=("POST",),
    body=RefundDecisionBody,
    response=RefundDecisionOut,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(403, 404, 409),
    load=lambda user, req_id: request_for_decision(req_id, user),  # another station's: 404 whatever the body
)
def decide_refund_request(req_id: int, body: RefundDecisionBody, loaded):
    """Approve a refund request, saying what became of the goods, or reject it (the line's station, or an admin).

    Approving sends the money of the request's units back (a cash order: from the station's till, in its
    cash book; a card: a partial refund when not every unit) and records the goods: `not_returned`,
    `returned_unsellable` (stock unchanged) or `restocked` (`quantity` units, at most and by default the
    request's, back into the lots the line was handed over from; units of a lot that
    is expired or recalled are blocked at once: `blocked_quantity`). Another station's request is a 404;
    no goods, an unknown one, or a quantity above the request's a 422 (`refund_goods_required`,
    `invalid_restock_quantity`), and so is a rejection that does not say why
    (`refund_rejection_reason_required`); a line not delivered 409 `refund_line_not_delivered`; a request decided
    already 409 `refund_request_decided`. Nothing changes on a refusal."""
    user = api_user()
    now = now_utc()
    if body.decision == "approve":
        req, restocked = approve_refund_request(
            req_id, actor=user, now=now, goods=body.goods, quantity=body.quantity, note=body.note
        )
        blocked = restocked.blocked if restocked is not None else 0
    else:
        req, blocked = reject_refund_request(req_id, actor=user, now=now, note=body.note), 0
    return committed(RefundDecisionOut(**refund_request_out(req), blocked_quantity=blocked))


# --- the buyer's side ------------------------------------------------------------------------------


class RefundAskIn(Schema):
    kind: Kind = Field(
        description="refund_only: 仅退款, the buyer keeps the goods; return: 退货退款, the goods go back to the station"
    )
    reason: str = Field(
        min_length=1,
        max_length=200,
        description="why; after a rejection, a reason not given before (answer the station's note)",
    )
    quantity: int | None = Field(
        default=None,
        le=MAX_INT,
        description="units to refund, 1 to the units not refunded yet (`units_left`); default: all of them. "
        "0, more than are left or not a whole number: 422 invalid_refund_quantity",
    )


class LineRefundsOut(BaseModel):
    line_id: int
    title: str
    quantity: int = Field(description="the line's quantity")
    refunded_quantity: int = Field(description="units refunded so far")
    units_left: int = Field(description="units a new request may ask for (the line's quantity less those refunded)")
    requests: list[RefundRequestOut] = Field(description="the line's refund requests, oldest first")
    can_request: bool = Field(description="a new request is taken now")
    refusal: str | None = Field(
        description="why not: not_delivered, line_already_refunded, already_requested, refund_requests_exhausted"
    )
    requests_left: int = Field(
        description=f"requests the buyer may still have turned down for the line ({MAX_REQUESTS_PER_LINE} in all; "
        "approved ones do not count)"
    )


class OrderRefundsOut(BaseModel):
    lines: list[LineRefundsOut]


@endpoint("/orders/<code>/refund-requests", response=OrderRefundsOut, auth=True, tags=("orders",))
def order_refund_requests(code: str):
    """Your order's refund requests, line by line, and whether a line may be asked for (again) now."""
    order = own_order(code, api_user())
    lines = {line.id: line for shipment in order.shipments for line in shipment.lines}
    return ok(
        OrderRefundsOut(
            lines=[
                LineRefundsOut(
                    line_id=line_id,
                    title=lines[line_id].title,
                    quantity=lines[line_id].quantity,
                    refunded_quantity=lines[line_id].refunded_quantity,
                    units_left=units_left(lines[line_id]),
                    requests=[RefundRequestOut(**refund_request_out(r)) for r in found.requests],
                    can_request=found.refusal is None,
                    refusal=found.refusal.code if found.refusal is not None else None,
                    requests_left=found.left,
                )
                for line_id, found in line_refunds(order).items()
            ]
        )
    )


@endpoint(
    "/orders/<code>/lines/<int:line_id>/refund-request",
    ("POST",),
    body=RefundAskIn,
    response=RefundRequestOut,
    status=201,
    auth=True,
    tags=("orders",),
    errors=(409,),
    load=lambda user, code, line_id: own_order(code, user),  # another's order: 404 before its body is read
)
def ask_refund(code: str, line_id: int, body: RefundAskIn, loaded):
    """Ask to refund a delivered line of your order, or some of its units (`quantity`, default all not
    refunded yet: the request's amount is their price), keeping the goods or sending them back, or ask
    again after the station rejected it (a line may be refunded in several requests, one at a time).

    The order page's rule (`orders.services.refunds.refund_request_refusal`): one open request at a time
    (409 `already_requested`), at most `MAX_REQUESTS_PER_LINE` rejected per line (409 `refund_requests_exhausted`), only a
    delivered line not refunded or canceled (409 `not_delivered`, `line_already_refunded`); the reason of a
    rejected request of the line given again is 422 `refund_reason_unchanged`; a `kind` other than refund_only or return is 422. Only a
    delivered line is asked for, so there are always goods to keep or send back (a line not delivered is
    canceled instead). A `quantity` of 0, more than the units left, or not a whole number is 422
    `invalid_refund_quantity`. Nothing changes on a refusal."""
    user, order = api_user(), loaded
    req = request_refund(
        order, line_id, actor=user, now=now_utc(), reason=body.reason, kind=body.kind, quantity=body.quantity
    )
    return committed(RefundRequestOut(**refund_request_out(req)), 201)
