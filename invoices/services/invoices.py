"""Invoices (发票): who may ask for one and see it, what may be invoiced, the station's record of the
invoice it issued and of a red invoice (红字发票) after a refund. Services only flush; the caller commits.

What may be invoiced is computed from rows, never stored:

- an order's money received (`order_paid_fen`): card (and any non-cash method) payments captured
  minus what they refunded; a cash order's net cash in the stations' books;
- a station's part of it (`station_paid_fen`): its shipments' cash for a cash order, else what its
  shipments are still due, capped by the order's money received;
- invoiced (`Sums.invoiced_fen`): the sum of the issued invoices' parts for the order (red ones negative).

Per order and station, what is left to invoice is `min(station part − invoiced by the station, order
money − invoiced by all)`. Issuing an invoice (per order or per period) locks its orders and their
payments (the documented lock order: order rows by id, then payment rows), refuses an amount above
what is left, and spreads the amount over the orders, so the per-order sums never exceed what was
paid minus refunds and the period's total never exceeds the sum of its orders. A refund after
invoicing leaves an order invoiced above its money: its invoices show `red_due_fen` until the station
records the red invoice against the original.

Each figure is one function of its order (or invoice) and a `Sums`, the sums it reads beside the order's
rows (invoiced, a cash order's cash, a blue invoice's red parts), whoever asks: a list (`figures_of`:
state, what may be issued, the red invoice due — its invoices' orders loaded with it, `list_loads`) reads
them for all its orders at once, so its statements do not grow with its rows; one invoice's page and API
answer read the same `figures_of` of it alone; asking (an order no invoice holds yet included), issuing
and the red invoice read a `Sums` of their locked orders.

A request's state is computed too (`invoice_state`), never stored (no migration): 待开票 (`requested`)
while `request_due_fen` (the station's part of its orders now, `station_parts_fen`) is above 0; 无需开票
(`not_needed`) once it is 0 — the station's part refunded or canceled after the request (a recall's
one-step refund, its lines refunded, the order canceled): no issue form, out of the station's to-do,
issuing refused (409 `invoice_not_needed`), and so is asking again for it (the order's or a period's
request: not 正在等待开票). A part made only smaller stays 待开票 for the smaller amount.
已开票 (`issued`) is stored; an invoice issued before a refund keeps its red-invoice path.

Who sees an invoice: whoever asked for it (an organisation's: while a member with rights), the members of
its organisation with rights (buyers, approvers, managers — not viewers), the issuing station's operators,
the county office and admins; anyone else gets a 404. An organisation's order and its invoices are the
organisation's: a member who is removed or leaves sees neither its invoices nor asks for one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from institutions import creditcode
from institutions.models import MemberRole, Organisation, OrganisationMember, Purchase, PurchaseOrder
from institutions.services.organisations import get_visible_organisation, is_staff, organisations_of
from invoices.files import check_invoice_file, store_invoice_file
from invoices.models import Invoice, InvoiceKind, InvoiceOrder, InvoiceScope, InvoiceStatus
from orders.models import Order, OrderStatus, PaymentState, Shipment, ShipmentStatus
from orders.services.amounts import is_cash_order, shipment_due_fen
from orders.services.cashbook import shipments_cash_fen
from orders.services.common import lock_order, lock_payment
from shop.args import half_width
from shop.audit import record_audit
from shop.auth.permissions import can_manage_station
from shop.codes import typed_code
from shop.db import unique_or
from shop.errors import Conflict, Forbidden, NotFound, ValidationError
from shop.extensions import db
from shop.history import transition
from shop.money import MAX_FEN, format_yuan
from shop.phone import is_phone, normalise_phone
from shop.timeutil import local_date, local_midnight_utc

CAPTURED = (PaymentState.CONFIRMED, PaymentState.REFUNDED)
TAX_NUMBER_LENGTHS = (15, 17, 18, 20)
TAX_NUMBER_RE = re.compile(r"^[0-9A-Z]+$")
NUMBER_RE = re.compile(r"^[0-9]{8,20}$")
ACCOUNT_RE = re.compile(r"^[0-9 -]{4,40}$")
MAX_PERIOD_DAYS = 366
MAX_LIST = 200
#: A request with nothing left to invoice (`invoice_state`): shown, never stored.
NOT_NEEDED = "not_needed"


# --- the buyer's details ---------------------------------------------------------------------------


@dataclass
class InvoiceDetails:
    kind: str = ""
    title: str = ""
    tax_number: str = ""
    address: str = ""
    phone: str = ""
    bank: str = ""
    account: str = ""


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


def normalise_tax_number(value: str | None) -> str:
    """Spaces dropped, full-width characters (a Chinese input method's `８１３６…Ｌ`) made ASCII, upper-cased."""
    return "".join(half_width(value or "").split()).upper()


def is_valid_tax_number(value: str) -> bool:
    """税号: 15, 17, 18 or 20 digits or capital letters; an 18-character one is a 统一社会信用代码
    and must carry its check character (GB 32100)."""
    if len(value) not in TAX_NUMBER_LENGTHS or not TAX_NUMBER_RE.match(value):
        return False
    return len(value) != 18 or creditcode.is_valid(value)


#: The most characters an invoice's 抬头 may have (its column's), spaces around it not counted.
TITLE_MAX = 100


def clean_details(data: InvoiceDetails) -> InvoiceDetails:
    """The buyer's invoice details, normalised; ValidationError naming the fields otherwise.

    普通发票: a title, the tax number optional (an individual has none) but valid when given.
    专用发票: title, tax number, address, phone, bank and account all required."""
    if data.kind not in set(InvoiceKind):
        raise ValidationError("invoice_kind_required", fields={"kind": "required"})
    title = _text(data.title)
    if not title:
        raise ValidationError("invoice_title_required", fields={"title": "required"})
    if len(title) > TITLE_MAX:
        raise ValidationError("invoice_title_too_long", fields={"title": "too_long"}, max=TITLE_MAX)
    tax_number = normalise_tax_number(data.tax_number)
    special = data.kind == InvoiceKind.SPECIAL
    if (tax_number or special) and not is_valid_tax_number(tax_number):
        raise ValidationError("invoice_invalid_tax_number", fields={"tax_number": "invalid"})
    address, bank = _text(data.address), _text(data.bank)
    phone = normalise_phone(data.phone) if _text(data.phone) else ""
    account = _text(half_width(data.account or ""))  # typed: full-width digits read as ASCII
    # a phone or account typed wrong is said as such, not as a field left empty
    if phone and not is_phone(phone, landline=True):
        raise ValidationError("invoice_invalid_phone", fields={"phone": "invalid"})
    if account and not ACCOUNT_RE.match(account):
        raise ValidationError("invoice_invalid_account", fields={"account": "invalid"})
    errors = {}
    if len(address) > 200:
        errors["address"] = "too_long"
    if len(bank) > 100:
        errors["bank"] = "too_long"
    if special:
        for name, value in (("address", address), ("phone", phone), ("bank", bank), ("account", account)):
            if not value:
                errors.setdefault(name, "required")
    if errors:
        raise ValidationError("invoice_incomplete", fields=errors)
    return InvoiceDetails(
        kind=data.kind, title=title, tax_number=tax_number, address=address, phone=phone, bank=bank, account=account
    )


# --- who may ask and see -----------------------------------------------------------------------------


def _rights_member(organisation_id: int, user) -> OrganisationMember | None:
    """The user's membership of the organisation if it carries invoice rights (buyer, approver, manager)."""
    if user is None or not user.is_authenticated:
        return None
    member = db.session.scalar(
        sa.select(OrganisationMember).where(
            OrganisationMember.organisation_id == organisation_id, OrganisationMember.user_id == user.id
        )
    )
    if member is None or not (member.is_manager or member.role in (MemberRole.BUYER, MemberRole.APPROVER)):
        return None
    return member


def _rights_organisation_ids(user) -> sa.Select:
    return sa.select(OrganisationMember.organisation_id).where(
        OrganisationMember.user_id == user.id,
        sa.or_(
            OrganisationMember.is_manager.is_(True),
            OrganisationMember.role.in_((MemberRole.BUYER, MemberRole.APPROVER)),
        ),
    )


def invoice_organisations(user) -> list[tuple[Organisation, OrganisationMember]]:
    """The organisations whose orders `user` may ask a period invoice for (rights: buyer, approver,
    manager), with the membership, by id."""
    return [
        (o, m) for o, m in organisations_of(user) if m.is_manager or m.role in (MemberRole.BUYER, MemberRole.APPROVER)
    ]


def default_period_organisation_id(rows: list[tuple[Organisation, OrganisationMember]]) -> int | None:
    """Whose orders the period invoice form starts on, and `POST /api/v1/invoice-requests` asks for when
    its `organisation_id` is omitted: an approver sees all of their organisation's orders, so the first
    organisation (of `rows`, `invoice_organisations`) they approve for; anyone else their own retail
    orders (None)."""
    return next((o.id for o, m in rows if m.role == MemberRole.APPROVER), None)


def period_organisation_id(rows: list[tuple[Organisation, OrganisationMember]], asked: int | None) -> int | None:
    """Whose orders the period invoice form starts on: the organisation its link names (`asked`, e.g. from
    the organisation's statement of that period) when it is one of `rows` (`invoice_organisations`: the
    caller has rights there), else `default_period_organisation_id`. A link naming any other organisation
    is ignored, so the page tells nothing of it."""
    if asked is not None and any(o.id == asked for o, _m in rows):
        return asked
    return default_period_organisation_id(rows)


def suggested_period_details(rows: list[tuple[Organisation, OrganisationMember]], organisation_id: int | None) -> dict:
    """What the period invoice form starts with for the organisation it starts on (one of `rows`): its name
    as the title and its credit code as the tax number, as an order it bought starts (`suggested_details`);
    nothing for the caller's own orders."""
    organisation = next((o for o, _m in rows if o.id == organisation_id), None)
    return _organisation_details(organisation) if organisation is not None else {}


def _organisation_details(organisation: Organisation) -> dict[str, str]:
    """An organisation's invoice title and tax number: its name and its unified social credit code (a unit's
    tax number, as verified by the county office)."""
    return {"title": organisation.name, "tax_number": organisation.credit_code}


def order_organisation_id(order_id: int) -> int | None:
    """The organisation whose approved purchase placed the order, or None (a retail order)."""
    return db.session.scalar(
        sa.select(Purchase.organisation_id)
        .join(PurchaseOrder, PurchaseOrder.purchase_id == Purchase.id)
        .where(PurchaseOrder.order_id == order_id)
    )


def suggested_details(order: Order) -> dict[str, str]:
    """What the order's invoice form starts with: for an order an organisation's purchase placed, the
    organisation's name as the title and its unified social credit code as the tax number (a unit's tax
    number, as verified by the county office); nothing for a retail order."""
    organisation_id = order_organisation_id(order.id)
    if organisation_id is None:
        return {}
    return _organisation_details(db.session.get_one(Organisation, organisation_id))


def may_request(order: Order, user) -> bool:
    """Its buyer, for a retail order; for an order an organisation's purchase placed, the organisation's
    members with rights — the order is the organisation's: the account that placed it asks only while it
    is one of them (removed, or left, it gets a 404 as any stranger)."""
    if user is None or not user.is_authenticated:
        return False
    organisation_id = order_organisation_id(order.id)
    if organisation_id is not None:
        return _rights_member(organisation_id, user) is not None
    return order.user_id == user.id


def get_order_for_invoice(code: str, user) -> Order:
    """The order with public `code` if `user` may ask for its invoice (its buyer, or a member with
    rights of the organisation that bought it); NotFound otherwise."""
    order = db.session.scalar(sa.select(Order).where(Order.code == typed_code(code)[:16]))
    if order is None or not may_request(order, user):
        raise NotFound("not_found")
    return order


def may_see(invoice: Invoice, user) -> bool:
    """The staff, the issuing station; an organisation's invoice its members with rights (not whoever asked
    for it once they have left it: it is the organisation's), any other invoice whoever asked for it."""
    if user is None or not user.is_authenticated:
        return False
    if is_staff(user) or can_manage_station(user, invoice.station_id):
        return True
    if invoice.organisation_id is not None:
        return _rights_member(invoice.organisation_id, user) is not None
    return invoice.requested_by_id == user.id


def get_visible_invoice(invoice_id: int, user, *, lock: bool = False) -> Invoice:
    query = sa.select(Invoice).where(Invoice.id == invoice_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    invoice = db.session.scalar(query)
    if invoice is None or not may_see(invoice, user):
        raise NotFound("invoice_not_found")
    return invoice


def may_issue(invoice: Invoice, user) -> bool:
    return can_manage_station(user, invoice.station_id)


# --- what may be invoiced ----------------------------------------------------------------------------


def _is_blue(invoice: Invoice) -> bool:
    """An issued blue invoice: one a red invoice may reverse."""
    return invoice.status == InvoiceStatus.ISSUED and invoice.red_of_id is None


class Sums:
    """What every figure below reads beside its orders' rows (their shipments with their lines, their
    payments): what the issued invoices attribute to each order (per station and in all), a cash order's
    cash per shipment, a blue invoice's red parts. It is the one input of every figure, for one order, one
    invoice or a whole list alike: each figure is one function of its order (or invoice) and a Sums.

    Each sum is taken on its first read, for all the orders (or blue invoices) the Sums is over at once, in
    one grouped statement (the cash in two), and kept: a list costs the same statements however many rows
    it has (`figures_of`, with its orders loaded by `list_loads`), and a sum no figure reads costs none.
    A Sums answers for the orders it is over — one no invoice holds yet as well (asking for its invoice:
    nothing invoiced) — and refuses any other (LookupError) rather than say 0. Made after the caller's
    locks, it is read within them."""

    def __init__(self, orders: Iterable[Order], *, blue_ids: Iterable[int] = ()):
        self.orders = {order.id: order for order in orders}
        self.blue_ids = frozenset(blue_ids)

    @classmethod
    def of(cls, invoices: Iterable[Invoice]) -> Sums:
        """Over the orders of `invoices` and those of them that are issued blue invoices."""
        invoices = list(invoices)
        return cls(
            (link.order for invoice in invoices for link in invoice.orders),
            blue_ids=(invoice.id for invoice in invoices if _is_blue(invoice)),
        )

    def _check(self, order_id: int) -> None:
        if order_id not in self.orders:
            raise LookupError(f"order {order_id} is not one of the orders these sums are over")

    def invoiced_fen(self, order_id: int, station_id: int | None = None) -> int:
        """What the issued invoices (red ones negative) attribute to the order (of one station, or all)."""
        self._check(order_id)
        return self._invoiced.get((order_id, station_id), 0)

    def cash_fen(self, shipment: Shipment) -> int:
        """A cash order's shipment's net cash in the books (`orders.services.cashbook.shipment_cash_fen`)."""
        self._check(shipment.order_id)
        return self._cash[shipment.id]

    def red_parts(self, invoice: Invoice) -> dict[int, int]:
        """{order id: what the red invoices of a blue invoice took back of that order (negative)}."""
        if invoice.id not in self.blue_ids:
            raise LookupError(f"invoice {invoice.id} is not one of the blue invoices these sums are over")
        return self._reds.get(invoice.id, {})

    @cached_property
    def _invoiced(self) -> dict[tuple[int, int | None], int]:
        """{(order id, station id): invoiced by the station, (order id, None): invoiced by all}."""
        sums: dict[tuple[int, int | None], int] = {}
        if self.orders:
            for order_id, station_id, fen in db.session.execute(
                sa.select(InvoiceOrder.order_id, Invoice.station_id, sa.func.sum(InvoiceOrder.amount_fen))
                .join(Invoice, Invoice.id == InvoiceOrder.invoice_id)
                .where(InvoiceOrder.order_id.in_(sorted(self.orders)), Invoice.status == InvoiceStatus.ISSUED)
                .group_by(InvoiceOrder.order_id, Invoice.station_id)
            ):
                sums[(order_id, station_id)] = int(fen or 0)
                sums[(order_id, None)] = sums.get((order_id, None), 0) + int(fen or 0)
        return sums

    @cached_property
    def _cash(self) -> dict[int, int]:
        """{shipment id: its net cash} of the cash orders' shipments (`shipments_cash_fen`)."""
        return shipments_cash_fen(s.id for o in self.orders.values() if is_cash_order(o) for s in o.shipments)

    @cached_property
    def _reds(self) -> dict[int, dict[int, int]]:
        """{blue invoice id: {order id: its red invoices' part of that order}}."""
        reds: dict[int, dict[int, int]] = {}
        if self.blue_ids:
            for red_of_id, order_id, fen in db.session.execute(
                sa.select(Invoice.red_of_id, InvoiceOrder.order_id, sa.func.sum(InvoiceOrder.amount_fen))
                .join(Invoice, Invoice.id == InvoiceOrder.invoice_id)
                .where(Invoice.red_of_id.in_(sorted(self.blue_ids)))
                .group_by(Invoice.red_of_id, InvoiceOrder.order_id)
            ):
                if red_of_id is not None:  # always: one of `blue_ids`
                    reds.setdefault(red_of_id, {})[order_id] = int(fen or 0)
        return reds


def list_loads():
    """What the figures of a list of invoices read of each (`figures_of`), loaded with the list: its orders'
    links, the orders, their shipments with their lines, their payments. (A function: the options name
    mapped attributes, which are built once every package's models are imported.)"""
    return (
        selectinload(Invoice.orders)
        .selectinload(InvoiceOrder.order)
        .options(selectinload(Order.shipments).selectinload(Shipment.lines), selectinload(Order.payments))
    )


def order_paid_fen(order: Order, sums: Sums) -> int:
    """The order's money received: a cash order's net cash in the books, else captured − refunded."""
    if is_cash_order(order):
        return sum(sums.cash_fen(s) for s in order.shipments)
    return sum(p.amount_fen - p.refunded_fen for p in order.payments if p.state in CAPTURED)


def station_paid_fen(order: Order, station_id: int, sums: Sums) -> int:
    """The station's part of the order's money received."""
    shipments = [s for s in order.shipments if s.station_id == station_id]
    if is_cash_order(order):
        return sum(sums.cash_fen(s) for s in shipments)
    return min(sum(shipment_due_fen(s) for s in shipments), order_paid_fen(order, sums))


def station_due_fen(order: Order, station_id: int) -> int:
    return sum(shipment_due_fen(s) for s in order.shipments if s.station_id == station_id)


def uninvoiced_part_fen(order: Order, station_id: int, sums: Sums) -> int:
    """What of the station's part of the order (`station_due_fen`, paid or not) no invoice holds yet. At 0 or
    below a request of it has nothing to wait for — invoiced in full, or the part refunded or canceled since
    it was asked (its request reads 无需开票, `invoice_state`) — so asking again (for the order or a period) is
    told so; above 0 a request of it still waits, paid or not (正在等待开票)."""
    return station_due_fen(order, station_id) - sums.invoiced_fen(order.id, station_id)


def available_fen(order: Order, station_id: int, sums: Sums) -> int:
    """What the station may still invoice for the order: never above what was paid minus refunds."""
    if order.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED):
        return 0
    left = min(
        station_paid_fen(order, station_id, sums) - sums.invoiced_fen(order.id, station_id),
        order_paid_fen(order, sums) - sums.invoiced_fen(order.id),
    )
    return max(0, left)


def over_fen(order: Order, station_id: int, sums: Sums) -> int:
    """How far the order is invoiced above its money (a refund after invoicing), for the station."""
    return max(
        0,
        sums.invoiced_fen(order.id, station_id) - station_paid_fen(order, station_id, sums),
        sums.invoiced_fen(order.id) - order_paid_fen(order, sums),
    )


def _net_parts(invoice: Invoice, sums: Sums) -> dict[int, int]:
    """A blue invoice's part of each order, less what its red invoices took back."""
    parts = {link.order_id: link.amount_fen for link in invoice.orders}
    for order_id, amount in sums.red_parts(invoice).items():
        parts[order_id] = parts.get(order_id, 0) + amount
    return parts


def net_amount_fen(invoice: Invoice) -> int:
    """A blue invoice's amount less its red invoices."""
    reds = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Invoice.amount_fen), 0)).where(Invoice.red_of_id == invoice.id)
    )
    return (invoice.amount_fen or 0) + int(reds or 0)


