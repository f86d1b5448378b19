"""JSON API endpoints of the orders package (added to shop.api's blueprint).

POST /orders, GET /orders, GET /orders/<code>, POST /orders/<code>/cancel — the caller's own
orders only (another's is a 404). Orders are named by their public code. An order's items are
products and booking lines (a stay, a session's seats, a day's tickets), placed, paid and cancelled
together (`orders.services.placement`, `orders.bookables`). An order placed for something else (an
organisation's approved purchase) names it in `origin`, as the buyer's order page does (`orders.origins`).
POST /orders/<code>/bank-transfer — the county office or a station selling in the order records the
bank transfer that pays it (orders.services.transfers); anyone else gets a 404.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import selectinload

from orders.bookables import BookingItem
from orders.models import Order, OrderLine, OrderStatus, Shipment
from orders.origins import OrderOrigin, origins_of
from orders.providers import ProviderError
from orders.services import transfers
from orders.services.payments import NewCardPayment, buyer_cancel_order, current_payment, start_new_payment
from orders.services.pickup import payment_code_to_show, shipment_code_to_show
from orders.services.placement import AddressData, PlacementRequest, place_order
from orders.services.recalled import HOLDS, recall_marks
from orders.services.tabs import buyer_orders
from shop.api import QuerySchema, Schema, api_user, committed, endpoint, ok
from shop.codes import typed_code
from shop.db import commit, rollback
from shop.errors import NotFound
from shop.extensions import db
from shop.money import MAX_FEN
from shop.timeutil import now_utc

Quantity = Annotated[int, Field(ge=1, le=999)]
Id = Annotated[int, Field(ge=1, le=2**53)]
Guests = Annotated[int, Field(ge=1, le=100)]
Rooms = Annotated[int, Field(ge=1, le=50)]


#: Keys that name a booking line: an item with a product and one of these mixes two kinds (422).
BOOKING_KEYS = frozenset({"listing_id", "checkin", "checkout", "session_id", "date", "guests", "units"})


class GoodsItemIn(Schema):
    """A product and its quantity (other keys are ignored, as a client's prices are; keys of a
    booking line are refused)."""

    model_config = ConfigDict(title="ProductItem")
    product_id: Id
    quantity: Quantity

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data):
        if isinstance(data, dict) and BOOKING_KEYS & set(data):
            raise ValueError("an item is a product or a booking line, not both")
        return data


class StayItemIn(Schema):
    """A stay: nights [checkin, checkout) in `units` rooms of a room type (the listing's first when
    absent), Beijing dates."""

    model_config = ConfigDict(extra="forbid", title="StayItem")
    listing_id: Id
    checkin: date
    checkout: date
    guests: Guests
    units: Rooms = 1
    unit_type_id: Id | None = None


class SessionItemIn(Schema):
    """Seats of an experience's session."""

    model_config = ConfigDict(extra="forbid", title="SessionItem")
    listing_id: Id
    session_id: Id
    guests: Guests


class TicketItemIn(Schema):
    """A day's tickets (a Beijing date) of a ticket kind (the listing's first when absent)."""

    model_config = ConfigDict(extra="forbid", title="TicketItem")
    listing_id: Id
    date: date
    guests: Guests
    unit_type_id: Id | None = None


def _booking_item(item) -> BookingItem:
    if isinstance(item, StayItemIn):
        return BookingItem(
            listing_id=item.listing_id,
            guests=item.guests,
            check_in=item.checkin,
            check_out=item.checkout,
            units=item.units,
            unit_type_id=item.unit_type_id,
        )
    if isinstance(item, SessionItemIn):
        return BookingItem(listing_id=item.listing_id, guests=item.guests, session_id=item.session_id)
    return BookingItem(
        listing_id=item.listing_id, guests=item.guests, check_in=item.date, unit_type_id=item.unit_type_id
    )


class OrderAddressIn(Schema):
    name: str = Field(default="", max_length=40)
    phone: str = Field(default="", max_length=20)
    province: str = Field(default="", max_length=20)
    city: str = Field(default="", max_length=20)
    district: str = Field(default="", max_length=20)
    line: str = Field(default="", max_length=200)


