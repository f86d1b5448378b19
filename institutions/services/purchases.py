"""Bulk purchases of an organisation: a buyer builds a draft (products and quantities per delivery
address, or all picked up at one station, for a requested date) and submits it; an approver of the
same organisation — never the one who built it — approves it, within the year's budget, or sends it
back with a note (rejected; audited), after which its buyer may change it and submit it again. On approval the
purchase is placed, in the same transaction, through `orders.services.placement.place_order`, the
retail checkout's own service: one order per delivery address (or one pick-up order), so prices,
stock allocation (never oversold), shipments, payments and household crediting follow the retail
rules with no second path; a line accepted from a station's quote (`institutions.services.quotes`)
is placed at its quoted unit price (`agreed_prices`). If placement refuses (out of stock, a product withdrawn, a pay-later
limit), nothing is placed and the purchase stays submitted.

Lock order on approval: the purchase row, the organisation's row (its budget: `statements.set_budget`
takes it too, and two approvals of one organisation are serialised on it), then every stock record of its
products in ascending id (`stock.services.lock_records_of_products`), then what placement takes. Services
only flush.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from catalog.models import Product, visible_products
from catalog.papers import unsellable_ids
from catalog.services import ProductFilter, list_products, ranked_product_ids, village_labels
from institutions.models import (
    MemberRole,
    Organisation,
    OrganisationMember,
    OrganisationStatus,
    Purchase,
    PurchaseDestination,
    PurchaseLine,
    PurchaseOrder,
    PurchaseStatus,
    QuoteRequest,
)
from institutions.services.notices import notify_approved, notify_returned, notify_submitted
from institutions.services.organisations import is_staff, lock_organisation, membership
from institutions.services.quotes import MAX_NOTE, accept_quote, release_quote
from institutions.services.statements import budget_check, refuse_over_budget
from orders.models import Delivery, Order, OrderStatus, PaymentMethod
from orders.providers import card_payments_enabled
from orders.services.cart import MAX_CART_LINES, MAX_LINE_QUANTITY, check_quantity
from orders.services.placement import (
    ADDRESS_FIELDS,
    ADDRESS_LIMITS,
    AddressData,
    PlacementRequest,
    PriceChanged,
    check_method_fits_delivery,
    place_order,
    quote,
)
from shop.args import MAX_ID, int_or_none
from shop.audit import record_audit
from shop.auth.models import User
from shop.errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from shop.extensions import db
from shop.history import StatusEvent, record_status, transition
from shop.phone import is_mobile, normalise_phone
from shop.timeutil import local_date
from stock.models import StockRecord
from stock.services import lock_records_of_products

MAX_DESTINATIONS = 20
MAX_DAYS_AHEAD = 366
#: products the purchase form offers at once (found by its search, or the newest)
CHOICES_LIMIT = 100
MAX_QUERY = 100
#: An approver's note sending a purchase back, in characters once its spaces are collapsed (the page's form,
#: the API's spec `RejectIn.reason`).
MAX_RETURN_REASON = 400


@dataclass
class DestinationData:
    label: str = ""
    address: AddressData = field(default_factory=AddressData)
    items: list[tuple[int, int]] = field(default_factory=list)  # (product_id, quantity)
    #: each item's row as the purchase form shows it (from 1, the blank rows it skips counted), so that
    #: a refusal names the row the buyer sees (`_row`); empty (the API): an item's place in `items`, from 1
    rows: list[int] = field(default_factory=list)


@dataclass
class PurchaseData:
    delivery: str = Delivery.SHIP
    requested_date: date | None = None
    payment_method: str = PaymentMethod.CARD
    pickup_station_id: int | None = None
    note: str = ""
    destinations: list[DestinationData] = field(default_factory=list)  # delivery == ship
    items: list[tuple[int, int]] = field(default_factory=list)  # delivery == pickup
    item_rows: list[int] = field(default_factory=list)  # the pick-up items' rows on the form, as `rows`
    #: A station's answered quote (询价) accepted into the new draft at its first address (or its
    #: pick-up), which may then hold no other line: the buyer asked for a quote because the shop could
    #: not sell enough of the product (`create_purchase`).
    quote_request_id: int | None = None


@dataclass
class Group:
    """What one placed order will hold: a destination's lines (or the pick-up lines) with today's quote."""

    destination: PurchaseDestination | None
    wanted: dict[int, int]
    total_fen: int
    #: {product id: unit price} of the lines accepted from a station's quote (institutions.services.quotes)
    prices: dict[int, int] = field(default_factory=dict)
    #: today's unit price of each product (the quoted one for a quoted line), and the shipping of the order
    #: (`total_fen` = the lines at these prices + `shipping_fen`): what the purchase page shows line by line
    unit_prices: dict[int, int] = field(default_factory=dict)
    shipping_fen: int = 0


def _row(rows: list[int], index: int) -> int:
    """The number (from 1) a refusal gives the line at `index`: its row on the form (`rows`, when the
    lines came from the form, which skips blank rows), else its place among the lines."""
    return rows[index] if index < len(rows) else index + 1


def _merge(
    items: list[tuple[int, int]], where: str, *, label: str = "", quoted: bool = False, rows: list[int] | None = None
) -> dict[int, int]:
    """The product rows of one address (`label`, or of the pick-up) by product. None is refused, unless the
    address holds a line accepted from a quote (`quoted`): that line is its purchase then. A refused line
    is named: its place (`{where}.{row - 1}.quantity`) and its product id in `fields`, its number (`_row`:
    from 1, its row on the form when `rows` are given) and its product in the message
    (`purchase_row_quantity`, as `form_row` names a row of the form)."""
    rows = rows or []
    if not items:
        if quoted:
            return {}
        raise ValidationError("purchase_items_required", fields={where: "empty"})
    if len(items) > MAX_CART_LINES:
        raise ValidationError("too_many_items", fields={where: "too_many"})
    wanted: dict[int, int] = {}
    for i, (product_id, quantity) in enumerate(items):
        row = _row(rows, i)
        if isinstance(product_id, bool) or not isinstance(product_id, int) or product_id <= 0:
            raise ValidationError("invalid_product_id", fields={f"{where}.{row - 1}.product_id": "invalid"})
        try:
            wanted[product_id] = check_quantity(wanted.get(product_id, 0) + check_quantity(quantity))
        except ValidationError:
            raise _line_refusal(product_id, where=f"{where}.{row - 1}", row=row, label=label) from None
    known = set(db.session.scalars(sa.select(Product.id).where(Product.id.in_([p for p in wanted if p <= MAX_ID]))))
    for i, (product_id, _quantity) in enumerate(items):
        if product_id not in known:  # named here, not by the quote's bare product_not_found
            row = _row(rows, i)
            raise _line_refusal(product_id, where=f"{where}.{row - 1}", row=row, label=label)
    return wanted


#: The retail quote's 409s of one product (`placement.quote`): off sale (withdrawn, unpublished), its
#: food-safety papers missing or expired. A purchase line meeting one is refused naming the line
#: (`_line_refusal`: `purchase_row_unavailable`, `purchase_row_papers_missing`, `…_at`), still a 409.
NOT_FOR_SALE = frozenset({"product_unavailable", "papers_missing"})


def _line_refusal(
    product_id: int, *, where: str, row: int, label: str, refused: DomainError | None = None
) -> DomainError:
    """The refusal of the line at `where` (its product, none or not for sale; or its quantity, or the total
    of its product's lines at its address past the line limit), naming its number (and its address,
    `label`, on a purchase to several): `purchase_row_product_not_found` when its product is none; for the
    quote's refusal of its product (`refused`, one of NOT_FOR_SALE: withdrawn, papers missing) the
    `purchase_row_*` 409 of NOT_FOR_SALE with the quote's own words (its product, the papers missing);
    else `purchase_row_quantity` naming its product too. The form's rows (`form_row`) and the API's
    lines are refused alike."""
    if refused is not None and refused.code in NOT_FOR_SALE:
        refusal: dict[str, Any] = {
            "row": row,
            "label": label,
            "name": refused.params.get("name", ""),
            "fields": {f"{where}.product_id": refused.code, "product_id": str(product_id)},
        }
        if refused.code == "papers_missing":  # the quote's words: which paper is missing or expired
            refusal["what"] = refused.params.get("what", "")
            return Conflict("purchase_row_papers_missing_at" if label else "purchase_row_papers_missing", **refusal)
        return Conflict("purchase_row_unavailable_at" if label else "purchase_row_unavailable", **refusal)
    product = db.session.get(Product, product_id) if product_id <= MAX_ID else None  # no row holds a larger id
    if product is None:
        unknown: dict[str, Any] = {
            "row": row,
            "label": label,
            "fields": {f"{where}.product_id": "unknown", "product_id": str(product_id)},
        }
        if label:
            return ValidationError("purchase_row_product_not_found_at", **unknown)
        return ValidationError("purchase_row_product_not_found", **unknown)
    said: dict[str, Any] = {
        "row": row,
        "label": label,
        "name": product.name,
        "high": MAX_LINE_QUANTITY,
        "fields": {f"{where}.quantity": "out_of_range", "product_id": str(product_id)},
    }
    if label:  # a purchase to several addresses names the address too
        return ValidationError("purchase_row_quantity_at", **said)
    return ValidationError("purchase_row_quantity", **said)


def form_row(product: str, quantity: str, *, row: int, where: str, label: str = "") -> tuple[int, int]:
    """A product row of the purchase form as typed (`row` counted from 1, at the address `label` when the
    form has several): (product id, quantity), the quantity as the retail line takes it
    (`cart.check_quantity`). A refusal names the row and its product (the address too, with `label`), so
    that on a form of many rows the buyer knows which one to change: a row with no product is
    `purchase_row_invalid`, one whose product is none `purchase_row_product_not_found` (as the API's line,
    `_line_refusal`), a quantity not a whole number from 1 to the line limit (-5, 100000, 1.5)
    `purchase_row_quantity`."""
    typed_id = int_or_none(product, maximum=MAX_ID)  # ASCII digits, full-width ones made ASCII (٣ is no id)
    chosen = db.session.get(Product, typed_id) if typed_id is not None else None
    if chosen is None and typed_id:
        raise _line_refusal(typed_id, where=f"{where}.{row - 1}", row=row, label=label)
    if chosen is None:
        said: dict[str, Any] = {"row": row, "label": label, "fields": {f"{where}.{row - 1}": "invalid"}}
        raise (
            ValidationError("purchase_row_invalid_at", **said)
            if label  # a form of several addresses names the address too
            else ValidationError("purchase_row_invalid", **said)
        )
    try:
        return chosen.id, check_quantity(int_or_none(quantity, minimum=-MAX_ID, maximum=MAX_ID))
    except ValidationError:
        said = {
            "row": row,
            "label": label,
            "name": chosen.name,
            "high": MAX_LINE_QUANTITY,
            "fields": {f"{where}.{row - 1}": "invalid_quantity"},
        }
        raise (
            ValidationError("purchase_row_quantity_at", **said)
            if label
            else ValidationError("purchase_row_quantity", **said)
        ) from None


def _address(data: AddressData, where: str, label: str) -> AddressData:
    """A destination's address, checked as the checkout's; a refusal names the destination (`label`), so
    that on a purchase of several addresses the buyer knows which one to complete."""
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
        raise ValidationError("purchase_address_incomplete", label=label, fields=errors)
    if not is_mobile(values["phone"]):
        raise ValidationError("purchase_address_mobile", label=label, fields={f"{where}.address.phone": "invalid"})
    values["phone"] = normalise_phone(values["phone"])
    return AddressData(**values)


def _check_buyer(organisation: Organisation, user: User) -> None:
    member = membership(organisation.id, user)
    if member is None or member.role != MemberRole.BUYER:
        raise Forbidden("purchaser_only")
    if organisation.status != OrganisationStatus.APPROVED:
        raise Conflict("organisation_not_verified")


Groups = list[tuple[DestinationData | None, AddressData | None, dict[int, int]]]


def _checked(data: PurchaseData, *, now: datetime, quoted: frozenset[int] = frozenset()) -> tuple[str, Groups]:
    """`data` checked as a draft (a new one or an edit): its cleaned note and its groups (a named
    destination with its address and lines, or the pick-up lines). Products must exist and be on sale
    (the retail quote decides; a product it refuses, `NOT_FOR_SALE`, is refused naming its first line,
    `_line_refusal`); quantities follow the retail line limit. The groups numbered in `quoted`
    hold a line accepted from a quote, and may hold no other."""
    if data.delivery not in set(Delivery):
        raise ValidationError("delivery_required", fields={"delivery": "invalid"})
    if data.payment_method not in set(PaymentMethod):
        raise ValidationError("payment_method_required", fields={"payment_method": "invalid"})
    check_method_fits_delivery(data.payment_method, data.delivery)  # said now, as the card below
    if data.payment_method == PaymentMethod.CARD and not card_payments_enabled():
        # said now, not at approval, where the purchase could only be sent back
        raise ValidationError("card_payments_off", fields={"payment_method": "unavailable"})
    today = local_date(now)
    if data.requested_date is None or not today <= data.requested_date <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationError("invalid_delivery_date", fields={"requested_date": "invalid"})
    note = " ".join((data.note or "").split())
    if len(note) > MAX_NOTE:
        raise ValidationError("note_too_long", max=MAX_NOTE, fields={"note": "too_long"})
    groups: Groups = []
    # each group's lines as given, their rows (`_row`), where, label
    lines: list[tuple[list[tuple[int, int]], list[int], str, str]] = []
    if data.delivery == Delivery.PICKUP:
        if not data.pickup_station_id:
            raise ValidationError("pickup_station_required", fields={"pickup_station_id": "required"})
        if data.destinations:
            raise ValidationError("pickup_purchase_no_address", fields={"destinations": "not_allowed"})
        groups.append((None, None, _merge(data.items, "items", quoted=0 in quoted, rows=data.item_rows)))
        lines.append((data.items, data.item_rows, "items", ""))
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
                    _address(dest.address, f"destinations.{i}", label),
                    _merge(dest.items, f"destinations.{i}.items", label=label, quoted=i in quoted, rows=dest.rows),
                )
            )
            lines.append((dest.items, dest.rows, f"destinations.{i}.items", label))
    for (_named, _where, wanted), (items, rows, where, label) in zip(groups, lines, strict=True):
        if wanted:  # a product not for sale (409) names its first line; an unknown station is 422
            try:
                quote(wanted, delivery=data.delivery, pickup_station_id=data.pickup_station_id)
            except Conflict as exc:
                refused = exc.fields.get("product_id", "")
                at = next((k for k, (product_id, _q) in enumerate(items) if str(product_id) == refused), None)
                if exc.code not in NOT_FOR_SALE or at is None:
                    raise
                row = _row(rows, at)
                raise _line_refusal(
                    items[at][0], where=f"{where}.{row - 1}", row=row, label=label, refused=exc
                ) from None
    return note, groups


def _write_lines(purchase: Purchase, groups: Groups, *, kept: list[PurchaseDestination]) -> None:
    """The groups' destinations and lines added to `purchase`. `kept[i]`, when given, is the
    destination row the i-th group updates in place (an edit: a quoted line stays with its address)."""
    for i, (named, address, wanted) in enumerate(groups):
        destination = kept[i] if i < len(kept) else None
        if named is not None and address is not None:
            values = {"label": named.label, **{name: getattr(address, name) for name in ADDRESS_FIELDS}}
            if destination is None:
                destination = PurchaseDestination(purchase=purchase, **values)
                db.session.add(destination)
            else:
                for name, value in values.items():
                    setattr(destination, name, value)
        for product_id in sorted(wanted):
            db.session.add(
                PurchaseLine(
                    purchase=purchase, destination=destination, product_id=product_id, quantity=wanted[product_id]
                )
            )


def create_purchase(organisation: Organisation, data: PurchaseData, *, user: User, now: datetime) -> Purchase:
    """A buyer of a verified organisation writes a draft purchase. Products must exist and be on sale
    (the retail quote decides); quantities follow the retail line limit. With `data.quote_request_id`,
    that answered quote of the organisation is accepted into it (`quotes.accept_quote`: its checks, its
    refusals) at the first address, which may hold nothing else; nothing is saved when it is refused."""
    _check_buyer(organisation, user)
    note, groups = _checked(data, now=now, quoted=frozenset({0}) if data.quote_request_id else frozenset())
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
    _write_lines(purchase, groups, kept=[])
    db.session.flush()
    record_status(purchase, from_status=None, to_status=purchase.status, actor=user, now=now)
    db.session.flush()
    if data.quote_request_id:
        request = db.session.get(QuoteRequest, data.quote_request_id)
        if request is None or request.organisation_id != organisation.id:
            raise NotFound("quote_not_found")
        first = purchase.destinations[0].id if data.delivery == Delivery.SHIP else None
        accept_quote(request, purchase_id=purchase.id, destination_id=first, user=user, now=now)
    return purchase


#: what its author may still change or delete: a draft, or a purchase an approver sent back (退回)
EDITABLE = (PurchaseStatus.DRAFT, PurchaseStatus.REJECTED)


def can_edit(purchase: Purchase, user) -> bool:
    """Whether `user` may change or delete the purchase now: its author, while it is a draft or was sent back."""
    return (
        purchase.status in EDITABLE and user is not None and user.is_authenticated and user.id == purchase.created_by_id
    )


def check_editable(purchase: Purchase, user: User) -> None:
    """Raise unless `user` may change or delete the purchase: 403 for anyone but its author (who sees
    it: a member or the county office), 409 while it waits for approval and once it is approved. A
    purchase sent back (rejected, with the approver's reason) is its author's to change again."""
    if user.id != purchase.created_by_id:
        raise Forbidden("purchase_author_only")
    if purchase.status not in EDITABLE:
        raise Conflict("purchase_not_draft", fields={"status": purchase.status})


def _lock_own_draft(purchase: Purchase, user: User) -> Purchase:
    """The purchase locked, for a change by its author while it is a draft or sent back
    (`check_editable`, again under the lock: a submit may have come first)."""
    check_editable(purchase, user)
    locked = _lock(purchase)
    check_editable(locked, user)
    return locked


def update_purchase(purchase: Purchase, data: PurchaseData, *, user: User, now: datetime) -> Purchase:
    """Its author rewrites a draft with `data`, checked as a new draft is (the same rules). The lines
    accepted from a station's quote (`institutions.services.quotes`) are kept as they are, at their
    address: the i-th address of `data` updates the purchase's i-th, so a quoted line stays where it
    was accepted; an edit that would drop its address (fewer addresses, or a change between delivery
    and pick-up) or name its product again at that address is refused (409). A purchase sent back
    (rejected) becomes a draft again, to be submitted again; the approver's reason stays on it until
    the next decision. A submitted or approved purchase is never changed (409 `purchase_not_draft`)."""
    locked = _lock_own_draft(purchase, user)
    _check_buyer(locked.organisation, user)  # still one of its buyers, the organisation still verified
    quoted = [line for line in locked.lines if line.quote_request_id is not None]
    old_destinations = list(locked.destinations)
    # an address keeping a quoted line may hold nothing else (`_merge`)
    holding = frozenset(
        old_destinations.index(line.destination) if line.destination in old_destinations else 0 for line in quoted
    )
    note, groups = _checked(data, now=now, quoted=holding)
    if quoted and data.delivery != locked.delivery:
        raise Conflict("purchase_quoted_line_kept", fields={"delivery": "quoted_line"})
    kept = old_destinations[: len(groups)] if data.delivery == Delivery.SHIP else []
    dropped = old_destinations[len(kept) :]
    for line in quoted:
        if line.destination is not None and line.destination in dropped:
            raise Conflict("purchase_quoted_line_kept", fields={"destinations": "quoted_line"})
        where = kept.index(line.destination) if line.destination is not None else 0
        if line.product_id in groups[where][2]:
            raise Conflict("product_already_in_purchase", fields={"product_id": str(line.product_id)})
    for line in list(locked.lines):
        if line.quote_request_id is None:
            locked.lines.remove(line)
    for destination in dropped:
        locked.destinations.remove(destination)
    db.session.flush()
    locked.delivery = data.delivery
    locked.pickup_station_id = data.pickup_station_id if data.delivery == Delivery.PICKUP else None
    assert data.requested_date is not None  # checked
    locked.requested_date = data.requested_date
    locked.payment_method = data.payment_method
    locked.note = note
    _write_lines(locked, groups, kept=kept)
    if locked.status == PurchaseStatus.REJECTED:
        transition(locked, PurchaseStatus.DRAFT, actor=user, now=now)
    db.session.flush()
    db.session.expire(locked, ["lines", "destinations"])
    return locked


def delete_purchase(purchase: Purchase, *, user: User, now: datetime) -> None:
    """Its author deletes a draft (audited `purchase.delete`). A quote accepted into it is answered
    again (`quotes.release_quote`): the buyer may accept it elsewhere until its `valid_until`. A
    purchase sent back may be deleted too; a submitted or approved one never (409 `purchase_not_draft`)."""
    locked = _lock_own_draft(purchase, user)
    released = []
    for line in list(locked.lines):
        if line.quote_request is not None:
            released.append(line.quote_request_id)
            release_quote(line.quote_request, user=user, now=now)
    record_audit(
        actor=user,
        action="purchase.delete",
        subject=locked,
        detail={"organisation_id": locked.organisation_id, "lines": len(locked.lines), "quotes": released},
        now=now,
    )
    db.session.delete(locked)
    db.session.flush()


@dataclass
class ProductChoices:
    """What the purchase form offers in its product rows."""

    #: every variant (规格) of the products found, or of the newest without a query; then the ones the
    #: form's rows hold already that the search did not find (a new search never drops a choice)
    products: list[Product]
    #: how many products matched the query (None without one)
    found: int | None
    #: {village id: its label} of the products' villages (`catalog.services.village_labels`: with its township
    #: when another township has a village of its name): a 三江腌菜500克 of two villages 新村 told apart
    villages: dict[int, str] = field(default_factory=dict)

    def label(self, product: Product) -> str:
        """The product as the rows offer it, less its price: name · village (its label)."""
        return f"{product.name} · {self.villages.get(product.village_id, '')}"


def product_choices(
    *, q: str = "", chosen: Iterable[int] = (), kept: Iterable[Product] = (), today: date
) -> ProductChoices:
    """The products the purchase form offers: those the shop's search finds for `q` (the index's
    ranking, `catalog.services.ranked_product_ids`, re-checked by the catalog: only products on sale),
    at most CHOICES_LIMIT, or the newest without a query, less those whose food-safety papers do not
    count `today` (`catalog.papers.unsellable_ids`: not sold, so not offered); plus the rows' choices
    `chosen` (ids, on sale) and `kept` (the lines of the draft being edited, shown even if withdrawn or
    their papers lost since: saving, or sending the quote request, says so naming the paper)."""
    q = " ".join((q or "").split())[:MAX_QUERY]
    ranked = ranked_product_ids(q) if q else None
    if q and ranked is not None:
        listed, total = list_products(ProductFilter(sort="relevance", per_page=CHOICES_LIMIT), ranked_ids=ranked)
        found: int | None = total
    else:
        listed, _total = list_products(ProductFilter(sort="newest", per_page=CHOICES_LIMIT))
        found = None
    products = [variant for face in listed for variant in face.variants]
    paused = unsellable_ids([p.id for p in products], today=today)
    products = [p for p in products if p.id not in paused]
    shown = {p.id for p in products}
    for product in kept:
        if product.id not in shown:
            products.append(product)
            shown.add(product.id)
    wanted = sorted({pid for pid in chosen if pid not in shown})
    if wanted:
        products.extend(db.session.scalars(visible_products().where(Product.id.in_(wanted)).order_by(Product.id)))
    return ProductChoices(products, found, village_labels(p.village_id for p in products))


def get_visible_purchase(purchase_id: int, user) -> Purchase:
    """The purchase, for the members of its organisation and the county office; NotFound for anyone else."""
    purchase = db.session.get(Purchase, purchase_id)
    if purchase is None or not (is_staff(user) or membership(purchase.organisation_id, user) is not None):
        raise NotFound("purchase_not_found")
    return purchase


def purchase_ids_of_orders(order_ids: Iterable[int], user) -> dict[int, int]:
    """{order id: purchase id} of those of `order_ids` placed for a purchase that `user` may open, by
    `get_visible_purchase`'s rule (a member of its organisation, or the county office), in one
    statement: the order pages link each such order to its purchase (`orders.origins`)."""
    ids = sorted(set(order_ids))
    if not ids or user is None or not user.is_authenticated:
        return {}
    query = (
        sa.select(PurchaseOrder.order_id, PurchaseOrder.purchase_id)
        .join(Purchase, Purchase.id == PurchaseOrder.purchase_id)
        .where(PurchaseOrder.order_id.in_(ids))
    )
    if not is_staff(user):
        query = query.where(
            Purchase.organisation_id.in_(
                sa.select(OrganisationMember.organisation_id).where(OrganisationMember.user_id == user.id)
            )
        )
    return {order_id: purchase_id for order_id, purchase_id in db.session.execute(query)}


@dataclass(frozen=True)
class OrderCanceled:
    """When one of a purchase's orders was canceled, and by whom: `by` its buyer, a member of the
    organisation (the order page's 取消订单, `payments.buyer_cancel_order`), or None when the shop
    canceled it (not collected in time, a recall, …)."""

    at: datetime
    by: User | None


def canceled_orders(purchase: Purchase) -> dict[int, OrderCanceled]:
    """{order id: OrderCanceled} of the purchase's canceled orders, read from their status events (each
    records its actor) in one statement and the buyers who canceled in one more, however many orders: what the purchase page, its API answer and the approvers' mail
    (`notices.notify_order_canceled`) say of them. Only the order's buyer is named: a station's operator
    or the county office canceling it is the shop."""
    placed = {po.order_id: po.order for po in purchase.orders if po.order.status == OrderStatus.CANCELED}
    if not placed:
        return {}
    rows = db.session.execute(
        sa.select(StatusEvent.subject_id, StatusEvent.created_at, StatusEvent.actor_id)
        .where(
            StatusEvent.subject_type == Order.__tablename__,
            StatusEvent.subject_id.in_(sorted(placed)),
            StatusEvent.to_status == OrderStatus.CANCELED,
        )
        .order_by(StatusEvent.id)
    ).all()
    last = {order_id: (at, actor_id) for order_id, at, actor_id in rows}  # by id: each order's last cancel wins
    buyer_ids = {actor for order_id, (_at, actor) in last.items() if actor == placed[order_id].user_id}
    buyers = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(buyer_ids)))} if buyer_ids else {}
    return {
        order_id: OrderCanceled(
            at, buyers.get(actor) if actor is not None and actor == placed[order_id].user_id else None
        )
        for order_id, (at, actor) in last.items()
    }


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
    from a station's quote at its quoted price. A stored line whose product cannot be sold now (withdrawn,
    its papers missing since the draft was saved: `NOT_FOR_SALE`) is refused naming it as the draft's
    checks do (`_line_refusal`): its number among its destination's lines, as the purchase page lists
    them, and the destination's name."""
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
        try:
            quoted = quote(
                wanted, delivery=purchase.delivery, pickup_station_id=purchase.pickup_station_id, agreed_prices=agreed
            )
        except Conflict as exc:
            raise _stored_line_refusal(purchase, destination_id, exc) from None
        groups.append(
            Group(
                destinations.get(destination_id) if destination_id else None,
                wanted,
                quoted.total_fen,
                agreed,
                unit_prices={pid: item.price_fen for pid, item in quoted.items.items()},
                shipping_fen=sum(quoted.shipping_fen.values()),
            )
        )
    return groups