def red_due_fen(invoice: Invoice, sums: Sums) -> int:
    """What of an issued blue invoice should be reversed by a red invoice: its part of orders now
    invoiced above their money (a refund after invoicing). 0 for a request or a red invoice."""
    if not _is_blue(invoice):
        return 0
    parts = _net_parts(invoice, sums)
    due = 0
    for link in invoice.orders:
        part = parts.get(link.order_id, 0)
        if part > 0:
            due += min(part, over_fen(link.order, invoice.station_id, sums))
    return due


def station_parts_fen(invoice: Invoice) -> dict[int, int]:
    """{order id: the invoicing station's part of it} (`station_due_fen`): an order sold by two stations
    is invoiced by each for its own shipments, so its whole total is not what this invoice is about."""
    return {link.order_id: station_due_fen(link.order, invoice.station_id) for link in invoice.orders}


def invoice_available_fen(invoice: Invoice, sums: Sums) -> int:
    """What the station may issue now for a request (the sum over its orders)."""
    return sum(available_fen(link.order, invoice.station_id, sums) for link in invoice.orders)


def request_due_fen(invoice: Invoice) -> int:
    """What the request's orders still owe the station, paid or not (`station_parts_fen` summed: what its
    shipments are still due; nothing for a canceled or expired order). 0 once the station's part was
    refunded or canceled after the request (a recall's one-step refund, its lines refunded, the order
    canceled): the request is then closed, `NOT_NEEDED`."""
    parts = station_parts_fen(invoice)
    return sum(
        parts[link.order_id]
        for link in invoice.orders
        if link.order.status not in (OrderStatus.CANCELED, OrderStatus.EXPIRED)
    )