class OrderIn(Schema):
    #: Products and booking lines; an item with the fields of two kinds is refused (422).
    items: list[GoodsItemIn | StayItemIn | SessionItemIn | TicketItemIn] = Field(min_length=1, max_length=50)
    #: Needed when the order has products delivered by post.
    address: OrderAddressIn | None = None
    delivery: Literal["ship", "pickup"] = "ship"
    pickup_station_id: Id | None = None
    #: With booking lines: card; "arrival" only for one booking line alone whose listing allows it. Goods:
    #: "station_cash" with "pickup" only (422 station_cash_not_for_ship), "cod" with "ship" only (422
    #: cod_not_for_pickup).
    payment_method: Literal["card", "station_cash", "cod", "arrival"]
    #: Optional: the total the buyer saw; a different server total is refused with 409 price_changed. Bounded as
    #: every amount is (no total exceeds MAX_FEN).
    shown_total_fen: int | None = Field(default=None, le=MAX_FEN)


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # answered from the shipment's order lines

    line_id: int = Field(
        validation_alias="id",
        description="the order line's id, as the line's URLs name it (`/orders/{code}/lines/{line_id}/review`, "
        "`…/refund-request`)",
    )
    product_id: int | None
    title: str
    unit: str
    quantity: int
    unit_price_fen: int
    line_total_fen: int
    status: str


class OrderShipmentOut(BaseModel):
    id: str
    station_id: int
    status: str
    shipping_fen: int
    tracking_number: str
    pickup_code: str | None
    #: The code to show at the packing station's counter when paying there before the parcel leaves (到站点付款
    #: of a parcel shipped home, placed before that was refused; `pickup.payment_code_to_show`), else null.
    payment_code: str | None = None
    #: The station the buyer chose, for every shipment of a pick-up order (null for delivery by post).
    pickup_station_id: int | None
    items: list[LineOut]


class TransferToOut(BaseModel):
    payee: str
    bank: str
    account: str
    reference: str = Field(description="write it in the transfer's remark (附言): the order code")
    amount_fen: int


class BookingLineOut(BaseModel):
    id: str = Field(description="the booking's code (GET /bookings/<code>)")
    line_id: int = Field(
        description="the order line it is sold through, as the line's URLs name it (a completed stay's review: "
        "`/orders/{code}/lines/{line_id}/review`)"
    )
    listing_id: int
    title: str
    status: str = Field(description="held, confirmed, checked_in, completed, canceled, expired, no_show")
    checkin: date
    checkout: date
    session_id: int | None
    guests: int
    units: int
    total_fen: int
    refunded_fen: int
    line_status: str
    confirmation_code: str | None = Field(description="shown to the host on arrival, once confirmed")


class OrderPaymentOut(BaseModel):
    method: str
    status: str
    client_secret: str | None = None
    refunded_fen: int = 0
    transfer_to: TransferToOut | None = Field(
        default=None, description="bank_transfer while unpaid: the account to pay and the reference to quote"
    )


class OrderOriginOut(BaseModel):
    label: str = Field(description="the buyer's order page's text for it, in the answer's language (来自采购单 12)")
    url: str = Field(description="the path of the page it names (/purchases/12), one the caller may open")


class OrderOut(BaseModel):
    id: str
    number: str
    status: str
    subtotal_fen: int
    total_fen: int
    shipping_fen: int
    currency: str
    delivery: str
    pickup_station_id: int | None
    created_at: datetime
    expires_at: datetime | None = Field(
        description="while the order waits for its payment (`pending`), the time it expires unpaid (请在…前支付, as the "
        "order page says it); null once it is paid, confirmed to be paid later, canceled or expired"
    )
    shipments: list[OrderShipmentOut]
    #: The booking lines (stays, sessions, tickets) of the order.
    bookings: list[BookingLineOut] = []
    payment: OrderPaymentOut
    recall: Literal["holds", "canceled"] | None = Field(
        default=None,
        description="a recalled lot (召回): `holds`, the order holds units of one (not to be eaten; what was paid "
        "for them comes back; an unpaid order is not paid for); `canceled`, canceled unpaid because of one",
    )
    origin: OrderOriginOut | None = Field(
        default=None,
        description="where the order came from, as the buyer's order page says it: an organisation's approved "
        "purchase it was placed for (来自采购单 12, linking to the purchase); null for an order placed at the "
        "shop's checkout, or when the caller may not open that page (a buyer who left the organisation)",
    )


