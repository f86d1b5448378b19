"""JSON API of stock intake by lots (#23), added to shop.api's blueprint.

- POST /products/<id>/lots   receive a lot: quantity, harvest/production date, best-before date, the
                             household or cooperative it came from, a note, a purchase price when the
                             station bought it; answers the lot with its trace code (operator of the
                             product's station)
- GET  /products/<id>/lots   the product's lots, newest first
- POST /lots/<code>/recall   recall one of the station's lots with a reason (stations.services.recalls):
                             blocked at once, its buyers mailed once; another station's lot is a 404, a
                             lot recalled already a 409 (nothing changes, nobody is mailed again)
- GET  /stations/recall-lines  the open lines of the station's recalled lots still to refund (now, or
                             once delivered): what the desk's tiles count (an admin: every station's)
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from shop.api import Schema, api_user, endpoint, ok
from shop.args import MAX_ID, ApiDate
from shop.auth.models import Role
from shop.db import commit
from shop.errors import Conflict, ValidationError
from shop.timeutil import now_utc
from shop.urls import external_url
from stations.services import assisted, recalls
from stations.services.intake import LotIntake, receive_lot
from stock.models import LotStatus
from stock.services import MAX_PURCHASE_PRICE_FEN, MAX_QUANTITY, record_lots

#: A whole JSON number, never a string or a boolean read as one (`true` received a lot of 1 unit, and
#: as `household_id` named household 1): the numbers of an intake are counted and credited.
LotId = Annotated[int, Field(ge=1, le=MAX_ID)]


class LotIntakeBody(Schema):
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    #: Harvest (fresh goods) or production (processed goods) date: not in the future.
    harvest_date: ApiDate | None = None
    #: Best before / use by, where it applies: not before harvest_date and not already past.
    best_before_date: ApiDate | None = None
    #: The household it came from: one of the villages the station serves.
    household_id: LotId | None = None
    #: The producer (cooperative) it came from.
    producer_id: LotId | None = None
    note: str = Field(default="", max_length=200)
    #: 收购: the unit price the station paid the household (needs household_id); absent: consigned.
    purchase_price_fen: int | None = Field(default=None, gt=0, le=MAX_PURCHASE_PRICE_FEN)


class LotOut(BaseModel):
    code: str = Field(description="The public trace code: /trace/{code}, printed as a QR code on the parcel.")
    product_id: int
    station_id: int
    received_quantity: int
    on_hand: int
    allocated: int
    harvest_date: dt.date | None
    best_before_date: dt.date | None
    household_id: int | None
    producer_id: int | None
    note: str
    status: Literal["active", "expired", "recalled"]
    purchased: bool
    purchase_price_fen: int | None
    trace_url: str
    received_at: datetime


class RecallBody(Schema):
    #: Why (1 to 200 characters once trimmed): the buyers' mail and the lot's trace page show it.
    reason: str = Field(default="", max_length=1000)


class RecallOut(LotOut):
    affected_lines: int = Field(
        description="Order lines whose buyers still have units of the lot: each buyer is mailed once."
    )


class LotList(BaseModel):
    items: list[LotOut]


def lot_json(lot) -> dict:
    return LotOut(
        code=lot.code,
        product_id=lot.product_id,
        station_id=lot.station_id,
        received_quantity=lot.received_quantity,
        on_hand=lot.on_hand,
        allocated=lot.allocated,
        harvest_date=lot.harvest_date,
        best_before_date=lot.best_before_date,
        household_id=lot.household_id,
        producer_id=lot.producer_id,
        note=lot.note or "",
        status=lot.status,
        purchased=lot.purchased,
        purchase_price_fen=lot.purchase_price_fen,
        trace_url=external_url("trace.trace_page", code=lot.code),
        received_at=lot.received_at,
    ).model_dump(mode="json")


@endpoint(
    "/products/<int:product_id>/lots",
    methods=("POST",),
    body=LotIntakeBody,
    response=LotOut,
    status=201,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(403, 404),
    load=assisted.get_product_for,  # another station's product: 404 before its body is read
)
def receive_product_lot(product_id: int, body: LotIntakeBody, loaded):
    """Stock intake: a new lot of one of the station's products, with its dates and origin; answers its
    trace code. Dates out of order, a best-before already past, a household the station does not serve:
    422, nothing changed."""
    user, product = api_user(), loaded
    if body.purchase_price_fen is not None and body.household_id is None:
        raise ValidationError("purchase_needs_household", fields={"household_id": "required"})
    lot = receive_lot(
        product,
        LotIntake(
            quantity=body.quantity,
            harvest_date=body.harvest_date,
            best_before_date=body.best_before_date,
            household_id=body.household_id,
            producer_id=body.producer_id,
            note=body.note,
            purchase_price_fen=body.purchase_price_fen,
        ),
        actor=user,
        now=now_utc(),
    )
    commit()
    return ok(lot_json(lot), 201)


@endpoint(
    "/products/<int:product_id>/lots",
    response=LotList,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(403, 404),
)
def product_lots(product_id: int):
    """A product's lots, newest first (operator of its station)."""
    product = assisted.get_product_for(api_user(), product_id)
    lots = record_lots(product.stock.id) if product.stock is not None else []
    return ok({"items": [lot_json(lot) for lot in lots]})