def invoice_state(invoice: Invoice) -> str:
    """The state pages and API show: the stored status, except a request (待开票) with nothing left to
    invoice (`request_due_fen` is 0: its part was refunded), which reads `NOT_NEEDED` (无需开票) — no issue
    form, out of the station's to-do, refused if issued (409 `invoice_not_needed`). Computed, never stored:
    a request whose part is only made smaller stays 待开票 for the smaller amount; an invoice issued before
    a refund keeps its red-invoice path (`red_due_fen`)."""
    if invoice.status == InvoiceStatus.REQUESTED and request_due_fen(invoice) == 0:
        return NOT_NEEDED
    return invoice.status


@dataclass(frozen=True)
class InvoiceFigures:
    """What a page, a list or the API shows of one invoice: its state (`invoice_state`), what the station
    may issue now for a request (`invoice_available_fen`, 0 otherwise) and the red invoice due
    (`red_due_fen`)."""

    state: str
    available_fen: int
    red_due_fen: int


def figures_of(invoices: list[Invoice]) -> dict[int, InvoiceFigures]:
    """{invoice id: InvoiceFigures} of some invoices — a list read with `list_loads`, or one invoice (its
    page, its API answer) — read from one `Sums` of them all: a list's statements do not grow with its rows."""
    sums = Sums.of(invoices)
    figures = {}
    for invoice in invoices:
        state = invoice_state(invoice)
        available = invoice_available_fen(invoice, sums) if state == InvoiceStatus.REQUESTED else 0
        figures[invoice.id] = InvoiceFigures(state, available, red_due_fen(invoice, sums))
    return figures


