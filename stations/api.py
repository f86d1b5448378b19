"""JSON API of the stations package (added to shop.api's blueprint).

- GET  /stations/<id>/shipments?status=   operator of that station (or admin); includes the pick-up
                                           orders' shipments packed elsewhere that it hands over
- POST /shipments/<code>/transition        {action, tracking_number?, pickup_code?, reason?}
- GET  /stations/<id>/cashbook?date=        the station's cash book for a day (operator of that station)
- POST /stations/<id>/cashbook/close       {date, counted_fen, note?}: the daily close (日结)
- POST /stations/<id>/cashbook/remittances {amount_fen, note?, date?}: cash handed over to the platform
- POST /stations/<id>/cashbook/corrections {amount_fen (signed), reason, date?}: an error put right
- POST /products                           create for a household (代卖), pending county approval
- PATCH /products/<id>                     price, stock (a correction with a reason), published
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Literal

from flask import url_for
from pydantic import BaseModel, Field

from catalog.changes import pending_change, returned_changes_of
from orders.cashbook_api import (
    CashbookFields,
    CashbookQuery,
    CashCloseBody,
    CashEntryFields,
    CorrectionBody,
    RemittanceBody,
    book_out,
)
from orders.services import cashbook as cash
from shop.api import QuerySchema, Schema, api_user, endpoint, ok
from shop.args import ApiDate, ApiId
from shop.auth.models import Role
from shop.auth.permissions import can_manage_station
from shop.db import commit
from shop.errors import Forbidden, ValidationError
from shop.extensions import db
from shop.money import MAX_FEN
from shop.timeutil import local_date, now_utc
from stations.services import assisted, dashboard, fulfilment
from stock import services as stock_service

# --- shapes ------------------------------------------------------------------------------------


class ShipmentQuery(QuerySchema):
    status: (
        Literal["new", "accepted", "packed", "shipped", "arrived", "ready_for_pickup", "delivered", "canceled"] | None
    ) = None


class ShipmentItem(BaseModel):
    line_id: int
    product_id: int | None
    title: str
    unit: str
    quantity: int
    unit_price_fen: int
    line_total_fen: int
    status: str
    #: The lots (trace codes) the line took or holds.
    lots: list[str] = Field(default_factory=list)


class StationShipmentOut(BaseModel):
    id: str
    order_id: str
    station_id: int
    #: The station the buyer chose, for every shipment of a pick-up order (null for delivery by post):
    #: a shipment whose station_id differs travels there (shipped → arrived) and is handed over there.
    pickup_station_id: int | None
    status: str
    delivery: str
    payment_method: str
    tracking_number: str
    shipping_fen: int
    amount_fen: int
    cash_received: bool
    pickup_failures: int
    created_at: datetime
    delivered_at: datetime | None
    #: Goods of a transfer canceled after it arrived at the chosen station: "returning" to the packing
    #: station (station_id), "returned" once it received them; null when nothing goes back.
    return_status: Literal["returning", "returned"] | None = None
    items: list[ShipmentItem]


class ShipmentList(BaseModel):
    items: list[StationShipmentOut]
    total: int


class TransitionBody(Schema):
    #: receive_return: the packing station received back the goods of a transfer canceled after it
    #: arrived at the chosen station (return_status returning → returned; its stock is released then).
    action: Literal["accept", "pack", "ready", "ship", "receive", "deliver", "pickup", "cancel", "receive_return"]
    #: deliver / pickup of a cash shipment: the cash taken now, exactly the amount due (for a pick-up,
    #: the whole order's cash not yet taken), else 409 `cash_not_received`; not needed when the cash
    #: is already in the book.
    cash_received_fen: int | None = Field(default=None, ge=0, le=MAX_FEN)
    tracking_number: str | None = Field(default=None, max_length=40)
    pickup_code: str | None = Field(default=None, max_length=12)
    #: cancel: what the buyer is told; its length is the cancellation's rule (422 cancel_reason_too_long)
    reason: str | None = None
    #: pack: the lots the packer scanned, {order line id: lot code}; lines not named keep the lots
    #: they were given at checkout (first expiring first). 409 `lot_unavailable` when a lot cannot
    #: supply its line, `lot_not_sellable` when a line still holds an expired or recalled lot.
    lots: dict[int, str] | None = Field(default=None, max_length=100)


class CashEntryOut(CashEntryFields):
    kind: Literal["station_cash", "cod", "refund", "remittance", "correction", "close_difference"]
    order_id: str | None
    shipment_id: str | None
    refund_id: int | None


class CashbookOut(CashbookFields):
    station_id: int
    entries: list[CashEntryOut]


class BenefitIn(Schema):
    household_id: ApiId
    weight: int = Field(default=1, ge=1, le=1_000_000)


class ProductCreateBody(Schema):
    household_id: ApiId
    name: str = Field(min_length=1, max_length=80)
    category_id: ApiId
    price_fen: int = Field(gt=0, le=assisted.MAX_PRICE_FEN)
    unit: str = Field(default="件", min_length=1, max_length=20)
    weight_g: int = Field(default=500, ge=1, le=1_000_000)
    stock: int = Field(default=0, ge=0, le=100_000)
    description: str = Field(default="", max_length=4000)
    season: str = Field(default="", max_length=40)
    harvest_date: ApiDate | None = None
    lot_note: str = Field(default="", max_length=200)
    households: list[BenefitIn] = Field(default_factory=list, max_length=100)
    #: The station to list for: an admin names it; an operator may leave it out (its own station) and
    #: naming another station is a 403 not_your_station.
    station_id: ApiId | None = None


class ProductPatchBody(Schema):
    price_fen: int | None = Field(default=None, gt=0, le=assisted.MAX_PRICE_FEN)
    name: str | None = Field(default=None, min_length=1, max_length=80)
    unit: str | None = Field(default=None, min_length=1, max_length=20)
    stock: int | None = Field(default=None, ge=0, le=100_000)
    stock_delta: int | None = Field(default=None, ge=-100_000, le=100_000)
    #: a stock change's reason; its length is the correction's rule (422 count_reason_too_long)
    reason: str | None = None
    is_published: bool | None = None


class PendingChangeOut(BaseModel):
    """A change of certified facts waiting for the county (null fields: unchanged)."""

    name: str | None
    unit: str | None
    price_fen: int | None
    requested_at: datetime


class ReturnedChangeOut(BaseModel):
    """The change of certified facts the county returned, and why (null fields: not asked)."""

    name: str | None
    unit: str | None
    price_fen: int | None
    photo: bool = Field(description="a new photo was asked for")
    reason: str = Field(description="the county's reason, as the station's product list shows it")
    requested_at: datetime
    decided_at: datetime | None


class StationProductOut(BaseModel):
    id: int
    name: str
    slug: str
    category_id: int
    village_id: int
    station_id: int
    household_id: int | None
    price_fen: int
    unit: str
    weight_g: int
    stock: int
    on_hand: int
    trace_code: str
    approval_status: str
    approval_note: str
    is_published: bool
    image_url: str | None
    pending_change: PendingChangeOut | None = Field(
        default=None,
        description="Price, name or unit asked for on an approved product: not on sale until the "
        "county re-certifies it; price_fen, name and unit above are what is sold.",
    )
    returned_change: ReturnedChangeOut | None = Field(
        default=None,
        description="The latest change the county returned, with its reason: not certified, the product sells "
        "as above; null once the station asks another change (catalog.changes.returned_changes_of).",
    )


# --- helpers -----------------------------------------------------------------------------------


def shipment_out(s) -> dict:
    lots = stock_service.line_lots([ln.id for ln in s.lines])
    return dict(
        id=s.code,
        order_id=s.order.code,
        station_id=s.station_id,
        pickup_station_id=fulfilment.pickup_station_id(s),
        status=s.status,
        delivery=s.order.delivery,
        payment_method=s.order.payment_method,
        tracking_number=s.tracking_number or "",
        shipping_fen=s.shipping_fen or 0,
        amount_fen=fulfilment.shipment_amount_fen(s),
        cash_received=s.cash_received_at is not None,
        pickup_failures=s.pickup_failures or 0,
        created_at=s.created_at,
        delivered_at=s.delivered_at,
        return_status=s.return_status,
        items=[
            dict(
                line_id=ln.id,
                product_id=ln.product_id,
                title=ln.title,
                unit=ln.unit,
                quantity=ln.quantity,
                unit_price_fen=ln.unit_price_fen,
                line_total_fen=ln.line_total_fen,
                status=ln.status,
                lots=[lot.code for lot in lots.get(ln.id, [])],
            )
            for ln in s.lines
        ],
    )


def product_out(p) -> dict:
    image = p.images[0] if p.images else None
    return dict(
        id=p.id,
        name=p.name,
        slug=p.slug,
        category_id=p.category_id,
        village_id=p.village_id,
        station_id=p.station_id,
        household_id=p.listed_for_household_id,
        price_fen=p.price_fen,
        unit=p.unit,
        weight_g=p.weight_g,
        stock=max(p.available, 0),
        on_hand=p.stock.on_hand if p.stock else 0,
        trace_code=p.trace_code,
        approval_status=p.approval_status,
        approval_note=p.approval_note or "",
        is_published=bool(p.is_published),
        image_url=url_for("catalog.media", filename=image.thumb_path) if image else None,
        pending_change=_pending_change_out(p),
        returned_change=_returned_change_out(p),
    )


def _pending_change_out(p) -> dict | None:
    change = pending_change(p.id)
    if change is None:
        return None
    return dict(name=change.name, unit=change.unit, price_fen=change.price_fen, requested_at=change.requested_at)


def _returned_change_out(p) -> dict | None:
    change = returned_changes_of([p.id]).get(p.id)
    if change is None:
        return None
    return dict(
        name=change.name,
        unit=change.unit,
        price_fen=change.price_fen,
        photo=change.image_path is not None,
        reason=change.decision_note,
        requested_at=change.requested_at,
        decided_at=change.decided_at,
    )


def _dump(model, data: dict) -> dict:
    return model.model_validate(data).model_dump(mode="json")


# --- endpoints ---------------------------------------------------------------------------------


@endpoint(
    "/stations/<int:station_id>/shipments",
    query=ShipmentQuery,
    response=ShipmentList,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(403, 404),
)
def station_shipments(station_id: int, query: ShipmentQuery):
    """A station's shipments, oldest first (operator of that station, or admin): its own, and — for the
    pick-up orders collected there — the shipments packed at other stations that it will hand over."""
    station = dashboard.get_station(station_id)
    if not can_manage_station(api_user(), station.id):
        raise Forbidden("not_your_station")
    items = fulfilment.list_station_shipments(station.id, status=query.status)
    return ok({"items": [_dump(StationShipmentOut, shipment_out(s)) for s in items], "total": len(items)})


@endpoint(
    "/shipments/<code>/transition",
    methods=("POST",),
    body=TransitionBody,
    response=StationShipmentOut,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(403, 404, 409),
    load=lambda user, code: fulfilment.get_shipment_for(user, code[:24]),  # 404 before the body is read
)
def shipment_transition(code: str, body: TransitionBody, loaded):
    """Move a shipment: accept, pack, ship (tracking number; to the chosen pick-up station for a pick-up
    order packed elsewhere), receive (at the chosen pick-up station), deliver, pickup (the order's code:
    hands the whole order over), cancel. A step of the other station is 403."""
    user, shipment = api_user(), loaded
    try:
        fulfilment.apply_action(
            shipment,
            body.action,
            actor=user,
            now=now_utc(),
            tracking_number=body.tracking_number,
            pickup_code=body.pickup_code,
            reason=body.reason,
            cash_received_fen=body.cash_received_fen,
            lots={k: v[:16] for k, v in (body.lots or {}).items()},
        )
    except fulfilment.WrongPickupCode:
        commit()  # the failure count sticks; the error handler then answers 422
        raise
    commit()
    db.session.refresh(shipment)
    return ok(_dump(StationShipmentOut, shipment_out(shipment)))


def _own_station(station_id: int):
    station = dashboard.get_station(station_id)
    if not can_manage_station(api_user(), station.id):
        raise Forbidden("not_your_station")
    return station


def _station_entry_refs(e) -> dict:
    return dict(
        order_id=cash.order_of(e).code if e.order_id else None,
        shipment_id=e.shipment.code if e.shipment is not None else None,
        refund_id=e.refund_id,
    )


def cashbook_out(station_id: int, day: dt.date) -> dict:
    return dict(
        station_id=station_id, **book_out(station_id, day, till=cash.STATION_TILL, entry_refs=_station_entry_refs)
    )


@endpoint(
    "/stations/<int:station_id>/cashbook",
    query=CashbookQuery,
    response=CashbookOut,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(403, 404),
)
def station_cashbook(station_id: int, query: CashbookQuery):
    """A station's cash book for one Beijing day (default today): entries, expected, counted, closed."""
    station = _own_station(station_id)
    return ok(_dump(CashbookOut, cashbook_out(station.id, query.date or local_date(now_utc()))))