def _stored_line_refusal(purchase: Purchase, destination_id: int | None, refused: Conflict) -> DomainError:
    """The quote's refusal (`refused`) of a group of the saved purchase: for a product not for sale,
    `_line_refusal` of its first line at that destination (`destination_id`; None: the pick-up), numbered
    from 1 as the purchase page lists the destination's lines, its place in `fields` as the API's draft
    names it (`destinations.{i}.items.{j}`, `items.{j}`); any other refusal as it is."""
    if refused.code not in NOT_FOR_SALE:
        return refused
    lines = [line for line in purchase.lines if line.destination_id == destination_id]
    at = next((k for k, line in enumerate(lines) if str(line.product_id) == refused.fields.get("product_id")), None)
    if at is None:
        return refused
    if destination_id is None:
        where, label = "items", ""
    else:
        i, destination = next((i, d) for i, d in enumerate(purchase.destinations) if d.id == destination_id)
        where, label = f"destinations.{i}.items", destination.label
    return _line_refusal(lines[at].product_id, where=f"{where}.{at}", row=at + 1, label=label, refused=refused)


def _lock(purchase: Purchase) -> Purchase:
    return db.session.scalars(
        sa.select(Purchase)
        .where(Purchase.id == purchase.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def submit_purchase(purchase: Purchase, *, user: User, now: datetime) -> Purchase:
    """The buyer who built the draft sends it to the organisation's approvers, only while it could be
    placed as it stands: a product withdrawn (or without valid papers) since the draft was saved is
    refused here naming its line (409 `purchase_row_unavailable[_at]`, ...: `groups_of`), so the buyer
    changes the draft rather than an approver finding an approval that can only fail. A product its
    station has too little of now (`short_stock`) is no refusal: stock is taken at approval, and the
    station may restock before it; the page submitting it says so. Each approver is
    mailed after the commit (`notices.notify_submitted`); a second submit is refused (409) and mails nobody."""
    if user.id != purchase.created_by_id:
        raise Forbidden("purchase_creator_only")
    locked = _lock(purchase)
    if locked.status != PurchaseStatus.DRAFT:
        raise Conflict("purchase_already_submitted", fields={"status": locked.status})
    groups_of(locked)  # raises what placement would refuse now
    transition(locked, PurchaseStatus.SUBMITTED, actor=user, now=now)
    locked.submitted_at = now
    db.session.flush()
    notify_submitted(locked)  # the approvers, after the commit
    return locked


def _check_approver(purchase: Purchase, user: User) -> None:
    member = membership(purchase.organisation_id, user)
    if member is None or member.role != MemberRole.APPROVER:
        raise Forbidden("approver_only")
    if user.id == purchase.created_by_id:
        raise Forbidden("same_person")


def _return_reason(reason: str) -> str:
    """A return's note, cleaned (spaces collapsed): required (422 `purchase_return_reason_required`), at most
    `MAX_RETURN_REASON` characters (422 `purchase_return_reason_too_long`, naming the limit)."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("purchase_return_reason_required", max=MAX_RETURN_REASON, fields={"reason": "required"})
    if len(reason) > MAX_RETURN_REASON:
        raise ValidationError("purchase_return_reason_too_long", max=MAX_RETURN_REASON, fields={"reason": "too_long"})
    return reason


def decision_refusal(
    purchase: Purchase, user: User, *, approve: bool, now: datetime, reason: str = ""
) -> DomainError | None:
    """Why `user` may not approve (`approve`) or send back the purchase as it stands, or None: not an
    approver of its organisation or its own buyer (403), not waiting for approval (409 `not_submitted`:
    decided already, a double tap), and for an approval the organisation unverified, a product that
    cannot be placed now, or a total past what is left of the year's budget; for a return, its note
    (`reason`) missing or too long. The pages ask it before
    the confirmation step, so an approval that can only fail is refused at once; `approve_purchase`
    and `reject_purchase` ask the same rules again under their locks."""
    try:
        _check_approver(purchase, user)
        if purchase.status != PurchaseStatus.SUBMITTED:
            raise Conflict("not_submitted", fields={"status": purchase.status})
        if approve:
            if purchase.organisation.status != OrganisationStatus.APPROVED:
                raise Conflict("organisation_not_verified")
            refuse_buyer_left(purchase)
            total = sum(group.total_fen for group in groups_of(purchase))
            refuse_over_budget(budget_check(purchase.organisation, total_fen=total, now=now))
            refuse_short_stock(purchase)
        else:
            _return_reason(reason)
    except DomainError as exc:
        return exc
    return None


@dataclass(frozen=True)
class Shortage:
    """A product the purchase wants more of (over all its addresses) than its station has free now."""

    product: Product
    wanted: int
    available: int

    def details(self) -> dict[str, str]:
        """The product, its village, what is wanted and what is free, as the messages name them."""
        unit = self.product.unit
        return {
            "name": self.product.name,
            "village": self.product.village.name,
            "wanted": f"{self.wanted} {unit}",
            "available": f"{max(self.available, 0)} {unit}",
        }


def short_stock(purchase: Purchase) -> list[Shortage]:
    """The products the purchase wants more of (over all its addresses) than their station has free now,
    by product id: the one stock rule of a purchase. Stock is taken only at approval (placement
    allocates it), so the buyer is warned of these on the draft and at submission (`submit_purchase`
    still sends it: the station may restock before it is approved), and the approval is refused
    (`refuse_short_stock`). The numbers are read afresh (under `approve_purchase`'s record locks, what
    placement will find)."""
    wanted: dict[int, int] = {}
    products: dict[int, Product] = {}
    for line in purchase.lines:
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
        products[line.product_id] = line.product
    if not wanted:
        return []
    free = dict(
        db.session.execute(
            sa.select(StockRecord.product_id, StockRecord.on_hand - StockRecord.allocated).where(
                StockRecord.product_id.in_(sorted(wanted))
            )
        ).all()
    )
    return [
        Shortage(products[product_id], wanted[product_id], free.get(product_id, 0))
        for product_id in sorted(wanted)
        if free.get(product_id, 0) < wanted[product_id]
    ]


def refuse_short_stock(purchase: Purchase) -> None:
    """The first of `short_stock(purchase)` refused (409 `purchase_out_of_stock`), naming the product,
    its village, what is wanted and what is free: the approver sends it back to its buyer, or waits for
    the station to restock."""
    for shortage in short_stock(purchase):
        raise Conflict("purchase_out_of_stock", **shortage.details(), fields={"product_id": str(shortage.product.id)})


def buyer_left(purchase: Purchase) -> bool:
    """Whether the buyer who built the purchase is no longer a member of its organisation (removed, or left:
    `organisations.remove_member`)."""
    return membership(purchase.organisation_id, purchase.created_by) is None


def refuse_buyer_left(purchase: Purchase) -> None:
    """A purchase whose buyer has left its organisation (`buyer_left`) is refused approval (409
    `purchase_buyer_left`): its orders would be placed for that account, which no longer sees the
    organisation's purchases. The purchase stays the organisation's; its approver sends it back (退回) and a
    buyer of the organisation builds it again."""
    if buyer_left(purchase):
        raise Conflict("purchase_buyer_left")


def can_decide(purchase: Purchase, user) -> bool:
    if purchase.status != PurchaseStatus.SUBMITTED or user is None or not user.is_authenticated:
        return False
    member = membership(purchase.organisation_id, user)
    return member is not None and member.role == MemberRole.APPROVER and user.id != purchase.created_by_id


def approve_purchase(purchase: Purchase, *, user: User, now: datetime, shown_total_fen: int | None = None) -> Purchase:
    """A second person, an approver of the organisation, approves: the purchase is placed as orders
    (one per destination, or one pick-up order) by the retail placement service, for its buyer, and
    audited with the orders' codes. `shown_total_fen`, when given, is what the approver saw: a
    different total now (a price or shipping changed) refuses with PriceChanged. A total past what is
    left of the organisation's budget for the year (`statements.refuse_over_budget`, when one is set)
    is refused (409 `purchase_over_budget`) and nothing is placed. Its buyer is mailed after the commit
    (`notices.notify_approved`), besides each order's own mail.

    Lock order: the purchase, the organisation, then the stock records and what placement takes."""
    _check_approver(purchase, user)
    locked = _lock(purchase)
    if locked.status != PurchaseStatus.SUBMITTED:
        raise Conflict("not_submitted", fields={"status": locked.status})
    # the organisation's row (as set_budget): two approvals at once never spend one budget twice
    organisation = lock_organisation(locked.organisation_id)
    if organisation.status != OrganisationStatus.APPROVED:
        raise Conflict("organisation_not_verified")
    refuse_buyer_left(locked)
    budget = budget_check(organisation, total_fen=0, now=now)  # read before this purchase's orders exist
    buyer = db.session.get(User, locked.created_by_id)
    lock_records_of_products(line.product_id for line in locked.lines)
    refuse_short_stock(locked)
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
    if budget is not None:
        refuse_over_budget(replace(budget, this_fen=total))
    transition(locked, PurchaseStatus.APPROVED, actor=user, now=now)
    locked.decided_at = now
    locked.decided_by_id = user.id
    locked.decision_reason = ""  # an earlier return's note is answered (its status event keeps it)
    record_audit(
        actor=user,
        action="purchase.approve",
        subject=locked,
        detail={"orders": [o.code for o in placed], "total_fen": total},
        now=now,
    )
    db.session.flush()
    notify_approved(locked)  # the buyer, after the commit
    return locked


def reject_purchase(purchase: Purchase, *, reason: str, user: User, now: datetime) -> Purchase:
    """An approver of the organisation (not the buyer who built it) sends it back with a reason; audited.
    Its buyer is mailed the reason after the commit (`notices.notify_returned`)."""
    _check_approver(purchase, user)
    reason = _return_reason(reason)
    locked = _lock(purchase)
    if locked.status != PurchaseStatus.SUBMITTED:
        raise Conflict("not_submitted", fields={"status": locked.status})
    transition(locked, PurchaseStatus.REJECTED, actor=user, now=now, note=reason)
    locked.decided_at = now
    locked.decided_by_id = user.id
    locked.decision_reason = reason
    record_audit(actor=user, action="purchase.reject", subject=locked, detail={"reason": reason}, now=now)
    db.session.flush()
    notify_returned(locked, reason=reason)  # the buyer, after the commit
    return locked