# --- asking ----------------------------------------------------------------------------------------------


def _new_invoice(
    details: InvoiceDetails,
    *,
    station_id: int,
    organisation_id: int | None,
    user,
    now: datetime,
    scope: str,
    period: tuple[date, date] | None = None,
) -> Invoice:
    invoice = Invoice(
        station_id=station_id,
        requested_by_id=user.id,
        organisation_id=organisation_id,
        scope=scope,
        period_from=period[0] if period else None,
        period_to=period[1] if period else None,
        kind=details.kind,
        status=InvoiceStatus.REQUESTED,
        title=details.title,
        tax_number=details.tax_number,
        address=details.address,
        phone=details.phone,
        bank=details.bank,
        account=details.account,
        created_at=now,
    )
    db.session.add(invoice)
    return invoice


def _open_request_exists(order_id: int, station_id: int) -> bool:
    return (
        db.session.scalar(
            sa.select(InvoiceOrder.id)
            .join(Invoice, Invoice.id == InvoiceOrder.invoice_id)
            .where(
                InvoiceOrder.order_id == order_id,
                Invoice.station_id == station_id,
                Invoice.status == InvoiceStatus.REQUESTED,
            )
            .limit(1)
        )
        is not None
    )


def _live_station_ids(order: Order) -> list[int]:
    return sorted({s.station_id for s in order.shipments if s.status != ShipmentStatus.CANCELED})