@endpoint(
    "/lots/<code>/recall",
    methods=("POST",),
    body=RecallBody,
    response=RecallOut,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(403, 404, 409),
    load=recalls.get_lot_for,  # another station's lot: 404 before its body is read
)
def recall_station_lot(code: str, body: RecallBody, loaded):
    """Recall one of the station's lots (a food-safety problem): its unsold units are blocked at once, every
    buyer who still has some is mailed once, its trace page says so. Another station's lot: 404, whatever
    the body; no or too long a reason: 422; a lot recalled already: 409 `lot_already_recalled`, nothing
    changed."""
    user, lot = api_user(), loaded
    if lot.status == LotStatus.RECALLED:
        raise Conflict("lot_already_recalled", code=lot.code, fields={"lot": "recalled"})
    lines = recalls.recall_lot(lot, reason=body.reason, actor=user, now=now_utc())
    commit()
    return ok({**lot_json(lot), "affected_lines": len(lines)})


class RecallLineOut(BaseModel):
    lot_code: str
    order_id: str
    shipment_id: str | None
    line_id: int
    title: str
    quantity: int = Field(description="units of the lot the buyer still has (or will receive)")
    action: Literal["cancel", "refund", "in_transit"] = Field(
        description="cancel: not shipped, the lot's one-step refund cancels and refunds it; refund: delivered, "
        "refunded by the same step; in_transit: on its way, refunded once delivered"
    )


class RecallLinesOut(BaseModel):
    items: list[RecallLineOut]
    to_refund_now: int
    in_transit: int


@endpoint("/stations/recall-lines", response=RecallLinesOut, roles=(Role.OPERATOR,), tags=("stations",))
def station_recall_lines():
    """The open lines of the caller's station's recalled lots still to refund, oldest recall first (an admin:
    every station's): what the desk counts, so that none is forgotten (stations.services.recalls.lines_to_settle)."""
    user = api_user()
    station_id = None if user.role == Role.ADMIN else user.station_id
    todo = recalls.lines_to_settle(station_id)
    counts = recalls.settle_counts(station_id)
    return ok(
        RecallLinesOut(
            items=[
                RecallLineOut(
                    lot_code=t.lot.code,
                    order_id=t.line.order.code,
                    shipment_id=t.line.shipment.code if t.line.shipment is not None else None,
                    line_id=t.line.id,
                    title=t.line.title,
                    quantity=t.quantity,
                    action=t.action,
                )
                for t in todo
            ],
            to_refund_now=counts["now"],
            in_transit=counts["in_transit"],
        )
    )
