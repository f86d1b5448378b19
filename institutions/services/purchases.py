"""Bulk purchases of an organisation: a buyer builds a draft (products and quantities per delivery
address, or all picked up at one station, for a requested date) and submits it; an approver of the
same organisation — never the one who built it — approves or rejects it (audited). On approval the
purchase is placed, in the same transaction, through `orders.services.placement.place_order`, the
retail checkout's own service: one order per delivery address (or one pick-up order), so prices,
stock allocation (never oversold), shipments, payments and household crediting follow the retail
rules with no second path; a line accepted from a station's quote (`institutions.services.quotes`)
is placed at its quoted unit price (`agreed_prices`). If placement refuses (out of stock, a product withdrawn, a pay-later
limit), nothing is placed and the purchase stays submitted.

Lock order on approval: the purchase row, then every stock record of its products in ascending id
(`stock.services.lock_records_of_products`), then what placement takes. Services only flush.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from institutions.models import (
    MemberRole,
    Organisation,
    OrganisationStatus,
    Purchase,
    PurchaseDestination,
    PurchaseLine,
    PurchaseOrder,
    PurchaseStatus,
)
from institutions.services.organisations import is_staff, membership
from orders.models import Delivery, PaymentMethod
from orders.providers import card_payments_enabled
from orders.services.cart import MAX_CART_LINES, check_quantity
from orders.services.placement import (
    ADDRESS_FIELDS,
    ADDRESS_LIMITS,
    AddressData,
    PlacementRequest,
    PriceChanged,
    place_order,
    quote,
)
from shop.audit import record_audit
from shop.auth.models import User
from shop.errors import Conflict, Forbidden, NotFound, ValidationError
from shop.extensions import db
from shop.history import record_status, transition
from shop.phone import is_mobile, normalise_phone
from shop.timeutil import local_date
from stock.services import lock_records_of_products

MAX_DESTINATIONS = 20
MAX_DAYS_AHEAD = 366


@dataclass
class DestinationData:
    label: str = ""
    address: AddressData = field(default_factory=AddressData)
    items: list[tuple[int, int]] = field(default_factory=list)  # (product_id, quantity)


@dataclass
class PurchaseData:
    delivery: str = Delivery.SHIP
    requested_date: date | None = None
    payment_method: str = PaymentMethod.CARD
    pickup_station_id: int | None = None
    note: str = ""
    destinations: list[DestinationData] = field(default_factory=list)  # delivery == ship
    items: list[tuple[int, int]] = field(default_factory=list)  # delivery == pickup


@dataclass
class Group:
    """What one placed order will hold: a destination's lines (or the pick-up lines) with today's quote."""

    destination: PurchaseDestination | None
    wanted: dict[int, int]
    total_fen: int
    #: {product id: unit price} of the lines accepted from a station's quote (institutions.services.quotes)
    prices: dict[int, int] = field(default_factory=dict)


def _merge(items: list[tuple[int, int]], where: str) -> dict[int, int]:
    if not items:
        raise ValidationError("purchase_items_required", fields={where: "empty"})
    if len(items) > MAX_CART_LINES:
        raise ValidationError("too_many_items", fields={where: "too_many"})
    wanted: dict[int, int] = {}
    for product_id, quantity in items:
        if isinstance(product_id, bool) or not isinstance(product_id, int) or product_id <= 0:
            raise ValidationError("invalid_product_id", fields={where: "invalid_product"})
        wanted[product_id] = check_quantity(wanted.get(product_id, 0) + check_quantity(quantity))
    return wanted


def _address(data: AddressData, where: str) -> AddressData:
    errors = {}
    values = {}
    for name in ADDRESS_FIELDS:
        value = " ".join((getattr(data, name) or "").split())
        if not value:
            errors[f"{where}.address.{name}"] = "required"
        elif len(value) > ADDRESS_LIMITS[name]:
            errors[f"{where}.address.{name}"] = "too_long"
        values[name] = value
    if errors:
        raise ValidationError("address_incomplete", fields=errors)
    if not is_mobile(values["phone"]):
        raise ValidationError("invalid_mobile", fields={f"{where}.address.phone": "invalid"})
    values["phone"] = normalise_phone(values["phone"])
    return AddressData(**values)


def _check_buyer(organisation: Organisation, user: User) -> None:
    member = membership(organisation.id, user)
    if member is None or member.role != MemberRole.BUYER:
        raise Forbidden("purchaser_only")
    if organisation.status != OrganisationStatus.APPROVED:
        raise Conflict("organisation_not_verified")


def create_purchase(organisation: Organisation, data: PurchaseData, *, user: User, now: datetime) -> Purchase:
    """A buyer of a verified organisation writes a draft purchase. Products must exist and be on sale
    (the retail quote decides); quantities follow the retail line limit."""
    _check_buyer(organisation, user)
    if data.delivery not in set(Delivery):
        raise ValidationError("delivery_required", fields={"delivery": "invalid"})
    if data.payment_method not in set(PaymentMethod):
        raise ValidationError("payment_method_required", fields={"payment_method": "invalid"})
    if data.payment_method == PaymentMethod.CARD and not card_payments_enabled():
        # said now, not at approval, where the purchase could only be sent back
        raise ValidationError("card_payments_off", fields={"payment_method": "unavailable"})
    today = local_date(now)
    if data.requested_date is None or not today <= data.requested_date <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationError("invalid_delivery_date", fields={"requested_date": "invalid"})
    note = " ".join((data.note or "").split())
    if len(note) > 200:
        raise ValidationError("note_too_long", fields={"note": "too_long"})
    groups: list[tuple[DestinationData | None, AddressData | None, dict[int, int]]] = []
    if data.delivery == Delivery.PICKUP:
        if not data.pickup_station_id:
            raise ValidationError("pickup_station_required", fields={"pickup_station_id": "required"})
        if data.destinations:
            raise ValidationError("pickup_purchase_no_address", fields={"destinations": "not_allowed"})
        groups.append((None, None, _merge(data.items, "items")))
    else:
        if not data.destinations:
            raise ValidationError("purchase_address_required", fields={"destinations": "empty"})
        if len(data.destinations) > MAX_DESTINATIONS:
            raise ValidationError("too_many_addresses", fields={"destinations": "too_many"})
        for i, dest in enumerate(data.destinations):
            label = " ".join((dest.label or "").split())
            if not label or len(label) > 40:
                raise ValidationError("address_label_required", fields={f"destinations.{i}.label": "invalid"})
            groups.append(
                (
                    DestinationData(label=label),
                    _address(dest.address, f"destinations.{i}"),
                    _merge(dest.items, f"destinations.{i}.items"),
                )
            )
    for _named, _where, wanted in groups:  # unknown (422) or withdrawn (409) products, unknown station (422)
        quote(wanted, delivery=data.delivery, pickup_station_id=data.pickup_station_id)
    purchase = Purchase(
        organisation_id=organisation.id,
        created_by_id=user.id,
        status=PurchaseStatus.DRAFT,
        delivery=data.delivery,
        pickup_station_id=data.pickup_station_id if data.delivery == Delivery.PICKUP else None,
        requested_date=data.requested_date,
        payment_method=data.payment_method,
        note=note,
        decision_reason="",
        created_at=now,
    )
    db.session.add(purchase)
    for named, address, wanted in groups:
        destination = None
        if named is not None and address is not None:
            destination = PurchaseDestination(
                purchase=purchase, label=named.label, **{name: getattr(address, name) for name in ADDRESS_FIELDS}
            )
            db.session.add(destination)
        for product_id in sorted(wanted):
            db.session.add(
                PurchaseLine(
                    purchase=purchase, destination=destination, product_id=product_id, quantity=wanted[product_id]
                )
            )
    db.session.flush()
    record_status(purchase, from_status=None, to_status=purchase.status, actor=user, now=now)
    db.session.flush()
    return purchase


def get_visible_purchase(purchase_id: int, user) -> Purchase:
    """The purchase, for the members of its organisation and the county office; NotFound for anyone else."""
    purchase = db.session.get(Purchase, purchase_id)
    if purchase is None or not (is_staff(user) or membership(purchase.organisation_id, user) is not None):
        raise NotFound("purchase_not_found")
    return purchase


def purchases_of(organisation: Organisation) -> list[Purchase]:
    return list(
        db.session.scalars(
            sa.select(Purchase)
            .where(Purchase.organisation_id == organisation.id)
            .order_by(Purchase.id.desc())
            .limit(200)
        )
    )


def groups_of(purchase: Purchase) -> list[Group]:
    """The purchase's orders-to-be with today's prices and shipping (the retail quote), a line accepted
    from a station's quote at its quoted price."""
    by_destination: dict[int | None, dict[int, int]] = {}
    prices: dict[int | None, dict[int, int]] = {}
    for line in purchase.lines:
        by_destination.setdefault(line.destination_id, {})[line.product_id] = line.quantity
        if line.unit_price_fen is not None:
            prices.setdefault(line.destination_id, {})[line.product_id] = line.unit_price_fen
    destinations = {d.id: d for d in purchase.destinations}
    groups = []
    for destination_id in sorted(by_destination, key=lambda d: d or 0):
        wanted = by_destination[destination_id]
        agreed = prices.get(destination_id, {})
        total = quote(
            wanted, delivery=purchase.delivery, pickup_station_id=purchase.pickup_station_id, agreed_prices=agreed
        ).total_fen
        groups.append(Group(destinations.get(destination_id) if destination_id else None, wanted, total, agreed))
    return groups


