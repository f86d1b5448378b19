"""Placing an order (pretix `_perform_order`, oscar `OrderCreator`): one service, one transaction.

validate input -> load products -> re-price every line on the server (client prices are never
read) -> compute shipping per station (orders.services.shipping) -> compare with the total the
buyer saw (`PriceChanged`) -> allocate stock in ascending stock-record id order
(`stock.services.allocate`, guarded atomic UPDATEs: never oversells) -> write the order,
one shipment per fulfilling station, lines snapshotting title, unit, price, station, village,
category, commission and benefit split, and the payment -> record every initial status -> each line
takes its units from lots, first expiring first (`allocate_lots`; an expired lot is never sold).
A product whose food-safety papers do not count today is refused in the same read and transaction
(`catalog.papers.papers_ok_clause`, 409 `papers_missing`).
Card orders are `pending` and expire after ORDER_PAYMENT_MINUTES; pay at station (a pick-up order only)
and cash on delivery (a parcel shipped home only; `check_method_fits_delivery`) are `confirmed` at once
(the station confirms the cash later). An organisation's approved
purchase (`institutional`) may be paid by bank transfer (对公转账, `pending` until the transfer is
recorded, `orders.services.transfers`), and its unpaid orders expire after INSTITUTIONAL_PAYMENT_DAYS;
its lines accepted from a station's quote carry the quoted unit price (`agreed_prices`, read from
the answered quote by the server, never from the client). Only `flush()` here.

Booking lines (a stay, a session's seats, a day's tickets) go in the same order: after the stock is
allocated, the registered `orders.bookables.BookingLines` (tourism) holds each under its unit-type
lock, the same hold as `POST /bookings`; a line without room raises and the caller's rollback
takes the stock back too (all or nothing). An order with booking lines is paid by card, once for
everything (it expires with its holds); one booking alone may instead be paid on arrival when its
listing allows it (`payment_method="arrival"`, as `POST /bookings`): cash to the host is not cash at a
station, so a mixed order offers only the methods every line allows — card.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from catalog.models import ApprovalStatus, BenefitLink, Category, Product
from catalog.papers import PapersMissing, gaps_of, papers_ok_clause
from catalog.services import benefit_split
from orders.bookables import ARRIVAL, BookingItem, booking_lines, item_of
from orders.models import (
    CURRENCY,
    Cart,
    Delivery,
    LineStatus,
    Order,
    OrderLine,
    OrderPayment,
    OrderStatus,
    PaymentMethod,
    PaymentState,
    Shipment,
    ShipmentStatus,
)
from orders.providers import card_payments_enabled
from orders.services.cart import MAX_CART_LINES, check_quantity, chosen_lines
from orders.services.common import notify
from orders.services.limits import lock_pay_later, open_orders_column, open_pay_later_orders, refuse_over_cap
from orders.services.shipping import shipping_fen
from shop import pagecache
from shop.codes import new_numeric_code, new_order_code, new_secret
from shop.db import statement
from shop.errors import Conflict, ValidationError
from shop.extensions import db
from shop.history import record_statuses
from shop.phone import is_mobile, normalise_phone
from shop.timeutil import local_date, now_utc
from stock.models import Station, StockRecord
from stock.services import LineStock, OutOfStock, allocate, allocate_lots

ADDRESS_FIELDS = ("name", "phone", "province", "city", "district", "line")
ADDRESS_LIMITS = {"name": 40, "phone": 20, "province": 20, "city": 20, "district": 20, "line": 200}


class PriceChanged(Conflict):
    code = "price_changed"


@dataclass
class AddressData:
    name: str = ""
    phone: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    line: str = ""


def check_address(address: AddressData) -> None:
    """The one rule of a delivery address, at checkout, in the API and in the address book
    (`orders.services.addresses`): every field filled and none too long (422 `address_incomplete`, each
    field named `address.<field>`: `required` / `too_long`), a mobile number (422 `invalid_mobile`)."""
    errors = {}
    for name in ADDRESS_FIELDS:
        value = (getattr(address, name) or "").strip()
        if not value:
            errors[f"address.{name}"] = "required"
        elif len(value) > ADDRESS_LIMITS[name]:
            errors[f"address.{name}"] = "too_long"
    if errors:
        raise ValidationError("address_incomplete", fields=errors)
    if not is_mobile(address.phone):
        raise ValidationError("invalid_mobile", fields={"address.phone": "invalid"})


@dataclass
class PlacementRequest:
    """What the buyer asks for. Prices are deliberately absent."""

    items: list[tuple[int, int]]  # (product_id, quantity)
    payment_method: str
    delivery: str = Delivery.SHIP
    address: AddressData = field(default_factory=AddressData)
    pickup_station_id: int | None = None
    #: Placed for an organisation's approved purchase (institutions): bank transfer allowed, the longer
    #: payment term. Set by server code only.
    institutional: bool = False
    #: {product id: unit price in fen} agreed in a station's answer to a quote request (institutions):
    #: read by the server from the answered quote, never from a client.
    agreed_prices: dict[int, int] = field(default_factory=dict)

    #: Booking lines, held by tourism in the same transaction (`orders.bookables`).
    bookings: list[BookingItem] = field(default_factory=list)


#: Paid later than the placement and held `pending` meanwhile (expiring): a card, a bank transfer.
PAID_BEFORE_FULFILMENT = (PaymentMethod.CARD, PaymentMethod.BANK_TRANSFER)

#: Guests of one booking line and rooms of one stay line, at most (the API's bounds; tourism's own
#: rules — a room's or session's capacity — come on top).
MAX_GUESTS = 100
MAX_UNITS = 50


def _valid_count(value, high: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and 1 <= value <= high


#: The methods goods may be paid with, by delivery. Cash on delivery (货到付款) is paid at the door, to
#: whoever brings the parcel: a shipped order only. A pick-up order is paid at the station (到站点付款)
#: when collected, or online. Paying at the station is not offered for a parcel shipped home (货到付款 is how
#: cash is paid for one); such orders placed before that rule are paid at the counter before their parcel
#: leaves (`amounts.paid_at_the_counter_before_shipping`).
GOODS_PAYMENT_METHODS: dict[str, tuple[str, ...]] = {
    Delivery.SHIP: ("card", "cod"),
    Delivery.PICKUP: ("card", "station_cash"),
}


def payment_methods_for(
    *, goods: bool, booking_methods: list[tuple[str, ...]], delivery: str = Delivery.SHIP
) -> tuple[str, ...]:
    """The payment methods an order of these lines may use: those every line allows. Goods allow
    card and, collected (`delivery`), station cash or, shipped, cash on delivery (`GOODS_PAYMENT_METHODS`); a booking
    line allows what its listing allows (card, arrival). Cash to a host on arrival is not cash at a
    station, and one payment cannot be taken at two tills: so an order with booking lines is paid by
    card, unless it is one booking alone (then as its listing allows, as `POST /bookings`). Card is
    offered only when it is configured."""
    card = card_payments_enabled()
    if not booking_methods:
        methods: tuple[str, ...] = GOODS_PAYMENT_METHODS.get(delivery, GOODS_PAYMENT_METHODS[Delivery.SHIP])
    elif not goods and len(booking_methods) == 1:
        methods = booking_methods[0]
    else:
        methods = ("card",)
    return tuple(m for m in methods if m != "card" or card)


def check_method_fits_delivery(payment_method: str, delivery: str) -> None:
    """Refuses a goods payment that another delivery allows but this one does not (`GOODS_PAYMENT_METHODS`),
    before anything is written: cash on delivery of a pick-up order (422 `cod_not_for_pickup`), paying at
    the station for a parcel shipped home (422 `station_cash_not_for_ship`: 货到付款 or 到站自提 instead)."""
    offered = {m for methods in GOODS_PAYMENT_METHODS.values() for m in methods}
    if payment_method not in offered or payment_method in GOODS_PAYMENT_METHODS[delivery]:
        return
    misfit = {"payment_method": "not_for_delivery"}
    if delivery == Delivery.PICKUP:  # 货到付款: paid at the door of a parcel shipped home
        raise ValidationError("cod_not_for_pickup", fields=misfit)
    raise ValidationError("station_cash_not_for_ship", fields=misfit)  # 到站点付款: a pick-up's


def _validate_bookings(req: PlacementRequest) -> None:
    for i, item in enumerate(req.bookings):
        listing_id = item.listing_id
        if isinstance(listing_id, bool) or not isinstance(listing_id, int) or listing_id <= 0:
            raise ValidationError("invalid_listing_id", fields={f"items.{i}.listing_id": "invalid"})
        if not _valid_count(item.guests, MAX_GUESTS):
            raise ValidationError(
                "booking_guests_out_of_range", high=MAX_GUESTS, fields={f"items.{i}.guests": "out_of_range"}
            )
        if not _valid_count(item.units, MAX_UNITS):
            raise ValidationError(
                "booking_units_out_of_range", high=MAX_UNITS, fields={f"items.{i}.units": "out_of_range"}
            )
    if req.payment_method == ARRIVAL and (req.items or len(req.bookings) != 1):
        raise ValidationError("arrival_one_booking_only", fields={"payment_method": "card only"})
    if req.bookings and req.payment_method not in ("card", ARRIVAL):
        raise ValidationError("booking_lines_card_only", fields={"payment_method": "card only"})


def _validate(req: PlacementRequest) -> dict[int, int]:
    if req.payment_method not in set(PaymentMethod) and not (req.bookings and req.payment_method == ARRIVAL):
        raise ValidationError("payment_method_required", fields={"payment_method": "invalid"})
    if req.delivery not in set(Delivery):
        raise ValidationError("delivery_required", fields={"delivery": "invalid"})
    if req.items:  # bookings alone are neither shipped nor collected
        check_method_fits_delivery(req.payment_method, req.delivery)
    if not req.items and not req.bookings:
        raise ValidationError("no_items", fields={"items": "empty"})
    if len(req.items) + len(req.bookings) > MAX_CART_LINES:
        raise ValidationError("too_many_items", fields={"items": "too_many"})
    _validate_bookings(req)
    wanted: dict[int, int] = {}
    for i, (product_id, quantity) in enumerate(req.items):
        if isinstance(product_id, bool) or not isinstance(product_id, int) or product_id <= 0:
            raise ValidationError("invalid_product_id", fields={f"items.{i}.product_id": "invalid"})
        check_quantity(quantity)
        wanted[product_id] = check_quantity(wanted.get(product_id, 0) + quantity)
    if not wanted:
        pass  # bookings only: nothing is shipped or collected
    elif req.delivery == Delivery.SHIP:
        check_address(req.address)
    elif not req.pickup_station_id:
        raise ValidationError("pickup_station_required", fields={"pickup_station_id": "required"})
    if req.payment_method == PaymentMethod.BANK_TRANSFER and not req.institutional:
        raise ValidationError("bank_transfer_institutional_only", fields={"payment_method": "unavailable"})
    if req.payment_method == PaymentMethod.CARD and not card_payments_enabled():
        raise ValidationError("card_payments_off", fields={"payment_method": "unavailable"})
    return wanted


@dataclass(frozen=True)
class QuotedItem:
    """What a line snapshots of one product, read in `quote()`'s single statement."""

    product_id: int
    name: str
    unit: str
    village_id: int
    category_id: int
    station_id: int
    price_fen: int
    weight_g: int
    visible: bool
    #: Its food-safety papers count on the checkout's day (catalog.papers).
    papers_ok: bool
    stock_record_id: int | None
    commission_bps: int
    links: list[tuple[int, int]]  # (household_id, weight) of its benefit links