@endpoint(
    "/stations/<int:station_id>/cashbook/close",
    methods=("POST",),
    body=CashCloseBody,
    response=CashbookOut,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(403, 404, 409),
    load=lambda user, station_id: _own_station(station_id),  # another station: 403 whatever the body
)
def close_station_cashbook(station_id: int, body: CashCloseBody, loaded):
    """The daily close (日结): expected from the book, counted by the operator, the difference with a note."""
    station = loaded
    cash.close_day(
        station.id, body.date, counted_fen=body.counted_fen, note=body.note or "", actor=api_user(), now=now_utc()
    )
    commit()
    return ok(_dump(CashbookOut, cashbook_out(station.id, body.date)))


@endpoint(
    "/stations/<int:station_id>/cashbook/remittances",
    methods=("POST",),
    body=RemittanceBody,
    response=CashbookOut,
    status=201,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(403, 404, 409),
    load=lambda user, station_id: _own_station(station_id),  # another station: 403 whatever the body
)
def remit_station_cash(station_id: int, body: RemittanceBody, loaded):
    """Cash handed over to the platform: a `remittance` entry (negative) in the book of `date` (default
    the open day); a closed day answers 409 `cash_day_closed`, more than the cash in hand 409
    `remittance_exceeds_cash`, cash the till owes buyers (refunds 待退还) 409 `remittance_exceeds_free_cash`.
    Returns that day's book."""
    station = loaded
    entry = cash.remit(
        station.id, body.amount_fen, actor=api_user(), now=now_utc(), note=body.note or "", day=body.date
    )
    commit()
    return ok(_dump(CashbookOut, cashbook_out(station.id, entry.business_date)), 201)


