"""JSON API of the cash refunds a station's till owes buyers (待退还现金), added to shop.api's blueprint.

- GET  /stations/<id>/cash-refunds?state=owed   the station desk's 待退还现金 list (operator of that station,
                                                 or admin; another station's 403), oldest first, a page at a time
- POST /cash-refunds/<id>/hand-back              退还现金: the operator handed the cash back; it enters the
                                                 cash book of the till that owes it, by this operator

The same services as the desk and the shipment page (`stations.views.hand_back_cash`): the list is
`orders.services.payments.cash_to_hand_back`, the refund the caller may hand back `cash_refund_for` (a
refund another station's till owes, or none, is 404 `cash_refund_not_found`), the hand-back `hand_back_cash`
(idempotent: a second call books nothing and answers the refund with `handed_back: false`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from orders.models import Refund
from orders.services import payments
from orders.services.pickup import collector_name
from shop.api import QuerySchema, api_user, committed, endpoint, ok
from shop.auth.models import Role
from shop.auth.permissions import can_manage_station
from shop.errors import Forbidden
from shop.timeutil import now_utc
from stations.services import dashboard


class CashRefundQuery(QuerySchema):
    #: owed (待退还): still in the till, to hand back — the only list the desk has.
    state: Literal["owed"] = "owed"
    page: int = Field(default=1, ge=1, le=1000)
    per_page: int = Field(default=20, ge=1, le=100)


class CashRefundOut(BaseModel):
    id: int = Field(description="the refund's number (POST /cash-refunds/{id}/hand-back)")
    order_id: str = Field(description="the order's public code")
    shipment_id: str = Field(description="the shipment's public code, whose cash the till took")
    collector: str = Field(description="who the cash goes back to, as the desk names them (collector_name)")
    amount_fen: int
    state: Literal["owed", "succeeded"] = Field(description="owed (待退还) or succeeded (已退还)")
    created_at: datetime


class CashRefundList(BaseModel):
    items: list[CashRefundOut]
    total: int
    page: int
    per_page: int


class HandBackOut(CashRefundOut):
    handed_back: bool = Field(
        description="this call handed the cash back (a cash-book entry now); false: it was handed back already "
        "(a second tap), nothing booked"
    )


def cash_refund_out(refund: Refund) -> dict:
    shipment = refund.shipment
    return dict(
        id=refund.id,
        order_id=shipment.order.code,
        shipment_id=shipment.code,
        collector=collector_name(shipment.order),
        amount_fen=refund.amount_fen,
        state=refund.state,
        created_at=refund.created_at,
    )


@endpoint(
    "/stations/<int:station_id>/cash-refunds",
    query=CashRefundQuery,
    response=CashRefundList,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(403, 404),
)
def station_cash_refunds(station_id: int, query: CashRefundQuery):
    """The cash refunds the station's till owes buyers (待退还现金), oldest first: which order, to whom, how much."""
    station = dashboard.get_station(station_id)
    if not can_manage_station(api_user(), station.id):
        raise Forbidden("not_your_station")
    owed = payments.cash_to_hand_back(station.id)
    start = (query.page - 1) * query.per_page
    return ok(
        CashRefundList.model_validate(
            dict(
                items=[cash_refund_out(r) for r in owed[start : start + query.per_page]],
                total=len(owed),
                page=query.page,
                per_page=query.per_page,
            )
        )
    )


@endpoint(
    "/cash-refunds/<int:refund_id>/hand-back",
    methods=("POST",),
    response=HandBackOut,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(404, 409),
)
def hand_back_cash_refund(refund_id: int):
    """退还现金: the cash refund is handed to the buyer; a `refund` entry in the owing till's cash book by the caller.
    Sent again, it books nothing (`handed_back: false`)."""
    user = api_user()
    refund = payments.cash_refund_for(user, refund_id)
    handed_back = payments.hand_back_cash(refund, actor=user, now=now_utc())
    return committed(HandBackOut.model_validate(dict(cash_refund_out(refund), handed_back=handed_back)))
