"""Quote requests (询价, #22). When a product's stock is short for a bulk purchase, a buyer of a
verified organisation asks the station that sells it for a quantity by a date; the station answers
with the quantity it can supply, a unit price, a lead time and the last day the answer holds
(`valid_until`), or declines with a reason; the buyer accepts an answer, until that day, into one of
their draft purchases, where it becomes a line holding the quoted price (`PurchaseLine.unit_price_fen`).

The price a line holds is copied here from the station's answer, never read from a client; approval
passes it to the retail placement service as `agreed_prices`, so the placed order line carries the
quoted price and everything else (stock allocation, shipments, payment, crediting) is retail's one
path. Once accepted the price holds through approval and placement, whatever the catalogue price
does meanwhile; `valid_until` bounds the acceptance.

Who sees a request: the members of its organisation, the operators of the station it is addressed to,
the county office and admins; anyone else gets a 404 (ids cannot be probed). Services only flush.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from catalog.models import ApprovalStatus, Product
from catalog.papers import check_papers
from institutions.models import (
    MemberRole,
    Organisation,
    OrganisationStatus,
    Purchase,
    PurchaseLine,
    PurchaseStatus,
    QuoteRequest,
    QuoteStatus,
)
from institutions.services.organisations import is_staff, membership
from orders.models import Delivery
from orders.services.cart import check_quantity
from shop.audit import record_audit
from shop.auth.models import Role, User
from shop.auth.permissions import can_manage_station
from shop.errors import Conflict, Forbidden, NotFound, ValidationError
from shop.extensions import db
from shop.history import record_status, transition
from shop.timeutil import local_date

MAX_DAYS_AHEAD = 366
MAX_VALID_DAYS = 90
MAX_LEAD_DAYS = 365
MAX_UNIT_PRICE_FEN = 10**9
#: A quote request's note (and a station's answer's), in characters once its spaces are collapsed; a
#: purchase's note too (`purchases`). The API's spec says it (`QuoteRequestIn.note`).
MAX_NOTE = 200


@dataclass
class AnswerData:
    quantity: int | None = None
    unit_price_fen: int | None = None
    lead_days: int | None = None
    valid_until: date | None = None
    note: str = ""


def _note(value: str, field: str = "note") -> str:
    """A request's or an answer's note, its spaces collapsed: at most `MAX_NOTE` characters (422
    `note_too_long`, naming the limit)."""
    note = " ".join((value or "").split())
    if len(note) > MAX_NOTE:
        raise ValidationError("note_too_long", max=MAX_NOTE, fields={field: "too_long"})
    return note


def _in_range(value, low: int, high: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and low <= value <= high


def create_quote_request(
    organisation: Organisation,
    *,
    product_id: int,
    quantity: int,
    needed_by: date | None,
    note: str = "",
    user: User,
    now: datetime,
) -> QuoteRequest:
    """A buyer of a verified organisation asks the station selling `product_id` for a quote: a product
    that may be sold today (on sale, its food-safety papers counting: else 409 `product_unavailable`,
    `papers_missing`, as the retail quote refuses it)."""
    member = membership(organisation.id, user)
    if member is None or member.role != MemberRole.BUYER:
        raise Forbidden("purchaser_only")
    if organisation.status != OrganisationStatus.APPROVED:
        raise Conflict("organisation_not_verified")
    quantity = check_quantity(quantity)
    today = local_date(now)
    if needed_by is None or not today <= needed_by <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise ValidationError("invalid_delivery_date", fields={"needed_by": "invalid"})
    note = _note(note)
    product = db.session.get(Product, product_id) if isinstance(product_id, int) and product_id > 0 else None
    if product is None:
        raise ValidationError("product_not_found", fields={"product_id": str(product_id)})
    if product.approval_status != ApprovalStatus.APPROVED or not product.is_published:
        raise Conflict("product_unavailable", name=product.name, fields={"product_id": str(product_id)})
    # its food-safety papers missing or expired today: not sold, so not quoted either (the retail quote's 409)
    check_papers([product.id], today=today, names={product.id: product.name})
    request = QuoteRequest(
        organisation_id=organisation.id,
        created_by_id=user.id,
        station_id=product.station_id,
        product_id=product.id,
        quantity=quantity,
        needed_by=needed_by,
        note=note,
        status=QuoteStatus.OPEN,
        answer_note="",
        created_at=now,
    )
    db.session.add(request)
    db.session.flush()
    record_status(request, from_status=None, to_status=request.status, actor=user, now=now)
    db.session.flush()
    return request


def is_station_of(request: QuoteRequest, user) -> bool:
    """An operator of the station the request is addressed to (or an admin)."""
    return can_manage_station(user, request.station_id)


def get_visible_quote(quote_id: int, user) -> QuoteRequest:
    """The request, for its organisation's members, its station's operators and the county office;
    NotFound for anyone else."""
    request = db.session.get(QuoteRequest, quote_id)
    if request is None or user is None or not user.is_authenticated:
        raise NotFound("quote_not_found")
    if is_staff(user) or is_station_of(request, user) or membership(request.organisation_id, user) is not None:
        return request
    raise NotFound("quote_not_found")


def quotes_of(organisation: Organisation) -> list[QuoteRequest]:
    return list(
        db.session.scalars(
            sa.select(QuoteRequest)
            .where(QuoteRequest.organisation_id == organisation.id)
            .order_by(QuoteRequest.id.desc())
            .limit(200)
        )
    )


def quotes_for(user) -> list[QuoteRequest]:
    """What a station sees: the requests addressed to the operator's station (admins: every station's)."""
    query = sa.select(QuoteRequest).order_by(QuoteRequest.id.desc()).limit(200)
    if user.role == Role.OPERATOR:
        query = query.where(QuoteRequest.station_id == user.station_id)
    elif user.role != Role.ADMIN:
        return []
    return list(db.session.scalars(query))


def open_count(station_id: int) -> int:
    """How many quote requests addressed to `station_id` wait for its answer (the station's desk says so)."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count(QuoteRequest.id)).where(
                QuoteRequest.station_id == station_id, QuoteRequest.status == QuoteStatus.OPEN
            )
        )
        or 0
    )