def request_for_order(order: Order, details: InvoiceDetails, *, user, now: datetime) -> list[Invoice]:
    """Ask for the invoice of one order: one request per station that sells in it (most orders have one).
    It may be asked before payment; the station issues at most what was paid minus refunds."""
    if not may_request(order, user):
        raise NotFound("not_found")
    details = clean_details(details)
    order = lock_order(order.id)
    if order.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED) or not order.shipments:
        raise Conflict("invoice_order_not_invoiceable")
    organisation_id = order_organisation_id(order.id)
    sums = Sums([order])  # none of its invoices may be issued yet: then nothing is invoiced
    created, pending, not_needed = [], False, False
    for station_id in _live_station_ids(order):
        if uninvoiced_part_fen(order, station_id, sums) <= 0:  # nothing of the station's part left
            not_needed = not_needed or _open_request_exists(order.id, station_id)
            continue
        if _open_request_exists(order.id, station_id):
            pending = True
            continue
        invoice = _new_invoice(
            details,
            station_id=station_id,
            organisation_id=organisation_id,
            user=user,
            now=now,
            scope=InvoiceScope.ORDER,
        )
        invoice.orders.append(InvoiceOrder(order_id=order.id, amount_fen=0))
        created.append(invoice)
    if not created and not pending and not_needed:
        raise Conflict("invoice_not_needed")
    if not created:
        raise Conflict("invoice_already_requested" if pending else "nothing_to_invoice")
    db.session.flush()
    for invoice in created:
        record_audit(
            actor=user,
            action="invoice.request",
            subject=invoice,
            detail={"order": order.code, "station_id": invoice.station_id, "kind": invoice.kind},
            now=now,
        )
    return created