class OrderList(BaseModel):
    items: list[OrderOut]
    total: int
    page: int
    per_page: int


class OrderListQuery(QuerySchema):
    tab: Literal["all", "to_pay", "to_ship", "to_receive", "to_use", "to_review", "after_sale"] = Field(
        default="all",
        description="我的订单's tabs: all, to pay (待付款), to ship (待发货), to receive (待收货), "
        "to use (待使用: a booking confirmed — paid, or paid at the host's on arrival, its payment method `cod` — "
        "or checked in, until its stay is completed), to review (待评价), refunds and after-sale (退款售后).",
    )
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=20, ge=1, le=100)


def shows_client_secret(order_status: str, payment) -> bool:
    """The answer carries the PaymentIntent's client secret while the card order waits for payment."""
    return payment is not None and order_status == OrderStatus.PENDING and payment.provider == "stripe"


def order_out(order: Order, recall: str | None = None, *, origin: OrderOrigin | None) -> OrderOut:
    """The order as the API shows it; `recall`, its mark from `orders.services.recalled.recall_marks` (an
    order holding a recalled lot gets no client secret and no account to transfer to: it is not paid
    for); `origin`, where it came from for the caller (`orders.origins.origins_of`, `one_order_out`),
    None when it has none the caller may follow."""
    payment = current_payment(order)
    show_secret = shows_client_secret(order.status, payment) and recall != HOLDS
    return OrderOut(
        id=order.code,
        number=order.code,
        status=order.status,
        subtotal_fen=order.subtotal_fen,
        total_fen=order.total_fen,
        shipping_fen=order.shipping_fen,
        currency=order.currency,
        delivery=order.delivery,
        pickup_station_id=order.pickup_station_id,
        created_at=order.created_at,
        expires_at=order.expires_at if order.status == OrderStatus.PENDING else None,  # the order page's rule
        shipments=[
            OrderShipmentOut(
                id=s.code,
                station_id=s.station_id,
                status=s.status,
                shipping_fen=s.shipping_fen,
                tracking_number=s.tracking_number,
                pickup_code=shipment_code_to_show(order, s) or None,
                payment_code=payment_code_to_show(order, s) or None,
                pickup_station_id=order.pickup_station_id if order.delivery == "pickup" else None,
                items=s.lines,
            )
            for s in order.shipments
        ],
        bookings=[
            _booking_line_out(line) for line in order.lines if line.kind == "booking" and line.booking is not None
        ],
        payment=OrderPaymentOut(
            method=order.payment_method,
            status=payment.state if payment else "none",
            client_secret=payment.client_secret if show_secret else None,
            refunded_fen=payment.refunded_fen if payment else 0,
            transfer_to=None if recall == HOLDS else _transfer_to(order),  # a recalled lot is not paid for
        ),
        recall=recall,
        origin=OrderOriginOut(label=origin.label, url=origin.url) if origin is not None else None,
    )


def one_order_out(order: Order, viewer) -> OrderOut:
    """One existing order as every answer about it shows it (detail, cancel, pay): with its recall
    mark and its origin for `viewer` (a list asks `recall_marks` and `origins_of` once for all)."""
    return order_out(
        order,
        recall_marks([order.id]).get(order.id),
        origin=origins_of([order.id], viewer=viewer).get(order.id),
    )


def _transfer_to(order: Order) -> TransferToOut | None:
    payment = current_payment(order)
    if payment is None or not transfers.awaiting_transfer(order):
        return None
    payee = transfers.payee()
    return TransferToOut(
        payee=payee.name,
        bank=payee.bank,
        account=payee.account,
        reference=transfers.transfer_reference(order),
        amount_fen=payment.amount_fen,
    )


def _booking_line_out(line: OrderLine) -> BookingLineOut:
    b = line.booking
    return BookingLineOut(
        id=b.code,
        line_id=line.id,
        listing_id=b.listing_id,
        title=line.title,
        status=b.status,
        checkin=b.check_in_date,
        checkout=b.check_out_date,
        session_id=b.session_id,
        guests=b.guests,
        units=b.units,
        total_fen=b.total_fen,
        refunded_fen=b.refunded_fen,
        line_status=line.status,
        confirmation_code=b.confirmation_code
        if b.status in ("confirmed", "checked_in") and b.confirmation_code
        else None,
    )