@dataclass
class Quote:
    items: dict[int, QuotedItem]
    by_station: dict[int, list[QuotedItem]]
    goods_fen: dict[int, int]
    weight_g: dict[int, int]
    shipping_fen: dict[int, int]
    subtotal_fen: int
    total_fen: int


def _read_items_statement(with_pickup: bool, with_open_orders: bool) -> sa.Select:
    pickup_exists = (
        sa.select(Station.id).where(Station.id == sa.bindparam("pickup_id")).exists() if with_pickup else sa.null()
    )
    open_orders = open_orders_column() if with_open_orders else sa.null()
    return (
        sa.select(
            Product.id,
            Product.name,
            Product.unit,
            Product.village_id,
            Product.category_id,
            Product.station_id,
            Product.price_fen,
            Product.weight_g,
            Product.approval_status,
            Product.is_published,
            StockRecord.id,
            Station.commission_bps,
            BenefitLink.household_id,
            BenefitLink.weight,
            pickup_exists.label("pickup_exists"),
            open_orders.label("open_orders"),
            papers_ok_clause(Product.id, Category.food_class, sa.bindparam("today", type_=sa.Date())).label(
                "papers_ok"
            ),
        )
        .join(Station, Station.id == Product.station_id)
        .join(Category, Category.id == Product.category_id)
        .outerjoin(StockRecord, StockRecord.product_id == Product.id)
        .outerjoin(BenefitLink, BenefitLink.product_id == Product.id)
        .where(Product.id.in_(sa.bindparam("ids", expanding=True)))
        .order_by(Product.id, BenefitLink.household_id)
    )