def check_period(start: date, end: date, *, today: date) -> tuple[date, date]:
    if not isinstance(start, date) or not isinstance(end, date):
        raise ValidationError("invoice_invalid_period", fields={"from": "invalid"})
    if start <= end and end > today:  # said as such: the statement's 本月 reaches past today
        raise ValidationError("invoice_period_after_today", fields={"to": "invalid"}, today=today.isoformat())
    if start > end or (end - start).days >= MAX_PERIOD_DAYS or start.year < 2016:
        raise ValidationError("invoice_invalid_period", fields={"from": "invalid", "to": "invalid"})
    return start, end


def period_orders(user, organisation_id: int | None, start: date, end: date, *, lock: bool = False) -> list[Order]:
    """The orders a period invoice may cover: the organisation's purchase orders (a member with rights
    asks), or the caller's own retail orders, placed between `start` and `end` (Beijing dates). `lock`:
    their rows locked in id order, as `request_for_order` locks its one order, so two requests that
    cover one order are taken one after the other and the second sees the first's."""
    query = sa.select(Order).where(
        Order.created_at >= local_midnight_utc(start),
        Order.created_at < local_midnight_utc(end + timedelta(days=1)),
        Order.status.not_in((OrderStatus.CANCELED, OrderStatus.EXPIRED)),
    )
    in_purchase = sa.select(PurchaseOrder.order_id)
    if organisation_id is not None:
        query = query.where(
            Order.id.in_(
                sa.select(PurchaseOrder.order_id)
                .join(Purchase, Purchase.id == PurchaseOrder.purchase_id)
                .where(Purchase.organisation_id == organisation_id)
            )
        )
    else:
        query = query.where(Order.user_id == user.id, Order.id.not_in(in_purchase))
    query = query.order_by(Order.id)
    if lock:
        query = query.with_for_update(of=Order).execution_options(populate_existing=True)
    return list(db.session.scalars(query))


def request_for_period(
    details: InvoiceDetails,
    *,
    start: date,
    end: date,
    organisation_id: int | None,
    user,
    now: datetime,
) -> list[Invoice]:
    """Ask for one invoice per station over a period's paid orders (an organisation's, or the caller's own),
    leaving out each order whose station has a request waiting already (asked for the order, or for a
    period before): the station is never asked twice for the same money."""
    if organisation_id is not None:
        get_visible_organisation(organisation_id, user)  # 404 to strangers
        if _rights_member(organisation_id, user) is None:
            raise Forbidden("forbidden")
    details = clean_details(details)
    start, end = check_period(start, end, today=local_date(now))
    by_station: dict[int, list[Order]] = {}
    pending = not_needed = False
    candidates = period_orders(user, organisation_id, start, end, lock=True)
    sums = Sums(candidates)  # orders no invoice holds yet among them
    for order in candidates:
        for station_id in _live_station_ids(order):
            if _open_request_exists(order.id, station_id):  # asked already (for the order or a period)
                # what the waiting request reads, as asking for the order again says it: waiting (paid
                # or not), or nothing left of the station's part (`uninvoiced_part_fen`)
                if uninvoiced_part_fen(order, station_id, sums) > 0:
                    pending = True
                else:
                    not_needed = True
            elif available_fen(order, station_id, sums) > 0:  # paid, and not all invoiced
                by_station.setdefault(station_id, []).append(order)
    if not by_station and not pending and not_needed:
        raise Conflict("invoice_not_needed")
    if not by_station:
        raise Conflict("invoice_period_already_requested" if pending else "nothing_to_invoice")
    created = []
    for station_id, orders in sorted(by_station.items()):
        invoice = _new_invoice(
            details,
            station_id=station_id,
            organisation_id=organisation_id,
            user=user,
            now=now,
            scope=InvoiceScope.PERIOD,
            period=(start, end),
        )
        for order in orders:
            invoice.orders.append(InvoiceOrder(order_id=order.id, amount_fen=0))
        created.append(invoice)
    db.session.flush()
    for invoice in created:
        record_audit(
            actor=user,
            action="invoice.request",
            subject=invoice,
            detail={
                "period": [start.isoformat(), end.isoformat()],
                "orders": [link.order_id for link in invoice.orders],
                "station_id": invoice.station_id,
                "kind": invoice.kind,
            },
            now=now,
        )
    return created