@endpoint(
    "/stations/<int:station_id>/cashbook/corrections",
    methods=("POST",),
    body=CorrectionBody,
    response=CashbookOut,
    status=201,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(403, 404, 409),
    load=lambda user, station_id: _own_station(station_id),  # another station: 403 whatever the body
)
def correct_station_cash(station_id: int, body: CorrectionBody, loaded):
    """An error put right: a signed `correction` entry with its reason (required), in the book of
    `date` (default the open day); a closed day answers 409 `cash_day_closed`, a negative amount larger
    than the cash in hand 409 `correction_exceeds_cash`. Returns that day's book."""
    station = loaded
    entry = cash.correct(
        station.id, body.amount_fen, reason=body.reason, actor=api_user(), now=now_utc(), day=body.date
    )
    commit()
    return ok(_dump(CashbookOut, cashbook_out(station.id, entry.business_date)), 201)


def _benefit(body: ProductCreateBody) -> list[tuple[int, int]]:
    seen = set()
    links = []
    for item in body.households:
        if item.household_id in seen:
            raise ValidationError("household_repeated", fields={"households": "duplicate"})
        seen.add(item.household_id)
        links.append((item.household_id, item.weight))
    return links


@endpoint(
    "/products",
    methods=("POST",),
    body=ProductCreateBody,
    response=StationProductOut,
    status=201,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(403, 404),
)
def create_station_product(body: ProductCreateBody):
    """Create a product for a household (代卖); it waits for county approval."""
    user = api_user()
    # an operator lists for its own station: naming another one is refused (403), not silently replaced
    station_id = body.station_id or user.station_id
    if station_id is None:
        raise ValidationError("station_id_required", fields={"station_id": "required"})
    if not can_manage_station(user, station_id):
        raise Forbidden("not_your_station")
    station = dashboard.get_station(station_id)
    product = assisted.create_assisted_product(
        station,
        assisted.AssistedProductInput(
            household_id=body.household_id,
            name=body.name,
            category_id=body.category_id,
            price_fen=body.price_fen,
            unit=body.unit,
            weight_g=body.weight_g,
            initial_stock=body.stock,
            description=body.description,
            season=body.season,
            harvest_date=body.harvest_date,
            lot_note=body.lot_note,
            benefit=_benefit(body),
        ),
        actor=user,
        now=now_utc(),
    )
    commit()
    db.session.refresh(product)
    return ok(_dump(StationProductOut, product_out(product)), 201)


@endpoint(
    "/products/<int:product_id>",
    methods=("PATCH",),
    body=ProductPatchBody,
    response=StationProductOut,
    roles=(Role.OPERATOR,),
    tags=("stations",),
    errors=(403, 404, 409),
    load=assisted.get_product_for,  # another station's product: 404 before its body is read
)
def update_station_product(product_id: int, body: ProductPatchBody, loaded):
    """Change price, name, unit, stock or status; on an approved product a new price, name or unit waits for the county (pending_change).

    On an approved (certified) product, a new price, name or unit does not go live: it is returned
    as `pending_change` and waits for the county's re-certification, while the product keeps
    selling with its approved values (`price_fen`, `name`, `unit` in the answer)."""
    product = loaded
    assisted.update_product(
        product,
        actor=api_user(),
        now=now_utc(),
        price_fen=body.price_fen,
        is_published=body.is_published,
        stock=body.stock,
        stock_delta=body.stock_delta,
        reason=body.reason,
        name=body.name,
        unit=body.unit,
    )
    commit()
    db.session.refresh(product)
    return ok(_dump(StationProductOut, product_out(product)))