def output_options() -> tuple:
    """Loader options for what `order_out` reads of an order: its shipments, their lines, its payments and
    its booking lines, one query per table whatever the number of orders (else each order, and each
    shipment, would lazy-load its own)."""
    return (
        selectinload(Order.shipments).selectinload(Shipment.lines),
        selectinload(Order.payments),
        selectinload(Order.lines).selectinload(OrderLine.booking),
    )


def order_for_output(order_id: int) -> Order:
    """The order with its shipments, their lines and its payments, in one query per table (the
    commit expired them; `order_out` would otherwise lazy-load the lines shipment by shipment)."""
    return db.session.scalars(
        sa.select(Order)
        .where(Order.id == order_id)
        .options(*output_options())
        .execution_options(populate_existing=True)
    ).one()


def own_order(code: str, user) -> Order:
    """The caller's order by public code, as typed (`shop.codes.typed_code`: any case, spaces around);
    anyone else's (or none) is a 404."""
    order = db.session.scalar(sa.select(Order).where(Order.code == typed_code(code)[:16]))
    if order is None or user is None or order.user_id != user.id:
        raise NotFound("order_not_found")
    return order


def begin_card_payment(new: NewCardPayment, out: OrderOut) -> OrderOut:
    """After the order is committed: create the PaymentIntent (network), store it, commit. Returns
    `out` (the order as placed, serialised before that commit) with the started payment; a provider
    failure leaves the order pending and `out` as it was: the order page offers to try again."""
    try:
        payment = start_new_payment(new, now=now_utc())
        started = out.payment.model_copy(
            update={
                "status": payment.state,
                "client_secret": payment.client_secret if shows_client_secret(out.status, payment) else None,
            }
        )
        commit()
    except ProviderError:
        rollback()
        return out
    return out.model_copy(update={"payment": started})


@endpoint(
    "/orders", ("POST",), body=OrderIn, response=OrderOut, status=201, auth=True, tags=("orders",), errors=(404, 409)
)
def create_order(body: OrderIn):
    """Place an order (prices computed on the server) of products and booking lines: `{product_id,
    quantity}`, a stay `{listing_id, checkin, checkout, guests, units?}`, a session `{listing_id,
    session_id, guests}` or a day's tickets `{listing_id, date, guests}`. One transaction: stock
    allocated and every booking held (as POST /bookings), or nothing — a booking line without room is a
    409 `booking_line_unavailable` naming it (`booking_line_closed` and the day when its dates include a
    day the host closed), and nothing is allocated or charged. Booking lines are
    paid by card with the rest (one payment; the order expires with its holds); one booking alone may
    be paid on arrival (`arrival`) when its listing allows it. Unknown listing 404; dates reversed or
    past, guests out of range, an item mixing kinds: 422. Goods are paid at the station (station_cash)
    when picked up only, cash on delivery (cod) when shipped home only: another combination is a 422
    (`station_cash_not_for_ship`, `cod_not_for_pickup`) and nothing is placed. Pay-later orders (station_cash, cod) are
    limited: at most MAX_OPEN_PAY_LATER_ORDERS open per account (409 `too_many_open_orders`) and
    MAX_PAY_LATER_QUANTITY units per line (422); an uncollected station-cash pick-up order is canceled
    after PICKUP_UNCOLLECTED_DAYS."""
    address = AddressData(**body.address.model_dump()) if body.address else AddressData()
    order = place_order(
        PlacementRequest(
            items=[(i.product_id, i.quantity) for i in body.items if isinstance(i, GoodsItemIn)],
            bookings=[_booking_item(i) for i in body.items if not isinstance(i, GoodsItemIn)],
            payment_method=body.payment_method,
            delivery=body.delivery,
            address=address,
            pickup_station_id=body.pickup_station_id,
        ),
        buyer=api_user(),
        now=now_utc(),
        shown_total_fen=body.shown_total_fen,
    )
    # Everything the answer shows is in the session (nothing changes at commit): serialise now, so
    # that the commit's expiry does not cost a reload of the order, its shipments, lines and bookings.
    out = order_out(order, origin=None)  # placed at the shop's checkout: it came from nowhere else
    payment = current_payment(order)
    new = NewCardPayment.of(payment) if order.payment_method == "card" and payment is not None else None
    commit()
    if new is not None:
        out = begin_card_payment(new, out)
    return ok(out, 201)