# --- the station's record ----------------------------------------------------------------------------


@dataclass
class IssuedData:
    number: str = ""
    issued_on: date | None = None
    amount_fen: int | None = None


def _check_number(number: str) -> str:
    number = "".join((number or "").split())
    if not NUMBER_RE.match(number):
        raise ValidationError("invoice_invalid_number", fields={"number": "invalid"})
    if db.session.scalar(sa.select(Invoice.id).where(Invoice.number == number)) is not None:
        raise Conflict("invoice_number_taken", fields={"number": "taken"})
    return number


def _number_taken() -> Conflict:
    """An invoice number recorded meanwhile by another request (checked before, but not locked): the
    unique constraint's last word, said as taken rather than a server error (`shop.db.unique_or`)."""
    return Conflict("invoice_number_taken", fields={"number": "taken"})


def _check_date(issued_on: date | None, invoice: Invoice, now: datetime) -> date:
    earliest = local_date(invoice.created_at) - timedelta(days=MAX_PERIOD_DAYS)
    if not isinstance(issued_on, date) or not earliest <= issued_on <= local_date(now):
        raise ValidationError("invoice_invalid_date", fields={"issued_on": "invalid"})
    return issued_on


def _lock_orders(order_ids: list[int]) -> dict[int, Order]:
    """Order rows by id, then their payment rows (the documented lock order): no refund or cash entry
    changes what they received while the invoice is recorded."""
    orders = {order_id: lock_order(order_id) for order_id in sorted(set(order_ids))}
    for payment_id in sorted(p.id for o in orders.values() for p in o.payments):
        lock_payment(payment_id)
    return orders


def issue_invoice(invoice: Invoice, data: IssuedData, upload, *, actor, now: datetime) -> Invoice:
    """The station records the invoice it issued: number, date, amount (at most what is left to invoice
    on its orders: paid minus refunds minus invoiced, and at most `shop.money.MAX_FEN`, the most any
    amount typed in yuan may be: the API's fen and the form's yuan are refused alike, 422
    `invoice_invalid_amount`) and the file (PDF or OFD); audited. The amount is
    spread over the orders oldest first. Anything refused changes nothing."""
    if not may_issue(invoice, actor):
        raise Forbidden("invoice_station_only")
    if invoice.status != InvoiceStatus.REQUESTED:
        raise Conflict("invoice_already_issued")
    if invoice_state(invoice) == NOT_NEEDED:
        raise Conflict("invoice_not_needed")
    amount = data.amount_fen
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_FEN:
        raise ValidationError("invoice_invalid_amount", fields={"amount_fen": "invalid"})
    number = _check_number(data.number)
    issued_on = _check_date(data.issued_on, invoice, now)
    checked = check_invoice_file(upload)
    orders = _lock_orders([link.order_id for link in invoice.orders])
    invoice = db.session.scalars(
        sa.select(Invoice).where(Invoice.id == invoice.id).with_for_update().execution_options(populate_existing=True)
    ).one()
    if invoice.status != InvoiceStatus.REQUESTED:  # issued meanwhile
        raise Conflict("invoice_already_issued")
    if invoice_state(invoice) == NOT_NEEDED:  # its part refunded meanwhile
        raise Conflict("invoice_not_needed")
    sums = Sums(orders.values())
    left = {link.order_id: available_fen(orders[link.order_id], invoice.station_id, sums) for link in invoice.orders}
    if amount > sum(left.values()):
        raise Conflict("invoice_exceeds_paid", available=format_yuan(sum(left.values())))
    remaining = amount
    for link in invoice.orders:
        part = min(left[link.order_id], remaining)
        link.amount_fen = part
        remaining -= part
    with unique_or(_number_taken()):
        invoice.number, invoice.issued_on, invoice.amount_fen = number, issued_on, amount
    invoice.file_path, invoice.file_format = store_invoice_file(invoice.id, checked), checked.fmt
    invoice.issued_by_id, invoice.issued_at = actor.id, now
    transition(invoice, InvoiceStatus.ISSUED, actor=actor, now=now)
    db.session.flush()
    record_audit(
        actor=actor,
        action="invoice.issue",
        subject=invoice,
        detail={
            "number": number,
            "issued_on": issued_on.isoformat(),
            "amount_fen": amount,
            "orders": {str(link.order_id): link.amount_fen for link in invoice.orders},
        },
        now=now,
    )
    return invoice