def _read_items(
    wanted: dict[int, int], pickup_station_id: int | None, today: date, pay_later: tuple[int, int] | None = None
) -> tuple[dict[int, QuotedItem], bool | None, int | None]:
    """One statement for everything a checkout reads: each product with its stock record id, its
    station's commission and its benefit links (one row per link), plus whether the pick-up
    station exists and, with `pay_later` (buyer id, cap), the buyer's open pay-later orders counted
    up to the cap (`orders.services.limits`; the buyer's row is already locked). Returns ({product_id:
    item}, pick-up station exists, open orders) — the last two None when not asked or when no
    product matched, so nothing answered."""
    with_pickup = bool(pickup_station_id)  # the statement is built once per variant (shop.db.statement)
    with_open_orders = pay_later is not None
    query = statement(
        ("orders.read_items", with_pickup, with_open_orders),
        lambda: _read_items_statement(with_pickup, with_open_orders),
    )
    params: dict = {"ids": sorted(wanted), "pickup_id": pickup_station_id, "today": today}
    if pay_later is not None:
        params.update(user_id=pay_later[0], at_most=pay_later[1])
    rows = db.session.execute(query, params).all()
    items: dict[int, QuotedItem] = {}
    pickup_ok = open_orders = None
    for (
        pid,
        name,
        unit,
        village_id,
        category_id,
        station_id,
        price,
        weight,
        approval,
        published,
        record_id,
        commission,
        household_id,
        link_weight,
        pickup_ok,
        open_orders,
        papers_ok,
    ) in rows:
        item = items.get(pid)
        if item is None:
            item = items[pid] = QuotedItem(
                product_id=pid,
                name=name,
                unit=unit,
                village_id=village_id,
                category_id=category_id,
                station_id=station_id,
                price_fen=price,
                weight_g=weight,
                visible=approval == ApprovalStatus.APPROVED and bool(published),
                papers_ok=bool(papers_ok),
                stock_record_id=record_id,
                commission_bps=commission or 0,
                links=[],
            )
        if household_id is not None:
            item.links.append((household_id, link_weight))
    return (
        items,
        (bool(pickup_ok) if rows and pickup_station_id else None),
        (int(open_orders or 0) if rows and pay_later is not None else None),
    )