def _lock(purchase: Purchase) -> Purchase:
    return db.session.scalars(
        sa.select(Purchase)
        .where(Purchase.id == purchase.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def submit_purchase(purchase: Purchase, *, user: User, now: datetime) -> Purchase:
    """The buyer who built the draft sends it to the organisation's approvers."""
    if user.id != purchase.created_by_id:
        raise Forbidden("purchase_creator_only")
    locked = _lock(purchase)
    if locked.status != PurchaseStatus.DRAFT:
        raise Conflict("purchase_already_submitted", fields={"status": locked.status})
    transition(locked, PurchaseStatus.SUBMITTED, actor=user, now=now)
    locked.submitted_at = now
    db.session.flush()
    return locked


def _check_approver(purchase: Purchase, user: User) -> None:
    member = membership(purchase.organisation_id, user)
    if member is None or member.role != MemberRole.APPROVER:
        raise Forbidden("approver_only")
    if user.id == purchase.created_by_id:
        raise Forbidden("same_person")


def can_decide(purchase: Purchase, user) -> bool:
    if purchase.status != PurchaseStatus.SUBMITTED or user is None or not user.is_authenticated:
        return False
    member = membership(purchase.organisation_id, user)
    return member is not None and member.role == MemberRole.APPROVER and user.id != purchase.created_by_id


def approve_purchase(purchase: Purchase, *, user: User, now: datetime, shown_total_fen: int | None = None) -> Purchase:
    """A second person, an approver of the organisation, approves: the purchase is placed as orders
    (one per destination, or one pick-up order) by the retail placement service, for its buyer, and
    audited with the orders' codes. `shown_total_fen`, when given, is what the approver saw: a
    different total now (a price or shipping changed) refuses with PriceChanged."""
    _check_approver(purchase, user)
    locked = _lock(purchase)
    if locked.status != PurchaseStatus.SUBMITTED:
        raise Conflict("not_submitted", fields={"status": locked.status})
    if locked.organisation.status != OrganisationStatus.APPROVED:
        raise Conflict("organisation_not_verified")
    buyer = db.session.get(User, locked.created_by_id)
    lock_records_of_products(line.product_id for line in locked.lines)
    placed = []
    for group in groups_of(locked):
        destination = group.destination
        address = (
            AddressData(**{name: getattr(destination, name) for name in ADDRESS_FIELDS})
            if destination is not None
            else AddressData()
        )
        order = place_order(
            PlacementRequest(
                items=sorted(group.wanted.items()),
                payment_method=locked.payment_method,
                delivery=locked.delivery,
                address=address,
                pickup_station_id=locked.pickup_station_id,
                institutional=True,
                agreed_prices=group.prices,
            ),
            buyer=buyer,
            now=now,
        )
        db.session.add(
            PurchaseOrder(
                purchase_id=locked.id,
                order_id=order.id,
                destination_id=destination.id if destination is not None else None,
            )
        )
        placed.append(order)
    total = sum(order.total_fen for order in placed)
    if shown_total_fen is not None and shown_total_fen != total:
        raise PriceChanged(
            "purchase_price_changed", fields={"total_fen": str(total), "shown_total_fen": str(shown_total_fen)}
        )
    transition(locked, PurchaseStatus.APPROVED, actor=user, now=now)
    locked.decided_at = now
    locked.decided_by_id = user.id
    record_audit(
        actor=user,
        action="purchase.approve",
        subject=locked,
        detail={"orders": [o.code for o in placed], "total_fen": total},
        now=now,
    )
    db.session.flush()
    return locked


def reject_purchase(purchase: Purchase, *, reason: str, user: User, now: datetime) -> Purchase:
    """An approver of the organisation (not the buyer who built it) refuses it with a reason; audited."""
    _check_approver(purchase, user)
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > 400:
        raise ValidationError("purchase_return_reason_required", fields={"reason": "required"})
    locked = _lock(purchase)
    if locked.status != PurchaseStatus.SUBMITTED:
        raise Conflict("not_submitted", fields={"status": locked.status})
    transition(locked, PurchaseStatus.REJECTED, actor=user, now=now, note=reason)
    locked.decided_at = now
    locked.decided_by_id = user.id
    locked.decision_reason = reason
    record_audit(actor=user, action="purchase.reject", subject=locked, detail={"reason": reason}, now=now)
    db.session.flush()
    return locked