@endpoint("/orders", ("GET",), query=OrderListQuery, response=OrderList, auth=True, tags=("orders",))
def list_orders(query: OrderListQuery):
    """The caller's orders, newest first; `tab` picks one of 我的订单's tabs. A fixed number of statements
    whatever the number of orders: their rows, recall marks and origins are read for the whole page."""
    user = api_user()
    base = buyer_orders(user.id, query.tab)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.order_by(None).subquery()))
    orders = db.session.scalars(
        base.options(*output_options()).offset((query.page - 1) * query.per_page).limit(query.per_page)
    ).all()
    marks = recall_marks(o.id for o in orders)
    origins = origins_of((o.id for o in orders), viewer=user)
    return ok(
        OrderList(
            items=[order_out(o, marks.get(o.id), origin=origins.get(o.id)) for o in orders],
            total=total,
            page=query.page,
            per_page=query.per_page,
        )
    )


@endpoint("/orders/<code>", ("GET",), response=OrderOut, auth=True, tags=("orders",))
def get_order(code: str):
    """One of the caller's orders."""
    user = api_user()
    order = order_for_output(own_order(code, user).id)  # its lines and bookings at once, not shipment by shipment
    return ok(one_order_out(order, user))


@endpoint("/orders/<code>/cancel", ("POST",), response=OrderOut, auth=True, tags=("orders",), errors=(409,))
def cancel(code: str):
    """Cancel before shipping (stock released, a paid card order refunded). Called again for an order
    canceled already (a retry, a second tap), it changes nothing and answers the order."""
    user = api_user()
    order = own_order(code, user)
    buyer_cancel_order(order, actor=user, now=now_utc())  # False: canceled already, nothing changed
    commit()  # either way: the order's lock is not held while the answer is read
    db.session.refresh(order)
    return ok(one_order_out(order, user))


class BankTransferIn(Schema):
    amount_fen: int = Field(ge=1, le=MAX_FEN, description="the amount that arrived: exactly what the order asks")
    reference: str = Field(max_length=100, description="the bank's reference (流水号), 4 to 64 letters, digits, - / _")
    received_on: date | None = Field(default=None, description="the day it arrived (Beijing; default today)")


class BankTransferOut(BaseModel):
    order: str
    order_status: str
    payment_status: str
    amount_fen: int
    reference: str
    recorded: bool = Field(description="false when this transfer was already recorded (nothing changed)")


@endpoint(
    "/orders/<code>/bank-transfer",
    ("POST",),
    body=BankTransferIn,
    response=BankTransferOut,
    auth=True,
    tags=("orders",),
    errors=(404, 409),
    summary="Record the bank transfer (对公转账) that pays an order (county office or a station selling in it)",
    load=lambda user, code: transfers.order_for_recorder(code, user),  # 404 before the body is read
)
def record_bank_transfer(code: str, body: BankTransferIn, loaded):
    """The amount must be what the order's payment asks (422 `transfer_amount_mismatch` with
    `amount_due_fen`; nothing is recorded); the same transfer again answers 200 with `recorded: false`
    and changes nothing; another transfer for a paid order is 409 `transfer_already_recorded`, a
    reference that paid another order 409 `transfer_reference_used`. The order is confirmed and the
    stations fulfil it; households are credited at hand-over, as for a card payment."""
    user, order = api_user(), loaded
    changed = transfers.record_transfer(
        order,
        amount_fen=body.amount_fen,
        reference=body.reference,
        received_on=body.received_on,
        actor=user,
        now=now_utc(),
    )
    payment = current_payment(order)
    assert payment is not None  # a bank-transfer order has its payment from placement
    return committed(
        BankTransferOut(
            order=order.code,
            order_status=order.status,
            payment_status=payment.state,
            amount_fen=payment.amount_fen,
            reference=payment.provider_ref or "",
            recorded=changed,
        )
    )