def _lock(request: QuoteRequest) -> QuoteRequest:
    return db.session.scalars(
        sa.select(QuoteRequest)
        .where(QuoteRequest.id == request.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def is_expired(request: QuoteRequest, today: date) -> bool:
    """An answer not accepted by its `valid_until` day has expired."""
    return request.status == QuoteStatus.ANSWERED and request.valid_until is not None and request.valid_until < today


def answer_refusal(request: QuoteRequest, data: AnswerData, *, user: User, now: datetime) -> None:
    """Raise why `answer_quote` would refuse `data` now, or return: the station's page asks it before its
    confirmation step, so an answer it cannot take (a price of 0, a validity past MAX_VALID_DAYS, a
    request answered already) is refused at once, the form as typed, never confirmed first and refused
    after. The status is read again under the row's lock by `answer_quote`."""
    if not is_station_of(request, user):
        raise Forbidden("quote_station_only")
    if request.status != QuoteStatus.OPEN:
        raise Conflict("quote_already_answered", fields={"status": request.status})
    if not _in_range(data.quantity, 1, request.quantity):
        raise ValidationError("invalid_quote_quantity", fields={"quantity": "invalid"})
    if not _in_range(data.unit_price_fen, 1, MAX_UNIT_PRICE_FEN):
        raise ValidationError("invalid_quote_price", fields={"unit_price_fen": "invalid"})
    if not _in_range(data.lead_days, 0, MAX_LEAD_DAYS):
        raise ValidationError("invalid_lead_days", fields={"lead_days": "invalid"})
    today = local_date(now)
    if data.valid_until is None or not today <= data.valid_until <= today + timedelta(days=MAX_VALID_DAYS):
        raise ValidationError("invalid_valid_until", fields={"valid_until": "invalid"})
    _note(data.note)


def late_arrival(request: QuoteRequest, lead_days: int | None, *, now: datetime) -> date | None:
    """The earliest day goods answered with `lead_days` from today arrive, when it is after the day the
    organisation asked for (`needed_by`, perhaps past already); None when they arrive in time. The
    station's confirmation step says it: an answer that misses the date is allowed, but never unknowingly."""
    if not _in_range(lead_days, 0, MAX_LEAD_DAYS):
        return None
    earliest = local_date(now) + timedelta(days=int(lead_days or 0))
    return earliest if earliest > request.needed_by else None


def answer_quote(request: QuoteRequest, data: AnswerData, *, user: User, now: datetime) -> QuoteRequest:
    """The station answers once: a quantity (1 to what was asked), a unit price, a lead time in days and
    the last day the answer holds (today to MAX_VALID_DAYS ahead), as `answer_refusal` checks. Audited
    (`quote.answer`)."""
    answer_refusal(request, data, user=user, now=now)
    quantity, price, lead_days = int(data.quantity or 0), int(data.unit_price_fen or 0), int(data.lead_days or 0)
    assert data.valid_until is not None  # answer_refusal
    note = _note(data.note)
    locked = _lock(request)
    if locked.status != QuoteStatus.OPEN:
        raise Conflict("quote_already_answered", fields={"status": locked.status})
    transition(locked, QuoteStatus.ANSWERED, actor=user, now=now)
    locked.answered_quantity = quantity
    locked.unit_price_fen = price
    locked.lead_days = lead_days
    locked.valid_until = data.valid_until
    locked.answer_note = note
    locked.answered_by_id = user.id
    locked.answered_at = now
    record_audit(
        actor=user,
        action="quote.answer",
        subject=locked,
        detail={
            "quantity": quantity,
            "unit_price_fen": price,
            "lead_days": lead_days,
            "valid_until": data.valid_until.isoformat(),
        },
        now=now,
    )
    db.session.flush()
    return locked


def decline_quote(request: QuoteRequest, *, reason: str, user: User, now: datetime) -> QuoteRequest:
    """The station cannot supply it: declined with a reason (audited)."""
    if not is_station_of(request, user):
        raise Forbidden("quote_station_only")
    reason = _note(reason, "reason")
    if not reason:
        raise ValidationError("quote_decline_reason_required", fields={"reason": "required"})
    locked = _lock(request)
    if locked.status != QuoteStatus.OPEN:
        raise Conflict("quote_already_answered", fields={"status": locked.status})
    transition(locked, QuoteStatus.DECLINED, actor=user, now=now, note=reason)
    locked.answer_note = reason
    locked.answered_by_id = user.id
    locked.answered_at = now
    record_audit(actor=user, action="quote.decline", subject=locked, detail={"reason": reason}, now=now)
    db.session.flush()
    return locked


def release_quote(request: QuoteRequest, *, user: User, now: datetime) -> QuoteRequest:
    """The draft purchase holding this accepted quote's line is being deleted by its author
    (`purchases.delete_purchase`, which deletes the line): the answer is answered again, so the buyer
    may accept it into another draft until its `valid_until`. Its price and terms are unchanged."""
    locked = _lock(request)
    transition(locked, QuoteStatus.ANSWERED, actor=user, now=now, note="purchase deleted")
    locked.accepted_at = None
    return locked


def draft_targets(request: QuoteRequest, user) -> list[tuple[Purchase, object]]:
    """Where the buyer may put the answer: (draft purchase, destination or None) of the user's drafts in
    the request's organisation."""
    drafts = db.session.scalars(
        sa.select(Purchase)
        .where(
            Purchase.organisation_id == request.organisation_id,
            Purchase.created_by_id == user.id,
            Purchase.status == PurchaseStatus.DRAFT,
        )
        .order_by(Purchase.id.desc())
        .limit(50)
    ).all()
    targets: list[tuple[Purchase, object]] = []
    for purchase in drafts:
        if purchase.delivery == Delivery.PICKUP:
            targets.append((purchase, None))
        else:
            targets.extend((purchase, destination) for destination in purchase.destinations)
    return targets


def accepting_purchase(request: QuoteRequest) -> int | None:
    """The id of the purchase whose line holds this accepted quote, or None (not accepted, or released)."""
    return db.session.scalar(
        sa.select(PurchaseLine.purchase_id).where(PurchaseLine.quote_request_id == request.id).limit(1)
    )


def accept_quote(
    request: QuoteRequest, *, purchase_id: int, destination_id: int | None, user: User, now: datetime
) -> PurchaseLine:
    """The buyer who builds `purchase` (a draft of the request's organisation) accepts the station's
    answer, until its `valid_until` day: a line of the answered quantity at the quoted unit price, for
    `destination_id` (one of the purchase's addresses; none for a pick-up purchase). A product already
    in that address is refused (one price per product and order). Audited (`quote.accept`)."""
    member = membership(request.organisation_id, user)
    if member is None or member.role != MemberRole.BUYER:
        raise Forbidden("purchaser_only")
    locked = _lock(request)
    if locked.status == QuoteStatus.ACCEPTED:
        raise Conflict("quote_already_accepted")
    if locked.status != QuoteStatus.ANSWERED:
        raise Conflict("quote_not_answered")
    if is_expired(locked, local_date(now)):
        raise Conflict("quote_expired", day=locked.valid_until.isoformat() if locked.valid_until else "")
    purchase = db.session.scalars(
        sa.select(Purchase)
        .where(Purchase.id == purchase_id, Purchase.organisation_id == locked.organisation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if purchase is None:  # none, or another organisation's: not even its existence
        raise NotFound("purchase_not_found")
    if purchase.created_by_id != user.id:
        raise Forbidden("purchase_creator_only")
    if purchase.status != PurchaseStatus.DRAFT:
        raise Conflict("purchase_already_submitted", fields={"status": purchase.status})
    if purchase.delivery == Delivery.PICKUP:
        if destination_id is not None:
            raise ValidationError("pickup_purchase_no_address", fields={"destination_id": "not_allowed"})
        destination = None
    else:
        destination = next((d for d in purchase.destinations if d.id == destination_id), None)
        if destination is None:
            raise ValidationError("purchase_address_required", fields={"destination_id": "invalid"})
    if any(
        line.product_id == locked.product_id and line.destination_id == (destination.id if destination else None)
        for line in purchase.lines
    ):
        raise Conflict("product_already_in_purchase", fields={"product_id": str(locked.product_id)})
    assert locked.answered_quantity is not None and locked.unit_price_fen is not None  # answered (constraint)
    line = PurchaseLine(
        purchase=purchase,
        destination=destination,
        product_id=locked.product_id,
        quantity=locked.answered_quantity,
        unit_price_fen=locked.unit_price_fen,
        quote_request_id=locked.id,
    )
    db.session.add(line)
    transition(locked, QuoteStatus.ACCEPTED, actor=user, now=now, note=f"purchase {purchase.id}")
    locked.accepted_at = now
    db.session.flush()
    record_audit(
        actor=user,
        action="quote.accept",
        subject=locked,
        detail={"purchase_id": purchase.id, "line_id": line.id, "unit_price_fen": locked.unit_price_fen},
        now=now,
    )
    db.session.flush()
    return line