def quote(
    wanted: dict[int, int],
    *,
    delivery: str,
    pickup_station_id: int | None = None,
    agreed_prices: dict[int, int] | None = None,
    today: date | None = None,
    pay_later: tuple[int, int] | None = None,
) -> Quote:
    """Server-side prices for {product_id: quantity}; unknown product or pick-up station → 422,
    unavailable or without valid food-safety papers on `today` (default: today in Beijing) → 409.
    One SQL statement (see `_read_items`). `agreed_prices` replaces the catalogue price of a product
    by the unit price a station quoted (institutions; server-side only). `pay_later` (buyer id, cap):
    the buyer's row is locked (`limits.lock_pay_later`) and the same statement counts their open
    pay-later orders; over the cap is refused (409 `too_many_open_orders`) before anything else."""
    pickup = delivery == Delivery.PICKUP
    today = today or local_date(now_utc())
    items, pickup_ok, open_orders = _read_items(wanted, pickup_station_id if pickup else None, today, pay_later)
    if pay_later is not None:
        buyer_id, cap = pay_later
        if open_orders is None:  # no product matched: the count still gets its own answer first
            open_orders = open_pay_later_orders(buyer_id, at_most=cap)
        refuse_over_cap(open_orders, cap)
    for product_id, price in (agreed_prices or {}).items():
        if product_id in items:
            items[product_id] = replace(items[product_id], price_fen=int(price))
    if pickup and pickup_ok is None:  # no product matched: the station still gets its own answer first
        pickup_ok = db.session.get(Station, pickup_station_id) is not None
    if pickup and not pickup_ok:
        raise ValidationError("pickup_station_not_found", fields={"pickup_station_id": "unknown"})
    for product_id in wanted:
        item = items.get(product_id)
        if item is None:
            raise ValidationError("product_not_found", fields={"product_id": str(product_id)})
        if not item.visible:
            raise Conflict("product_unavailable", name=item.name, fields={"product_id": str(product_id)})
        if not item.papers_ok:  # the rule in SQL; the message says which paper (catalog.papers)
            gaps = gaps_of(db.session.get_one(Product, product_id), today=today)
            raise PapersMissing(
                "papers_missing",
                name=item.name,
                what="、".join(g.message for g in gaps),
                fields={"product_id": str(product_id)},
            )
    by_station: dict[int, list[QuotedItem]] = {}
    for product_id in sorted(wanted):
        item = items[product_id]
        by_station.setdefault(item.station_id, []).append(item)
    goods = {s: sum(i.price_fen * wanted[i.product_id] for i in its) for s, its in by_station.items()}
    weight = {s: sum(i.weight_g * wanted[i.product_id] for i in its) for s, its in by_station.items()}
    shipping = {s: shipping_fen(weight_g=weight[s], goods_fen=goods[s], pickup=pickup) for s in by_station}
    subtotal = sum(goods.values())
    return Quote(items, by_station, goods, weight, shipping, subtotal, subtotal + sum(shipping.values()))