def record_red_invoice(original: Invoice, data: IssuedData, upload, *, actor, now: datetime) -> Invoice:
    """The station records a red invoice (红字发票) against an issued blue one: a negative amount no larger
    than what of the original is not yet reversed (nor than `shop.money.MAX_FEN`, as a blue one), taken first from the orders invoiced above their
    money (a refund after invoicing), with its file. Audited."""
    if not may_issue(original, actor):
        raise Forbidden("invoice_station_only")
    if not _is_blue(original):
        raise Conflict("invoice_not_issued")
    amount = data.amount_fen
    if isinstance(amount, bool) or not isinstance(amount, int) or not -MAX_FEN <= amount < 0:
        raise ValidationError(
            "invoice_red_exceeds", available=format_yuan(net_amount_fen(original)), fields={"amount_fen": "invalid"}
        )
    number = _check_number(data.number)
    issued_on = _check_date(data.issued_on, original, now)
    checked = check_invoice_file(upload)
    orders = _lock_orders([link.order_id for link in original.orders])
    original = db.session.scalars(
        sa.select(Invoice).where(Invoice.id == original.id).with_for_update().execution_options(populate_existing=True)
    ).one()
    net = net_amount_fen(original)
    if -amount > net:
        raise Conflict("invoice_red_exceeds", available=format_yuan(net), fields={"amount_fen": "invalid"})
    sums = Sums(orders.values(), blue_ids=[original.id])
    parts = _net_parts(original, sums)
    take: dict[int, int] = {}
    remaining = -amount
    # first what is invoiced above the money received, then the rest, order by order
    for order_id in sorted(parts):
        part = min(parts[order_id], over_fen(orders[order_id], original.station_id, sums), remaining)
        if part > 0:
            take[order_id] = part
            remaining -= part
    for order_id in sorted(parts):
        part = min(parts[order_id] - take.get(order_id, 0), remaining)
        if part > 0:
            take[order_id] = take.get(order_id, 0) + part
            remaining -= part
    red = Invoice(
        station_id=original.station_id,
        requested_by_id=original.requested_by_id,
        organisation_id=original.organisation_id,
        scope=original.scope,
        period_from=original.period_from,
        period_to=original.period_to,
        kind=original.kind,
        status=InvoiceStatus.ISSUED,
        title=original.title,
        tax_number=original.tax_number,
        address=original.address,
        phone=original.phone,
        bank=original.bank,
        account=original.account,
        number=number,
        issued_on=issued_on,
        amount_fen=amount,
        issued_by_id=actor.id,
        issued_at=now,
        red_of_id=original.id,
        created_at=now,
    )
    for order_id, part in sorted(take.items()):
        red.orders.append(InvoiceOrder(order_id=order_id, amount_fen=-part))
    with unique_or(_number_taken()):
        db.session.add(red)
    red.file_path, red.file_format = store_invoice_file(red.id, checked), checked.fmt
    db.session.flush()
    record_audit(
        actor=actor,
        action="invoice.red",
        subject=red,
        detail={
            "original": original.number,
            "number": number,
            "issued_on": issued_on.isoformat(),
            "amount_fen": amount,
            "orders": {str(k): -v for k, v in take.items()},
        },
        now=now,
    )
    return red


# --- lists -------------------------------------------------------------------------------------------------


def invoices_of(user) -> list[Invoice]:
    """The invoices the user asked for of their own orders and those of the organisations where they have
    rights (`may_see`), newest first."""
    return list(
        db.session.scalars(
            sa.select(Invoice)
            .where(
                sa.or_(
                    sa.and_(Invoice.requested_by_id == user.id, Invoice.organisation_id.is_(None)),
                    Invoice.organisation_id.in_(_rights_organisation_ids(user)),
                )
            )
            .options(list_loads())
            .order_by(Invoice.id.desc())
            .limit(MAX_LIST)
        )
    )


def station_invoices(station_id: int) -> list[Invoice]:
    """A station's requests waiting first (its to-do), then its issued invoices and the requests with
    nothing left to invoice (`NOT_NEEDED`), newest first."""
    rows = db.session.scalars(
        sa.select(Invoice)
        .where(Invoice.station_id == station_id)
        .options(list_loads())
        .order_by(sa.case((Invoice.status == InvoiceStatus.REQUESTED, 0), else_=1), Invoice.id.desc())
        .limit(MAX_LIST)
    )
    return sorted(rows, key=lambda i: invoice_state(i) != InvoiceStatus.REQUESTED)  # stable: newest first kept


def reds_of(invoice: Invoice) -> list[Invoice]:
    return list(db.session.scalars(sa.select(Invoice).where(Invoice.red_of_id == invoice.id).order_by(Invoice.id)))


def order_invoice_state(order: Order) -> str | None:
    """ "requested" (待开票) while a request of the order waits, "issued" once invoiced, "not_needed"
    (无需开票) when its only requests have nothing left to invoice (`invoice_state`: the stations' parts
    were refunded), else None."""
    states = {
        invoice_state(invoice)
        for invoice in db.session.scalars(
            sa.select(Invoice)
            .join(InvoiceOrder, InvoiceOrder.invoice_id == Invoice.id)
            .where(InvoiceOrder.order_id == order.id, Invoice.red_of_id.is_(None))
        )
    }
    for state in (InvoiceStatus.REQUESTED, InvoiceStatus.ISSUED, NOT_NEEDED):
        if state in states:
            return state
    return None