@dataclass(frozen=True)
class _ActorRef:
    """The buyer as `record_status` sees it (only `.id`), so nothing re-reads the user row."""

    id: int


def _add_sold_counts(wanted: dict[int, int]) -> None:
    """`adjust_sold_count(+1)` for the new lines in one executemany, still in ascending product id.
    The statement is built once (`shop.db.statement`)."""
    table = Product.__table__
    query = statement(
        "orders.sold_counts",
        lambda: (
            sa.update(table)
            .where(table.c.id == sa.bindparam("pid"))
            .values(sold_count=table.c.sold_count + sa.bindparam("qty"))
        ),
    )
    db.session.execute(
        query,
        [{"pid": product_id, "qty": wanted[product_id]} for product_id in sorted(wanted)],
        execution_options=pagecache.changes(products=wanted),
    )


def place_order(req: PlacementRequest, *, buyer, now: datetime, shown_total_fen: int | None = None) -> Order:
    """Create the order, its shipments, lines and payment; allocate stock. Raises, changes nothing, on refusal.

    Round trips (PostgreSQL): for a pay-later order the lock of the buyer's row (`lock_pay_later`),
    one SELECT for products, stock records, stations, benefit links, the pick-up station and the
    buyer's open pay-later orders (`quote`), one guarded UPDATE per stock record (`allocate`), a flush of
    the new rows (one INSERT per table: order, shipments, lines, payment), the lots (one SELECT,
    one guarded UPDATE per lot taken from and one INSERT of the lines' allocation rows,
    `allocate_lots`), one INSERT of the first statuses (`record_statuses`) and one UPDATE of the
    sold counts: one flush in all.
    """
    wanted = _validate(req)
    on_arrival = req.payment_method == ARRIVAL
    if wanted:
        # unpaid reservations are limited (#17.4): the buyer's row locked now, the open orders counted by
        # the items read, the next statement (`limits.check_pay_later` in two statements, not three)
        cap = lock_pay_later(buyer.id, req.payment_method, wanted)
        q = quote(
            wanted,
            delivery=req.delivery,
            pickup_station_id=req.pickup_station_id,
            agreed_prices=req.agreed_prices,
            today=local_date(now),
            pay_later=None if cap is None else (buyer.id, cap),
        )
    else:
        q = Quote({}, {}, {}, {}, {}, 0, 0)
    if not req.bookings and shown_total_fen is not None and shown_total_fen != q.total_fen:
        raise PriceChanged(  # goods only: refused before any stock is touched
            "price_changed",
            fields={"total_fen": str(q.total_fen), "shown_total_fen": str(shown_total_fen)},
        )
    records: dict[int, int] = {}
    products_of: dict[int, int] = {}
    for item in q.items.values():
        if item.stock_record_id is None:
            raise OutOfStock(item.product_id)
        records[item.stock_record_id] = wanted[item.product_id]
        products_of[item.stock_record_id] = item.product_id
    actor = _ActorRef(buyer.id)
    if records:
        allocate(records, product_ids=products_of)  # ascending record ids; all or nothing

    method = PaymentMethod.COD if on_arrival else PaymentMethod(req.payment_method)
    is_card = method == PaymentMethod.CARD
    paid_first = method in PAID_BEFORE_FULFILMENT
    status = OrderStatus.PENDING if paid_first else OrderStatus.CONFIRMED
    if not paid_first:
        expires_at = None
    elif req.institutional:
        expires_at = now + timedelta(days=int(current_app.config.get("INSTITUTIONAL_PAYMENT_DAYS", 10)))
    else:
        expires_at = now + timedelta(minutes=int(current_app.config.get("ORDER_PAYMENT_MINUTES", 30)))
    address = req.address if wanted and req.delivery == Delivery.SHIP else AddressData()
    delivery = req.delivery if wanted else Delivery.SHIP
    order = Order(
        code=new_order_code(),
        secret=new_secret(),
        user_id=actor.id,
        status=status,
        delivery=delivery,
        pickup_station_id=req.pickup_station_id if delivery == Delivery.PICKUP else None,
        payment_method=method,
        ship_name=address.name.strip(),
        ship_phone=normalise_phone(address.phone) if address.phone else "",
        ship_province=address.province.strip(),
        ship_city=address.city.strip(),
        ship_district=address.district.strip(),
        ship_line=address.line.strip(),
        subtotal_fen=q.subtotal_fen,
        shipping_fen=sum(q.shipping_fen.values()),
        total_fen=q.total_fen,
        currency=CURRENCY,
        expires_at=expires_at,
        created_at=now,
        paid_at=None,
    )
    new_rows: list = [order]
    held = None
    if req.bookings:  # after the stock: the lock order is stock records, then unit types (by id)
        held = booking_lines().hold(order, req.bookings, buyer=buyer, now=now, pay_on_arrival=on_arrival)
        order.subtotal_fen += held.total_fen
        order.total_fen += held.total_fen
        if is_card and held.expires_at is not None and order.expires_at is not None:
            order.expires_at = min(order.expires_at, held.expires_at)  # the order lapses with its holds
        new_rows += held.rows
    if shown_total_fen is not None and shown_total_fen != order.total_fen:
        raise PriceChanged(
            "price_changed",
            fields={"total_fen": str(order.total_fen), "shown_total_fen": str(shown_total_fen)},
        )

    needs_code = delivery == Delivery.PICKUP or method == PaymentMethod.STATION_CASH
    #: A pick-up order is collected whole at the chosen station with ONE code (docs/pickup.md).
    order_code = new_numeric_code() if delivery == Delivery.PICKUP else None
    shipments = []
    lines = []
    for n, station_id in enumerate(sorted(q.by_station), start=1):
        shipment = Shipment(
            code=f"{order.code}-{n}",
            order=order,
            station_id=station_id,
            status=ShipmentStatus.NEW,
            shipping_fen=q.shipping_fen[station_id],
            weight_g=q.weight_g[station_id],
            tracking_number="",
            pickup_code=order_code or (new_numeric_code() if needs_code else ""),
            pickup_failures=0,
            created_at=now,
        )
        shipments.append(shipment)
        new_rows.append(shipment)
        for item in q.by_station[station_id]:
            quantity = wanted[item.product_id]
            line = OrderLine(
                order=order,
                shipment=shipment,
                kind="product",
                product_id=item.product_id,
                status=LineStatus.OPEN,
                title=item.name[:120],
                unit=item.unit,
                station_id=station_id,
                village_id=item.village_id,
                category_id=item.category_id,
                unit_price_fen=item.price_fen,
                quantity=quantity,
                line_total_fen=item.price_fen * quantity,
                commission_bps=item.commission_bps,
                benefit_split=benefit_split(item.links),
            )
            lines.append(line)
            new_rows.append(line)
    payment = OrderPayment(
        order=order,
        number=1,
        provider="stripe" if is_card else str(method),
        state=PaymentState.CREATED if is_card or on_arrival else PaymentState.PENDING,
        amount_fen=order.total_fen,
        currency=CURRENCY,
        client_secret=None,
        refunded_fen=0,
        created_at=now,
    )
    new_rows.append(payment)
    initial = [(order, status), *((shipment, ShipmentStatus.NEW) for shipment in shipments), (payment, payment.state)]
    db.session.add_all(new_rows)
    db.session.flush()  # one INSERT per table (multi-row where several): the ids the rows below need
    if lines:
        # which lots the lines take, first expiring first (the records are locked by `allocate`)
        record_of = {product_id: record_id for record_id, product_id in products_of.items()}
        allocate_lots(
            [
                LineStock(
                    line_id=line.id,
                    record_id=record_of[line.product_id],
                    product_id=line.product_id,
                    quantity=line.quantity,
                )
                for line in lines
                if line.product_id is not None
            ],
            today=local_date(now),
            new_lines=True,
        )
    # the first statuses in one INSERT (the rows have their ids)
    events = [(subject, None, to_status, "") for subject, to_status in initial]
    events += list(held.events) if held else []
    record_statuses(events, actor=actor, now=now)
    if held:
        booking_lines().placed(held)  # the rows have ids: the hosts of bookings confirmed at once are told
    if lines:
        _add_sold_counts(wanted)
    notify(order, "placed")  # the one mail of the order, its bookings' codes included (not a booking mail too)
    return order


def request_from_cart(cart: Cart, **kwargs) -> PlacementRequest:
    """The placement of the cart's CHOSEN lines (勾选, `orders.services.cart.chosen_lines`)."""
    lines = chosen_lines(cart)
    return PlacementRequest(
        items=[(l.product_id, l.quantity) for l in lines if l.kind == "product" and l.product_id is not None],
        bookings=[item_of(l) for l in lines if l.kind == "booking"],
        **kwargs,
    )


def place_cart_order(cart: Cart, *, buyer, now: datetime, shown_total_fen: int | None = None, **kwargs) -> Order:
    """Place the cart's chosen lines and remove them from the cart (same transaction); the lines not
    chosen stay in the cart, unchosen. Nothing chosen is refused (422 `no_items`) by `place_order`."""
    placed = chosen_lines(cart)
    order = place_order(request_from_cart(cart, **kwargs), buyer=buyer, now=now, shown_total_fen=shown_total_fen)
    for line in placed:
        cart.lines.remove(line)
    cart.updated_at = now
    db.session.flush()
    return order
