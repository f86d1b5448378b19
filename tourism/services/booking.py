"""Bookings: hold, sell through the orders pipeline, confirm, cancel, expire, check in, complete.

The flow (docs/ARCHITECTURE.md, "Stock and nights"): `hold_booking` locks the unit type row
(`SELECT … FOR UPDATE`; one lock per unit type, so two holds for the last room queue up instead of both
seeing it free), computes availability from bookings and inserts a `held` booking that expires after
BOOKING_HOLD_MINUTES.
`book_listing` sells the hold through the same Order/OrderLine/OrderPayment tables as goods; the
orders payment pipeline calls back `on_order_paid` / `on_order_released`.

Services only flush; the caller commits. Side effects (e-mail) are queued after commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload

from catalog.services import benefit_split
from ledger.services import KEPT_LATE_CANCEL, KEPT_NO_SHOW, credit_kept, credit_line
from orders.bookables import BookingQuote, HeldLines, LineCancel, Outcome, SessionChoice
from orders.models import CURRENCY, LineStatus, Order, OrderLine, OrderPayment, OrderStatus, PaymentState
from orders.providers import ProviderError
from orders.providers import card_payments_enabled as enabled
from orders.services.common import notify
from orders.services.payments import (
    NewCardPayment,
    cancel_order,
    confirm_cash,
    refund_payment,
    start_new_payment,
    start_payment,
)
from orders.services.placement import MAX_GUESTS, MAX_UNITS
from orders.services.settlement import settle_order
from shop.auth.models import User
from shop.celery import enqueue_after_commit
from shop.codes import new_numeric_code, new_order_code, new_secret, same_secret, typed_code
from shop.db import rollback, statement
from shop.errors import Conflict, DomainError, IllegalTransition, NotFound, ValidationError
from shop.extensions import db
from shop.history import record_status, record_statuses, transition
from shop.money import apply_bps
from shop.text import plain_text
from shop.timeutil import local_date, to_local
from tourism.models import (
    MAX_HOST_CANCEL_REASON,
    Booking,
    BookingStatus,
    Listing,
    ListingImage,
    ListingKind,
    Session,
    UnitType,
)
from tourism.qr import checkin_qr, read_checkin_text
from tourism.services.availability import (
    Occupancy,
    Span,
    closed_dates,
    payment_methods,
    read_occupancy,
    session_remaining,
    sessions_past_offered,
    sessions_to_choose,
    stay_availability,
    stay_hold_check,
    ticket_availability,
)
from tourism.services.host_cash import take_arrival_cash
from tourism.services.place import booking_horizon_days, rooms_needed
from tourism.services.pricing import holidays_between, per_person_total_fen, stay_total_fen

log = logging.getLogger(__name__)


class BookingUnavailable(Conflict):
    """Not enough rooms, places or quota for the asked dates (409)."""

    code = "unavailable"


class WrongConfirmationCode(ValidationError):
    code = "wrong_confirmation_code"


@dataclass
class BookingRequest:
    listing_id: int
    guests: int
    check_in: date | None = None
    check_out: date | None = None
    unit_type_id: int | None = None
    session_id: int | None = None
    units: int = 1
    pay_on_arrival: bool = False


def _hold_minutes() -> int:
    return int(current_app.config.get("BOOKING_HOLD_MINUTES", 15))


def _max_nights() -> int:
    return int(current_app.config.get("MAX_STAY_NIGHTS", 14))


def horizon_refusal(check_in: date | None, today: date) -> ValidationError | None:
    """The refusal of a first day beyond the booking horizon (`place.booking_horizon_days`), 422
    `beyond_booking_horizon` saying the last day that can be booked; None for a day within it (or none).
    A listing's page says it where the quote of the dates would be (`tourism.views._render_listing`)."""
    days = booking_horizon_days()
    if check_in is None or (check_in - today).days <= days:
        return None
    return ValidationError(
        "beyond_booking_horizon",
        days=days,
        last=(today + timedelta(days=days)).isoformat(),
        fields={"checkin": "beyond the booking horizon"},
    )


def _check_horizon(check_in: date, today: date) -> None:
    """Dates beyond the booking horizon are refused (before any date arithmetic: 9999-12-31 + 1 day
    would overflow)."""
    refusal = horizon_refusal(check_in, today)
    if refusal is not None:
        raise refusal


def _check_pay_on_arrival_limits(
    req: "BookingRequest",
    listing: Listing,
    check_in: date,
    check_out: date,
    *,
    user,
    now: datetime,
    locked: bool = False,
) -> None:
    """An unpaid booking holds rooms for nothing: per account at most PAY_ON_ARRIVAL_MAX_OPEN open
    ones, each for at most PAY_ON_ARRIVAL_MAX_NIGHTS nights and PAY_ON_ARRIVAL_MAX_UNITS rooms.

    The nights and rooms are checked here, and the account's row is locked (here, or already by the
    caller's listing read: `locked`, see `_listing_for_booking`), so two bookings of one account at
    once count each other. Its open ones are counted afterwards, by the unit-type lock's
    statement (`_lock_unit_type` with `open_unpaid_of`), which refuses one too many: under READ
    COMMITTED a statement reads the snapshot it started with, so the count must be in a statement
    that starts after this lock is granted (in the statement that waited for it, it would miss the
    booking the lock holder just committed). No pay-on-arrival booking of the account is written
    by anyone else while this transaction holds the lock, so that later count is final.
    """
    config = current_app.config
    max_nights = int(config.get("PAY_ON_ARRIVAL_MAX_NIGHTS", 7))
    max_units = int(config.get("PAY_ON_ARRIVAL_MAX_UNITS", 2))
    if listing.kind == ListingKind.STAY and (check_out - check_in).days > max_nights:
        raise ValidationError(
            "arrival_too_many_nights", n=max_nights, fields={"checkout": "too many nights to pay on arrival"}
        )
    if req.units > max_units:
        raise ValidationError(
            "arrival_too_many_units", n=max_units, fields={"units": "too many rooms to pay on arrival"}
        )
    if not locked:
        db.session.execute(_lock_account_statement(), {"account": user.id})


def _lock_account_statement() -> sa.Select:
    """SQL: lock the account `account` (bind parameter) for its pay-on-arrival limits."""
    return statement(
        "tourism.lock_account",
        lambda: sa.select(User.id).where(User.id == sa.bindparam("account")).with_for_update(),
    )


def _open_unpaid_count() -> sa.ScalarSelect:
    """SQL: how many open unpaid (pay-on-arrival) bookings the account `user_id` has — held or
    confirmed, not yet checked out on `today` (bind parameters)."""
    return (
        sa.select(sa.func.count())
        .select_from(Booking)
        .where(
            Booking.user_id == sa.bindparam("user_id"),
            Booking.pay_on_arrival.is_(True),
            Booking.status.in_([BookingStatus.HELD, BookingStatus.CONFIRMED]),
            Booking.check_out_date >= sa.bindparam("today", type_=sa.Date()),
        )
        .scalar_subquery()
    )


def _lock_unit_type(unit_type_id: int, *, open_unpaid_of: int | None = None, now: datetime | None = None) -> UnitType:
    """Lock the unit type row: every hold for it queues here (PostgreSQL; SQLite locks the database).

    `open_unpaid_of`: the account of a pay-on-arrival booking, whose row this transaction has
    locked (`_check_pay_on_arrival_limits`); the same statement counts its open unpaid bookings and
    one more than PAY_ON_ARRIVAL_MAX_OPEN allows is refused (409 `too_many_unpaid_bookings`, which offers
    paying online; `too_many_unpaid_bookings_card_off` when card payments are off, which does not)."""
    if open_unpaid_of is None:
        query = statement(
            "tourism.lock_unit_type",
            lambda: (
                sa.select(UnitType)
                .where(UnitType.id == sa.bindparam("id"))
                .with_for_update()
                .execution_options(populate_existing=True)
            ),
        )
        return db.session.execute(query, {"id": unit_type_id}).scalar_one()
    query = statement(
        "tourism.lock_unit_type_count_unpaid",
        lambda: (
            sa.select(UnitType, _open_unpaid_count())
            .where(UnitType.id == sa.bindparam("id"))
            .with_for_update(of=UnitType)
            .execution_options(populate_existing=True)
        ),
    )
    today = local_date(now) if now is not None else None
    unit_type, open_count = db.session.execute(
        query, {"id": unit_type_id, "user_id": open_unpaid_of, "today": today}
    ).one()
    if open_count >= int(current_app.config.get("PAY_ON_ARRIVAL_MAX_OPEN", 2)):
        if card_payments_enabled():
            raise Conflict("too_many_unpaid_bookings", n=open_count)  # ...or pay online
        # no online payment to offer: the way on is to stay or cancel one, in 我的预订
        raise Conflict("too_many_unpaid_bookings_card_off", n=open_count)
    return unit_type


def _lock_booking(booking_id: int) -> Booking:
    return db.session.execute(
        sa.select(Booking).where(Booking.id == booking_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def _unit_type_of(listing: Listing, unit_type_id: int | None) -> UnitType:
    if unit_type_id is None:
        if not listing.unit_types:
            raise BookingUnavailable("nothing_bookable")
        return listing.unit_types[0]
    for unit_type in listing.unit_types:
        if unit_type.id == unit_type_id:
            return unit_type
    raise ValidationError("unknown_unit_type", fields={"unit_type_id": "unknown"})


def _validate(req: BookingRequest, listing: Listing, *, now: datetime, sessions: dict[int, Session] | None = None):
    """Check the request; return (unit_type, session, check_in, check_out) — no locks, no prices.
    `sessions`: the sessions of several requests read at once by id (the cart's quotes), else the
    request's session is read here."""
    today = local_date(now)
    if not isinstance(req.guests, int) or req.guests < 1:
        raise ValidationError("guests_at_least_one", fields={"guests": "must be at least 1"})
    if not isinstance(req.units, int) or req.units < 1:
        raise ValidationError("units_at_least_one", fields={"units": "must be at least 1"})
    session = None
    if listing.kind == ListingKind.EXPERIENCE:
        if req.session_id is None:
            raise ValidationError("session_required", fields={"session_id": "required"})
        session = db.session.get(Session, req.session_id) if sessions is None else sessions.get(req.session_id)
        if session is None or session.unit_type_id not in {u.id for u in listing.unit_types}:
            raise ValidationError("unknown_session", fields={"session_id": "unknown"})
        unit_type = session.unit_type
        if session.starts_at <= now:
            raise ValidationError("session_started", fields={"session_id": "in the past"})
        check_in = session.session_date
        _check_horizon(check_in, today)
        check_out = check_in + timedelta(days=1)
    else:
        unit_type = _unit_type_of(listing, req.unit_type_id)
        if req.check_in is None:
            raise ValidationError("checkin_required", fields={"checkin": "required"})
        check_in = req.check_in
        if check_in < today:
            raise ValidationError("date_in_past", fields={"checkin": "in the past"})
        _check_horizon(check_in, today)
        if listing.kind == ListingKind.STAY:
            if req.check_out is None:
                raise ValidationError("checkout_required", fields={"checkout": "required"})
            check_out = req.check_out
            if check_out <= check_in:
                raise ValidationError("checkout_not_after_checkin", fields={"checkout": "not after check-in"})
            if (check_out - check_in).days > _max_nights():
                raise ValidationError(
                    "too_many_nights",
                    nights=_max_nights(),
                    fields={"checkout": f"more than {_max_nights()} nights"},
                )
        else:
            check_out = check_in + timedelta(days=1)
    if listing.kind == ListingKind.STAY:
        if not sleeps(unit_type, guests=req.guests, units=req.units):
            most = unit_type.max_guests * req.units  # 所选 2 间最多住 4 人: the rooms chosen and what they sleep
            raise ValidationError(
                "too_many_guests_for_rooms", units=req.units, n=most, fields={"guests": f"at most {most}"}
            )
        if req.units > unit_type.units:  # 每个预订最多 3 间: the room type's rooms
            raise ValidationError("too_many_units", n=unit_type.units, fields={"units": f"at most {unit_type.units}"})
    else:
        if req.units != 1:
            raise ValidationError("one_unit_only", fields={"units": "must be 1"})
        if req.guests > unit_type.max_guests:
            raise ValidationError(
                "too_many_guests", n=unit_type.max_guests, fields={"guests": f"at most {unit_type.max_guests}"}
            )
    if req.guests > MAX_GUESTS:  # a last guard, after the listing's own limits: no booking line takes more
        raise ValidationError("too_many_guests", n=MAX_GUESTS, fields={"guests": f"at most {MAX_GUESTS}"})
    if req.units > MAX_UNITS:  # a last guard, after the room type's rooms: no booking line takes more
        raise ValidationError("too_many_units", n=MAX_UNITS, fields={"units": f"at most {MAX_UNITS}"})
    return unit_type, session, check_in, check_out


#: Confirmation codes tried in the availability statement; the chance that all are taken is nil.
_CODE_CANDIDATES = 3


def _lock_and_check(
    req: BookingRequest,
    listing: Listing,
    unit_type: UnitType,
    session,
    check_in: date,
    check_out: date,
    *,
    now: datetime,
    confirm: bool = False,
    open_unpaid_of: int | None = None,
) -> tuple[int, str]:
    """Lock the unit type, then check room and price the stay on what the lock makes final.

    Returns (total_fen, confirmation code — a free one when `confirm`, else ""); raises
    BookingUnavailable (409). A stay needs one statement after the lock (`stay_hold_check`:
    bookings, closures, holidays and the candidate codes); the price uses the locked row, so a host
    changing prices or rooms meanwhile is either wholly before or wholly after this hold.
    `open_unpaid_of`: a pay-on-arrival booking's account (locked), whose open ones the lock's
    statement counts (`_lock_unit_type`).
    """
    # populate_existing: unit_type now holds the locked row's values
    _lock_unit_type(unit_type.id, open_unpaid_of=open_unpaid_of, now=now)
    code = ""
    if listing.kind == ListingKind.STAY:
        candidates = tuple(new_numeric_code(6) for _n in range(_CODE_CANDIDATES)) if confirm else ()
        check = stay_hold_check(unit_type, check_in, check_out, now=now, confirmation_codes=candidates)
        if not check.free or min(check.free.values()) < req.units:
            raise day_closed(check.closed, session=None) or BookingUnavailable("sold_out")
        total = stay_total_fen(unit_type, check_in, check_out, req.units, holidays=check.holidays)
        code = next((c for c in candidates if c not in check.taken_codes), "")
    else:
        left = _places_left(listing, unit_type, session, check_in, check_out, now=now)
        if left < req.guests:
            # none left: on a day the host closed, that is the reason (read only when refusing)
            closed = closed_dates(listing.id, check_in, check_out) if left <= 0 else set()
            raise day_closed(closed, session=session) or too_few_places(left, session=session)
        total = per_person_total_fen(unit_type, check_in, req.guests, kind=listing.kind)
    if confirm and not code:
        code = _free_confirmation_code(listing.id)
    return total, code


def _has_room(
    listing: Listing,
    unit_type: UnitType,
    session,
    check_in,
    check_out,
    guests,
    units,
    *,
    now,
    exclude_booking_id=None,
    occupancy: Occupancy | None = None,
) -> bool:
    """Whether the party fits: rooms every night, the day's quota, the session's places. Read now
    (without `exclude_booking_id`), or from `occupancy`: the bookings and closures already read for
    several lines at once (`availability.read_occupancy`, the cart's quotes), counted by the same rules."""
    if listing.kind == ListingKind.STAY:
        if occupancy is not None:
            free = occupancy.stay_free(unit_type, check_in, check_out)
        else:
            free = stay_availability(unit_type, check_in, check_out, now=now, exclude_booking_id=exclude_booking_id)
        return bool(free) and min(free.values()) >= units
    left = _places_left(
        listing,
        unit_type,
        session,
        check_in,
        check_out,
        now=now,
        exclude_booking_id=exclude_booking_id,
        occupancy=occupancy,
    )
    return left >= guests


def _places_left(
    listing: Listing,
    unit_type: UnitType,
    session,
    check_in,
    check_out,
    *,
    now,
    exclude_booking_id=None,
    occupancy: Occupancy | None = None,
) -> int:
    """The places left of a ticket's day or an experience's session (0 on a closed day), as `_has_room`
    reads them."""
    if listing.kind == ListingKind.TICKET:
        if occupancy is not None:
            free = occupancy.ticket_free(unit_type, check_in, check_out)
        else:
            free = ticket_availability(unit_type, check_in, check_out, now=now, exclude_booking_id=exclude_booking_id)
        return free[check_in]
    if occupancy is not None:
        return occupancy.session_free(session, listing.id)
    if check_in in closed_dates(listing.id, check_in, check_out):
        return 0
    return session_remaining(session, now=now, exclude_booking_id=exclude_booking_id)


def too_few_places(left: int, *, session: Session | None = None) -> BookingUnavailable:
    """The refusal of a party larger than the places left: 所选日期已订满 when none is, else how many are
    (只剩 5 个名额), so the tourist knows a smaller party still fits — and what else to choose: another
    date for a ticket's day (改选日期), another session for an experience's `session` (改选场次)."""
    if left <= 0:
        return BookingUnavailable("sold_out")
    return BookingUnavailable(
        "session_places_left" if session is not None else "places_left", left=left, fields={"guests": f"at most {left}"}
    )


def day_closed(closed: set[date], *, session: Session | None = None) -> BookingUnavailable | None:
    """The refusal of dates that include a day the host closed (`closed`; 休息 on the listing's calendar):
    409 `day_closed`, naming the first such day, rather than 已订满 — the host takes no bookings that day,
    whoever else booked it. None when no day is closed."""
    if not closed:
        return None
    field = "session_id" if session is not None else "checkin"
    return BookingUnavailable("day_closed", day=min(closed).isoformat(), fields={field: "closed"})


def guests_limit(unit_type: UnitType, kind: str) -> int:
    """The most guests one booking of `unit_type` takes, by `_validate`'s rules: a ticket's or an
    experience's `max_guests` (每个预订最多 6 人), a stay's `max_guests` in each of its rooms booked at
    once — never more than a booking line takes (MAX_GUESTS). What a guests box offers at most."""
    limit = unit_type.max_guests * unit_type.units if kind == ListingKind.STAY else unit_type.max_guests
    return max(1, min(limit, MAX_GUESTS))


def listing_guests_limit(listing: Listing) -> int:
    """The most guests a booking of `listing` takes with its roomiest type (`guests_limit`): the 人数 box
    of its booking form, where the type is chosen beside it, offers no more."""
    return max((guests_limit(u, listing.kind) for u in listing.unit_types), default=1)


def units_limit(unit_type: UnitType) -> int:
    """The most rooms one booking of a stay's `unit_type` takes: its number of rooms (`_validate` refuses
    more; fewer free on the dates is `sold_out`, said when booking), never more than a booking line takes
    (MAX_UNITS). What a 间数 box offers at most."""
    return max(1, min(unit_type.units, MAX_UNITS))


def listing_units_limit(listing: Listing) -> int:
    """The most rooms a booking of `listing` takes with its largest room type (`units_limit`): the 间数 box
    of its booking form, where the type is chosen beside it, offers no more."""
    return max((units_limit(u) for u in listing.unit_types), default=1)


def sleeps(unit_type: UnitType, *, guests: int, units: int) -> bool:
    """Whether `units` rooms of a stay's room type sleep `guests` people (the booking's rule)."""
    return guests <= unit_type.max_guests * units


def room_for_party(listing: Listing, *, guests: int, units: int) -> tuple[UnitType | None, int]:
    """The room type and number of rooms a stay's booking form starts with for a party carried from the
    search page: the first room type whose `units` rooms sleep it; else the first room type, with as many
    rooms as the party needs (so 预订 is not refused for a choice the tourist did not make)."""
    types = list(listing.unit_types)
    for unit_type in types:
        if sleeps(unit_type, guests=guests, units=units):
            return unit_type, units
    if not types:
        return None, units
    return types[0], max(units, rooms_needed(types[0], guests=guests))


def get_listing(listing_id: int, *, published_only: bool = True) -> Listing:
    listing = db.session.get(Listing, listing_id)
    if listing is None or (published_only and not listing.is_published):
        raise NotFound("listing_not_found")
    return listing


def _listing_for_booking(listing_id: int, *, with_host: bool = False, lock_account: int | None = None) -> Listing:
    """The published listing with its unit types and benefit links, in one statement; `with_host`:
    its host too (a confirmed booking's answer shows the host's contact). `lock_account`: a
    pay-on-arrival booking's account, whose row the same statement locks (`FOR UPDATE` in a scalar
    subquery: the lock `_check_pay_on_arrival_limits` needs, without a round trip of its own). The
    listing is read as before the lock; the count of the account's open unpaid bookings, which must
    start after it, is still the unit-type lock's statement's."""
    lock = lock_account is not None
    extra = [_lock_account_statement().scalar_subquery()] if lock else []
    query = _listing_statement(("tourism.listing_for_booking", with_host, lock), extra, with_host=with_host)
    row = db.session.execute(query, {"id": listing_id, "account": lock_account}).unique().one_or_none()
    return _published(row[0] if row else None)


def _listings_with_thumbs(listing_ids) -> dict[int, tuple[Listing, str]]:
    """{id: (listing, its first photo's thumbnail path or "")} for a cart's booking lines, in one
    statement whatever their number: each listing as `_listing_for_booking` reads it (no lock, no host),
    whether published or not (`_published` decides per line), with the path of the photo the cart and
    checkout show per line. A listing that is not there is absent."""
    ids = sorted(set(listing_ids))
    if not ids:
        return {}
    first = (
        sa.select(ListingImage.thumb_path)
        .where(ListingImage.listing_id == Listing.id)
        .order_by(ListingImage.position, ListingImage.id)
        .limit(1)
        .correlate(Listing)
        .scalar_subquery()
    )
    query = _listing_statement("tourism.listings_with_thumbs", [first], with_host=False, many=True)
    rows = db.session.execute(query, {"ids": ids}).unique()
    return {listing.id: (listing, thumb or "") for listing, thumb in rows}


def _sessions_by_id(session_ids) -> dict[int, Session]:
    """The sessions of a cart's experience lines, in one statement (none without such a line)."""
    ids = sorted(set(session_ids))
    if not ids:
        return {}
    query = statement(
        "tourism.sessions_by_id", lambda: sa.select(Session).where(Session.id.in_(sa.bindparam("ids", expanding=True)))
    )
    return {session.id: session for session in db.session.scalars(query, {"ids": ids})}


def _listing_statement(key, extra: list, *, with_host: bool, many: bool = False):
    """The listing by id (bind parameter `id`; with `many`, the listings of the list `ids`) with its unit
    types and benefit links (and its host when `with_host`), and the `extra` columns after it; built once
    per process (`shop.db.statement`)."""

    def build():
        options = [joinedload(Listing.unit_types), joinedload(Listing.benefit_links)]
        if with_host:
            options.append(joinedload(Listing.host))
        where = Listing.id.in_(sa.bindparam("ids", expanding=True)) if many else Listing.id == sa.bindparam("id")
        return sa.select(Listing, *extra).where(where).options(*options)

    return statement(key, build)


def _published(listing: Listing | None) -> Listing:
    """The listing when it is published, else 404 `listing_not_found` (as for a listing that is not there)."""
    if listing is None or not listing.is_published:
        raise NotFound("listing_not_found")
    return listing


def _checked(req: BookingRequest, listing: Listing, *, user, now: datetime, locked: bool = False):
    """The payment method allowed (else 422 `arrival_payment_not_allowed`), the request validated
    (`_validate`), then the pay-on-arrival limits (`locked`: the account is locked already). Returns
    (unit_type, session, check_in, check_out)."""
    if req.pay_on_arrival and "arrival" not in payment_methods(listing):
        raise ValidationError("arrival_payment_not_allowed", fields={"payment_method": "not allowed"})
    unit_type, session, check_in, check_out = _validate(req, listing, now=now)
    if req.pay_on_arrival:
        _check_pay_on_arrival_limits(req, listing, check_in, check_out, user=user, now=now, locked=locked)
    return unit_type, session, check_in, check_out


def _checked_and_locked(req: BookingRequest, *, user, now: datetime, confirm: bool = False):
    """What every booking does before it writes: the listing (with its host when `confirm`), the
    payment method allowed, the request validated, the pay-on-arrival limits, then the unit type
    locked and the room checked and priced (`_lock_and_check`). Returns (listing, unit_type,
    session, check_in, check_out, total_fen, confirmation code or "")."""
    listing = _listing_for_booking(
        req.listing_id, with_host=confirm, lock_account=user.id if req.pay_on_arrival else None
    )
    unit_type, session, check_in, check_out = _checked(req, listing, user=user, now=now, locked=True)
    total, code = _lock_and_check(
        req,
        listing,
        unit_type,
        session,
        check_in,
        check_out,
        now=now,
        confirm=confirm,
        open_unpaid_of=user.id if req.pay_on_arrival else None,
    )
    return listing, unit_type, session, check_in, check_out, total, code


def hold_booking(req: BookingRequest, *, user, now: datetime, code: str | None = None) -> Booking:
    """Validate, lock the unit type, check availability, insert a held booking. Flushes only.

    Raises ValidationError (422), NotFound (404) or BookingUnavailable (409); nothing is held then.
    """
    listing, unit_type, session, check_in, check_out, total, _code = _checked_and_locked(req, user=user, now=now)
    booking = Booking(
        code=code or f"{new_order_code()}-S-1",
        user_id=user.id,
        listing=listing,
        unit_type=unit_type,
        session=session,
        check_in_date=check_in,
        check_out_date=check_out,
        guests=req.guests,
        units=req.units,
        status=BookingStatus.HELD,
        total_fen=total,
        pay_on_arrival=req.pay_on_arrival,
        expires_at=now + timedelta(minutes=_hold_minutes()),
        created_at=now,
    )
    db.session.add(booking)
    db.session.flush()
    record_status(booking, from_status=None, to_status=BookingStatus.HELD, actor=user, now=now)
    return booking


def line_title(booking: Booking) -> str:
    listing = booking.listing
    if listing.kind == ListingKind.STAY:
        return (
            f"{listing.name} · {booking.unit_type.name} · {booking.check_in_date:%m-%d}–{booking.check_out_date:%m-%d}"[
                :120
            ]
        )
    return f"{listing.name} · {booking.check_in_date:%Y-%m-%d}"[:120]


def book_listing(req: BookingRequest, *, user, now: datetime) -> Booking:
    """Hold and sell in one transaction: Booking + Order + one OrderLine(kind="booking") + OrderPayment.

    Card: the order waits for payment until the hold expires. Pay on arrival: confirmed at once
    (the rows are written confirmed, with the held → confirmed history). The caller commits, then
    calls `start_card_payment(order)` for card orders.

    Statements (a stay): the listing with its unit types and benefit links (and, paid on arrival,
    its host: the answer shows the contact, and the account's lock); the unit type
    lock (paid on arrival, with the count of the account's open unpaid bookings); bookings,
    closures, holidays and confirmation codes in one read (`stay_hold_check`); one INSERT per table
    (order, booking and payment by the ORM's flush, then the line), then the status events.
    The order's `lines` are not loaded: read them, and they are loaded from the database.
    """
    if not req.pay_on_arrival and not card_payments_enabled():
        raise ValidationError("booking_card_payments_off", fields={"payment_method": "card payments are not available"})
    confirm = req.pay_on_arrival  # confirmed at once: the answer shows the host's contact
    listing, unit_type, session, check_in, check_out, total, confirmation_code = _checked_and_locked(
        req, user=user, now=now, confirm=confirm
    )
    expires_at = None if confirm else now + timedelta(minutes=_hold_minutes())
    order_code = new_order_code()  # 28^8 codes: a clash is left to the unique constraint
    order = Order(
        code=order_code,
        secret=new_secret(),
        user_id=user.id,
        status=OrderStatus.CONFIRMED if confirm else OrderStatus.PENDING,
        delivery="ship",
        payment_method="cod" if req.pay_on_arrival else "card",
        subtotal_fen=total,
        shipping_fen=0,
        total_fen=total,
        currency=CURRENCY,
        expires_at=expires_at,
        created_at=now,
    )
    booking, line, events = _booking_rows(
        order,
        req,
        listing,
        unit_type,
        session,
        check_in,
        check_out,
        total,
        confirmation_code,
        confirm=confirm,
        now=now,
        number=1,
    )
    payment = OrderPayment(
        order=order,
        number=1,
        provider="cod" if req.pay_on_arrival else "stripe",
        state=PaymentState.CREATED,
        amount_fen=total,
        currency=CURRENCY,
        refunded_fen=0,
        created_at=now,
    )
    events = [
        events[0],
        (order, None, OrderStatus.PENDING, ""),
        (payment, None, PaymentState.CREATED, ""),
        *events[1:],
    ]
    if confirm:
        events.insert(-1, (order, OrderStatus.PENDING, OrderStatus.CONFIRMED, "pay on arrival"))
    db.session.add_all([order, booking, payment])
    db.session.flush()  # one INSERT per table; the line and the status events below need the ids
    # the line with one Core INSERT, as the status events: nothing reads it back in this transaction,
    # and an OrderLine in the flush (its order, shipment, product and booking relationships) was a
    # quarter of the flush's Python calls
    db.session.execute(_INSERT_LINE, {**line, "order_id": order.id, "booking_id": booking.id})
    record_statuses(events, actor=user, now=now)
    if confirm:
        # a booking of its own form: no order mail, its one mail is the booking mail (the outbox: kept if Redis is down)
        enqueue_after_commit("tourism.tasks.send_booking_mail", booking.id)
        _tell_host(booking, HOST_MAIL_CONFIRMED)
    return booking


#: The order line of `POST /bookings` (`book_listing`), written after the flush.
_INSERT_LINE = sa.insert(OrderLine.__table__)


def _booking_rows(
    order: Order,
    req: BookingRequest,
    listing: Listing,
    unit_type: UnitType,
    session,
    check_in: date,
    check_out: date,
    total: int,
    confirmation_code: str,
    *,
    confirm: bool,
    now: datetime,
    number: int,
) -> tuple[Booking, dict, list[tuple[object, StrEnum | None, StrEnum, str]]]:
    """The booking and its order line for a hold just checked under the unit-type lock (one path for
    `POST /bookings` and the cart's checkout). The booking is not added to the session: the caller
    adds and flushes. The line is its column values but `order_id` and `booking_id`: the checkout
    makes an `OrderLine(order=..., booking=..., **line)` of them, `book_listing` inserts the row.
    Returns them with their status events: held, then confirmed at once when `confirm` (pay on arrival)."""
    expires_at = None if confirm else now + timedelta(minutes=_hold_minutes())
    booking = Booking(
        code=f"{order.code}-S-{number}",
        user_id=order.user_id,
        listing=listing,
        listing_id=listing.id,
        unit_type=unit_type,
        unit_type_id=unit_type.id,
        session=session,
        session_id=session.id if session is not None else None,
        check_in_date=check_in,
        check_out_date=check_out,
        guests=req.guests,
        units=req.units,
        status=BookingStatus.CONFIRMED if confirm else BookingStatus.HELD,
        total_fen=total,
        confirmation_code=confirmation_code,
        order=order,
        pay_on_arrival=req.pay_on_arrival,
        refunded_fen=0,
        expires_at=expires_at,
        confirmed_at=now if confirm else None,
        created_at=now,
    )
    quantity = booking.nights * booking.units if listing.kind == ListingKind.STAY else booking.guests
    line = {
        "kind": "booking",
        "status": LineStatus.OPEN,
        "title": line_title(booking),
        "unit": "晚" if listing.kind == ListingKind.STAY else "人",
        "village_id": listing.village_id,
        # nightly prices may differ (weekend, holiday): the line total is the sum, the unit price its floor average
        "unit_price_fen": total // quantity,
        "quantity": quantity,
        "line_total_fen": total,
        "commission_bps": 0,
        "benefit_split": benefit_split((link.household_id, link.weight) for link in listing.benefit_links),
    }
    events: list[tuple[object, StrEnum | None, StrEnum, str]] = [(booking, None, BookingStatus.HELD, "")]
    if confirm:
        events.append((booking, BookingStatus.HELD, BookingStatus.CONFIRMED, "pay on arrival"))
    return booking, line, events


def card_payments_enabled() -> bool:
    return enabled()


def start_card_payment(order, *, now: datetime, actor=None, new: NewCardPayment | None = None):
    """After the booking order is committed: create the PaymentIntent through the orders pipeline.
    `new`: what `book_listing`'s caller kept of the payment before that commit (`NewCardPayment.of`),
    so that nothing of the order is read again (`start_new_payment`).

    A provider outage is not fatal: the booking stays held and the order page offers to retry.
    """
    try:
        if new is not None:
            return start_new_payment(new, now=now)
        return start_payment(order.payments[-1], now=now)
    except (ProviderError, ValidationError, Conflict) as exc:
        rollback()
        log.warning("could not start the payment of booking order %s: %s", new.order_code if new else order.code, exc)
        return None


def _free_confirmation_code(listing_id: int) -> str:
    """A 6-digit code no confirmed or checked-in booking of the listing uses."""
    for _attempt in range(20):
        code = new_numeric_code(6)
        clash = db.session.scalar(
            sa.select(Booking.id).where(
                Booking.listing_id == listing_id,
                Booking.confirmation_code == code,
                Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN]),
            )
        )
        if clash is None:
            return code
    raise Conflict("confirmation_code_failed")


def _new_confirmation_code(booking: Booking) -> str:
    return _free_confirmation_code(booking.listing_id)


def confirm_booking(booking: Booking, *, actor=None, now: datetime, note: str = "") -> Booking:
    """held (or expired and re-held) -> confirmed, with a confirmation code. No booking mail: the
    payment that confirms it mails the order (`orders.tasks.send_order_mail`, kind `paid`), its
    bookings' codes and QR codes included — one mail for the one payment. Its host is mailed that it
    has a booking to prepare for (`_tell_host`), once: only the step that confirms it gets here."""
    with db.session.no_autoflush:  # the clash check reads other bookings only: one flush below
        code = _new_confirmation_code(booking)
    transition(booking, BookingStatus.CONFIRMED, actor=actor, now=now, note=note)
    booking.confirmation_code = code
    booking.confirmed_at = now
    booking.expires_at = None
    db.session.flush()
    _tell_host(booking, HOST_MAIL_CONFIRMED)
    return booking


#: The events of a booking its host is mailed (`tourism.tasks.send_host_booking_mail`): confirmed — a booking to
#: prepare for (paid by card, or placed to pay on arrival or at the gate; never a hold waiting for its card
#: payment) — and canceled by its guest (or the shop's staff) after that.
HOST_MAIL_CONFIRMED = "confirmed"
HOST_MAIL_CANCELED = "canceled"


def _tell_host(booking: Booking, event: str) -> None:
    """Mail the booking's host of `event` after commit: one outbox row here, nothing else in the request. Called
    only by the step that makes the change (a confirmation, a cancellation), which happens once for a booking, so
    a retried request or webhook that changes nothing queues nothing; the task sends once per message
    (`shop.mail.send_once`)."""
    enqueue_after_commit("tourism.tasks.send_host_booking_mail", booking.id, event)


#: A booking whose confirmation code (and check-in QR code) its order's mail shows: confirmed, or checked in.
_CODE_SHOWN = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


def _booking_lines(order):
    return [line for line in order.lines if line.kind == "booking" and line.booking_id is not None]


def on_order_paid(order, *, now: datetime) -> bool:
    """Hook for the orders pipeline: the order's payment is confirmed.

    Confirms each held booking of the order. A hold that has expired (by time or by the expiry
    job) is re-held if the unit type still has room; otherwise the booking is marked expired and
    this returns False: the orders pipeline must then refund the payment. Idempotent: bookings
    already confirmed are left alone. Returns True when every booking of the order is confirmed.
    """
    all_confirmed = True
    lines = sorted(_booking_lines(order), key=lambda l: l.booking_id)
    bookings = [db.session.get_one(Booking, line.booking_id) for line in lines]
    for unit_type_id in sorted({b.unit_type_id for b in bookings}):
        _lock_unit_type(unit_type_id)  # lock order: unit types by id, then bookings
    for booking in bookings:
        booking = _lock_booking(booking.id)
        if booking.status in (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.COMPLETED):
            continue
        if booking.status == BookingStatus.HELD and booking.expires_at is not None and booking.expires_at > now:
            confirm_booking(booking, now=now, note="paid")
            continue
        if booking.status not in (BookingStatus.HELD, BookingStatus.EXPIRED):
            all_confirmed = False  # canceled meanwhile
            continue
        listing = booking.listing
        if _has_room(
            listing,
            booking.unit_type,
            booking.session,
            booking.check_in_date,
            booking.check_out_date,
            booking.guests,
            booking.units,
            now=now,
            exclude_booking_id=booking.id,
        ) and booking.check_in_date >= local_date(now):
            if booking.status == BookingStatus.HELD:
                transition(booking, BookingStatus.EXPIRED, now=now, note="hold expired before payment")
            confirm_booking(booking, now=now, note="paid after the hold expired; re-held")
        else:
            if booking.status == BookingStatus.HELD:
                transition(booking, BookingStatus.EXPIRED, now=now, note="hold expired; no room left")
            all_confirmed = False
    if not all_confirmed:
        _refund_unconfirmed(order, now=now)
    db.session.flush()
    return all_confirmed


def _refund_unconfirmed(order, *, now: datetime) -> None:
    """The money for bookings that could not be confirmed goes back (through refund_payment)."""
    payment = next((p for p in order.payments if p.state == PaymentState.CONFIRMED), None)
    for line in _booking_lines(order):
        booking = db.session.get_one(Booking, line.booking_id)
        if line.status != LineStatus.OPEN or booking.status not in (BookingStatus.EXPIRED, BookingStatus.CANCELED):
            continue
        if payment is not None:
            refund_payment(
                payment,
                line.line_total_fen,
                line=line,
                now=now,
                reason="booking hold expired and no room left: refunded",
            )
            booking.refunded_fen = min(booking.total_fen, booking.refunded_fen + line.line_total_fen)
        line.status = LineStatus.REFUNDED
    settle_order(order, now=now, note="no room left after late payment")


def on_order_released(order, *, now: datetime) -> int:
    """Hook for the orders pipeline: the unpaid order expired or was canceled; release its holds."""
    released = 0
    for line in _booking_lines(order):
        booking = _lock_booking(line.booking_id)
        if booking.status == BookingStatus.HELD:
            transition(booking, BookingStatus.EXPIRED, now=now, note="order released")
            released += 1
    db.session.flush()
    return released


def expire_holds(now: datetime) -> int:
    """Mark held bookings whose hold has passed as expired; exactly once even if runs overlap.

    Candidates are read without locks, then each is locked and re-checked. Returns how many this
    run expired. (Capacity is already free at `expires_at` — availability ignores stale holds.)
    """
    ids = list(
        db.session.scalars(
            sa.select(Booking.id)
            .where(Booking.status == BookingStatus.HELD, Booking.expires_at <= now)
            .order_by(Booking.id)
        )
    )
    expired = 0
    for booking_id in ids:
        booking = _lock_booking(booking_id)
        if booking.status != BookingStatus.HELD or booking.expires_at is None or booking.expires_at > now:
            continue
        transition(booking, BookingStatus.EXPIRED, now=now, note="hold expired")
        expired += 1
    # The order itself (expires_at = the hold's) is expired by orders.tasks.expire_orders, which
    # calls on_order_released (a no-op for holds already expired here).
    db.session.flush()
    return expired


# --- access --------------------------------------------------------------------------------------


def get_booking_for_user(code: str, user) -> Booking:
    """The caller's own booking by public code; another user's is a 404 (admins see all)."""
    booking = db.session.scalar(sa.select(Booking).where(Booking.code == typed_code(code)[:16]))
    if booking is None or user is None or not (booking.user_id == user.id or user.role == "admin"):
        raise NotFound("booking_not_found")
    return booking


def is_host_of(user, listing: Listing) -> bool:
    """Whether `user` hosts `listing`: its own host, nobody else — an admin neither (docs/auth.md, "Who
    passes a role gate": hosts host, admins administer), so the booking API's check-in and no-show
    answer an admin as the host pages do."""
    return user is not None and user.role == "host" and listing.host_id == user.id


def get_booking_for_host(code: str, user) -> Booking:
    booking = db.session.scalar(sa.select(Booking).where(Booking.code == typed_code(code)[:16]))
    if booking is None or not is_host_of(user, booking.listing):
        raise NotFound("booking_not_found")
    return booking


def list_user_bookings(user) -> list[Booking]:
    return list(
        db.session.scalars(
            sa.select(Booking)
            .where(Booking.user_id == user.id)
            .options(selectinload(Booking.listing), selectinload(Booking.session))
            .order_by(Booking.created_at.desc(), Booking.id.desc())
        )
    )


def booking_refusal(req: BookingRequest, listing: Listing, *, user, now: datetime) -> DomainError | None:
    """Why `book_listing` would refuse `req` now on what needs no lock (card payments off, the payment
    method, the dates, party and rooms, the pay-on-arrival nights and rooms), else None: a 预订 that asks
    first (`same_bookings_held`) refuses these at once, never after its confirmation. The rooms or places
    left and the account's open unpaid bookings are counted by the booking itself, under its locks."""
    try:
        if not req.pay_on_arrival and not card_payments_enabled():
            raise ValidationError(
                "booking_card_payments_off", fields={"payment_method": "card payments are not available"}
            )
        _checked(req, listing, user=user, now=now, locked=True)  # read only: no account lock taken here
    except DomainError as exc:
        return exc
    return None


#: A booking still to be used or being used: held (while its hold lasts), confirmed, checked in.
LIVE_STATUSES = (BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


def same_bookings_held(
    user,
    listing: Listing,
    *,
    check_in: date | None = None,
    check_out: date | None = None,
    session_id: int | None = None,
    now: datetime,
) -> list[Booking]:
    """The traveller's live bookings (`LIVE_STATUSES`, a hold not yet passed) of `listing` for the same
    thing as asked: a stay's same check-in and check-out, an experience's same session, a ticket's same
    day (whatever the room type, ticket kind or party). Newest first; none when nothing is asked yet or
    nobody is signed in. The listing's page says them, and its 预订 asks first before booking another
    (`tourism.views.book`): a second identical booking by accident (Back, then 预订 again) is caught,
    one made on purpose (two rooms on two bookings) is confirmed."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    if listing.kind == ListingKind.EXPERIENCE:
        if not session_id:
            return []
        same = [Booking.session_id == session_id]
    elif listing.kind == ListingKind.STAY:
        if check_in is None or check_out is None:
            return []
        same = [Booking.check_in_date == check_in, Booking.check_out_date == check_out]
    else:
        if check_in is None:
            return []
        same = [Booking.check_in_date == check_in]
    return list(
        db.session.scalars(
            sa.select(Booking)
            .where(
                Booking.user_id == user.id,
                Booking.listing_id == listing.id,
                Booking.status.in_(LIVE_STATUSES),
                sa.or_(Booking.status != BookingStatus.HELD, Booking.expires_at.is_(None), Booking.expires_at > now),
                *same,
            )
            .order_by(Booking.created_at.desc(), Booking.id.desc())
        )
    )


# --- cancel ------------------------------------------------------------------------------------


@dataclass
class CancelQuote:
    refund_fen: int
    fee_fen: int
    is_free: bool


def cancel_quote(booking: Booking, *, now: datetime) -> CancelQuote:
    """What cancelling now would refund: free until `free_cancel_days` before, then a fee percent."""
    listing = booking.listing
    paid = 0 if booking.pay_on_arrival or booking.status == BookingStatus.HELD else booking.total_fen
    days_before = (booking.check_in_date - local_date(now)).days
    if days_before >= listing.free_cancel_days:
        return CancelQuote(refund_fen=paid, fee_fen=0, is_free=True)
    fee = min(paid, apply_bps(paid, listing.cancel_fee_pct * 100))
    return CancelQuote(refund_fen=paid - fee, fee_fen=fee, is_free=False)


def _lock_order(order_id: int):

    return db.session.execute(
        sa.select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def booking_cancelable(booking: Booking) -> bool:
    """Whether the booking may still be canceled (held or confirmed: not checked in, completed, canceled,
    expired or a no-show). `cancel_booking` and `host_cancel_booking` refuse exactly what this refuses;
    pages ask this (templates as `booking_cancelable(booking)`)."""
    return booking.status in (BookingStatus.HELD, BookingStatus.CONFIRMED)


def cancels_with_its_order(booking: Booking) -> bool:
    """A booking of an unpaid order that has other open lines (goods, other bookings) is not cancelled
    alone: the buyer cancels the whole order (nothing was charged) or pays first. `cancel_booking`
    refuses exactly this (409 `unpaid_order_cancel_whole`); the cancel page asks it first."""
    order = booking.order
    if order is None:
        return False
    paid = any(p.state == PaymentState.CONFIRMED for p in order.payments)
    return not paid and any(l.status == LineStatus.OPEN and l.booking_id != booking.id for l in order.lines)


def booking_canceled_already(booking: Booking) -> bool:
    """Whether cancelling the booking is done already: it is canceled (the guest's second tap, the step
    confirmed again after Back, the API called twice; or the host released it). That is not a mistake to
    refuse: `cancel_booking` and `host_cancel_booking` change nothing and say so, and the pages do not
    ask to confirm it."""
    return booking.status == BookingStatus.CANCELED


def cancel_booking(
    booking: Booking, *, actor, now: datetime, with_order: bool = False, full_refund: bool = False
) -> CancelQuote | None:
    """Cancel under the listing's policy; refund the paid amount minus the fee through the pipeline.
    Returns what was refunded and kept; None, changing nothing and refunding nothing again, when the
    booking was canceled already (`booking_canceled_already`, read again under the booking's lock: two
    taps at once cancel it once).

    Lock order as in the orders pipeline: order row, then payment, then booking. An unpaid booking
    (held, or pay on arrival) cancels its order through `cancel_order` when it is the order's only
    open line; a booking of an unpaid order with other lines (goods, other bookings) is not
    cancelled alone (409 `unpaid_order_cancel_whole`: the buyer cancels the order, or pays first). A
    paid one is refunded with `refund_payment` for exactly the amount the policy returns of this line
    (the fee stays with the order), and the order is settled (`orders.services.settlement.settle_order`:
    canceled when nothing else of it is open or took place, a fee kept or not). `with_order`: the whole order is being cancelled
    (`cancel_order_bookings`): its line is closed here and orders closes the rest and the order.
    `full_refund`: the shop cancels it, not the guest (a late payment that could not buy the rest of its
    mixed order, `orders.services.payments._paid_whole`): what was paid goes back whole, no fee kept.
    """
    order = _lock_order(booking.order_id) if booking.order_id else None
    booking = _lock_booking(booking.id)
    if booking_canceled_already(booking):
        return None
    if not booking_cancelable(booking):
        raise IllegalTransition("booking_not_cancelable", fields={"status": booking.status})
    line = None if order is None else next((l for l in order.lines if l.booking_id == booking.id), None)
    payment = None if order is None else next((p for p in order.payments if p.state == PaymentState.CONFIRMED), None)
    if not with_order and cancels_with_its_order(booking):
        raise Conflict("unpaid_order_cancel_whole")
    quote = cancel_quote(booking, now=now)
    if full_refund:
        quote = CancelQuote(refund_fen=quote.refund_fen + quote.fee_fen, fee_fen=0, is_free=True)
    # the host prepares for a confirmed booking (a hold was never theirs to prepare for); the shop's full refund
    # of a late payment undoes a confirmation of this very step, which the host is not told of either
    tell_host = booking.status == BookingStatus.CONFIRMED and not full_refund
    transition(
        booking,
        BookingStatus.CANCELED,
        actor=actor,
        now=now,
        note="free cancellation" if quote.is_free else f"fee {quote.fee_fen} fen kept",
    )
    booking.canceled_at = now
    booking.expires_at = None
    if tell_host:
        _tell_host(booking, HOST_MAIL_CANCELED)
    if order is None:
        db.session.flush()
        return quote
    if payment is None:
        if with_order:
            if line is not None and line.status == LineStatus.OPEN:
                line.status = LineStatus.CANCELED
        elif order.status in (OrderStatus.PENDING, OrderStatus.CONFIRMED):
            cancel_order(order, actor=actor, now=now, reason="booking canceled")
        db.session.flush()
        return quote
    if quote.refund_fen > 0:
        refund_payment(payment, quote.refund_fen, line=line, actor=actor, now=now, reason="booking canceled")
        booking.refunded_fen = quote.refund_fen
    if line is not None and line.status == LineStatus.OPEN:
        line.status = LineStatus.REFUNDED if quote.refund_fen > 0 else LineStatus.CANCELED
    if line is not None and quote.fee_fen > 0:
        credit_kept(line, amount_fen=kept_fen(booking, payment), ref=KEPT_LATE_CANCEL, now=now)
    if not with_order:  # else the whole order is being canceled: `cancel_order` closes it and mails the buyer
        settle_order(order, actor=actor, now=now, note="booking canceled")
        # one mail, the order's: the order canceled with it (nothing else of it left), or this booking alone
        if order.status == OrderStatus.CANCELED:
            notify(order, "canceled")
        else:
            notify(order, "booking_canceled", line)
    db.session.flush()
    return quote


def cancel_order_bookings(order, *, actor, now: datetime, full_refund: bool = False) -> bool:
    """`orders.services.payments.cancel_order` on an order that sells bookings comes here, so that
    cancelling from the order page and from the booking page is one path (`cancel_booking`, under
    the listing's policy): the booking, its order and the held nights stay in step. True when the
    order's bookings were canceled here and it sells nothing else; False when it has none still to
    come, or when it sells goods too: its bookings are then canceled here, each under its policy, and
    the caller cancels the goods and the order. An order whose booking is over but whose payment
    was kept (a cancellation fee) cannot be canceled again for the rest of the money; a mixed order
    with a booking under way (checked in) cannot be canceled whole. `full_refund`: the shop cancels the
    order, not its buyer (`cancel_booking`): every booking goes back in full."""
    lines = _booking_lines(order)
    if not lines:
        return False
    goods = any(l.kind == "product" for l in order.lines)
    bookings = [db.session.get_one(Booking, line.booking_id) for line in lines]
    live = [b for b in bookings if booking_cancelable(b)]
    if goods:
        under_way = [
            b for b, l in zip(bookings, lines, strict=True) if l.status == LineStatus.OPEN and not booking_cancelable(b)
        ]
        if any(b.status not in (BookingStatus.EXPIRED, BookingStatus.CANCELED) for b in under_way):
            raise IllegalTransition("booking_not_cancelable", fields={"status": order.status})
        for booking in live:
            cancel_booking(booking, actor=actor, now=now, with_order=True, full_refund=full_refund)
        return False
    if not live:
        if any(p.state == PaymentState.CONFIRMED for p in order.payments):
            raise IllegalTransition("booking_not_cancelable", fields={"status": order.status})
        return False
    for booking in live:
        cancel_booking(booking, actor=actor, now=now, with_order=len(live) > 1, full_refund=full_refund)
    if len(live) > 1 and order.status in (OrderStatus.PENDING, OrderStatus.CONFIRMED):
        return False  # several bookings: each closed under its policy above; orders closes the order
    return True


# --- host actions ------------------------------------------------------------------------------


def check_in_booking(
    booking: Booking, confirmation_code: str, *, actor, now: datetime, cash_received_fen: int | None = None
) -> Booking:
    """The host checks the guest in with the confirmation code the guest shows (wrong codes refused).

    A booking paid on arrival (or at the gate) is checked in only with its cash taken in the same
    step: `cash_received_fen` must be what it owes; the cash is a row of the host's cash book
    (`tourism.services.host_cash`) and the payment is confirmed. Without it: 409
    `cash_not_received`, nothing changes.

    A stay recorded after its check-out date (补登入住, `checked_in_late`) is completed in the same step, as
    the hourly job would complete it: its households are credited and its order settled."""
    if not is_host_of(actor, booking.listing):
        raise NotFound("booking_not_found")
    if booking.order_id:
        _lock_order(booking.order_id)  # lock order: order, then booking (as the orders pipeline)
    booking = _lock_booking(booking.id)
    booking_code, code = read_checkin_text(confirmation_code)  # typed, or the text of the guest's QR code
    if booking_code not in (None, booking.code) or not same_secret(code, booking.confirmation_code):
        raise WrongConfirmationCode("wrong_confirmation_code", fields={"confirmation_code": "does not match"})
    refusal = check_in_refusal(booking, now=now)
    if refusal is not None:
        raise refusal

    taken = take_arrival_cash(booking, cash_received_fen, actor=actor, now=now)  # refused before any change
    transition(booking, BookingStatus.CHECKED_IN, actor=actor, now=now)
    booking.checked_in_at = now
    if taken is not None:
        confirm_cash(booking.order, actor=actor, now=now)  # the cash is in the host's book: the payment is in
    db.session.flush()
    if checked_in_late(booking, now=now):
        _complete(booking.id, booking.order_id, now=now)
        db.session.flush()
    return booking


#: How many days after its check-out date a stay the desk forgot to check in may still be recorded with the
#: guest's confirmation code (补登入住): the guest came and left, and only the desk's record is missing.
LATE_CHECK_IN_DAYS = 7


def check_in_refusal(booking: Booking, *, now: datetime) -> Conflict | IllegalTransition | None:
    """Why the host may not check the guest in now (the confirmation code and the cash aside), or None
    when it may: only a confirmed booking, and only from its arrival day to LATE_CHECK_IN_DAYS days after
    its check-out date, in Beijing time. So a guest who arrives a night late, or whom the desk forgot, is
    checked in on a later night of the stay; and a stay that took place without the desk's record is
    recorded after it (补登入住: `check_in_booking` then completes it at once, so its households are
    credited — before, only 标记未到店 was left, which kept a card's money as a no-show's and canceled a
    pay-on-arrival order whose cash the host had taken). An experience or a ticket likewise, from its day.
    `check_in_booking` refuses exactly this; the host's desk asks it (`check_in_allowed`) to offer 办理入住 or
    补登入住 on a booking whose arrival day has passed. `find_arrival_by_code` looks for the same days in SQL
    (`_staying`)."""
    if booking.status != BookingStatus.CONFIRMED:
        return IllegalTransition("booking_not_confirmed", fields={"status": booking.status})
    today = local_date(now)
    if today < booking.check_in_date:
        return Conflict("not_arrival_day")
    if today >= booking.check_out_date + timedelta(days=LATE_CHECK_IN_DAYS):
        return Conflict("check_in_too_late", code=booking.code, days=LATE_CHECK_IN_DAYS)
    return None


def checked_in_late(booking: Booking, *, now: datetime) -> bool:
    """Whether checking the guest in now records a stay that is over (补登入住): its check-out date has come."""
    return booking.check_out_date <= local_date(now)


def check_in_allowed(booking: Booking, *, now: datetime) -> bool:
    """Whether the host may check the guest in now with its confirmation code (`check_in_refusal`)."""
    return check_in_refusal(booking, now=now) is None


def _staying(today: date) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """SQL: the booking may be checked in on `today` — `check_in_refusal`'s days."""
    return Booking.check_in_date <= today, Booking.check_out_date > today - timedelta(days=LATE_CHECK_IN_DAYS)


def find_arrival_by_code(host, confirmation_code: str, *, now: datetime) -> Booking:
    """A confirmed booking of the host's listings with this confirmation code whose stay is on today: arriving
    today, or arrived on an earlier day of its stay and not checked in yet (`check_in_refusal`)."""
    booking_code, code = read_checkin_text(confirmation_code)  # typed, or the text of the guest's QR code
    today = local_date(now)
    staying = _staying(today)
    # the QR code names its booking too: that booking's code, and no other's
    named = () if booking_code is None else (Booking.code == booking_code,)
    confirmed_today = _with_code(host, code, *named, Booking.status == BookingStatus.CONFIRMED, *staying)
    matches = list(db.session.scalars(confirmed_today)) if code else []
    if len(matches) != 1:
        if code and not matches:
            # the right code, the wrong day: say so, not "wrong code"
            upcoming = _only(
                _with_code(host, code, *named, Booking.status == BookingStatus.CONFIRMED, Booking.check_in_date > today)
            )
            if upcoming is not None:
                raise Conflict(
                    "arrival_day_later",
                    date=upcoming.check_in_date.isoformat(),
                    fields={"confirmation_code": "not arrival day"},
                )
            # the right code of a stay over too long ago to record (补登入住): say so, and what is left to do
            too_late = _only(
                _with_code(
                    host,
                    code,
                    *named,
                    Booking.status == BookingStatus.CONFIRMED,
                    Booking.check_out_date <= today - timedelta(days=LATE_CHECK_IN_DAYS),
                )
            )
            if too_late is not None:
                raise check_in_refusal(too_late, now=now) or Conflict("not_arrival_day")
            # a second tap, or a colleague was quicker: the guest is in (or, recorded late, the stay completed at
            # once), say so
            checked_in = _only(
                _with_code(
                    host,
                    code,
                    *named,
                    Booking.status.in_((BookingStatus.CHECKED_IN, BookingStatus.COMPLETED)),
                    *staying,
                )
            )
            if checked_in is not None:
                raise Conflict(
                    "booking_already_checked_in",
                    code=checked_in.code,
                    fields={"confirmation_code": "already checked in"},
                )
        raise WrongConfirmationCode("wrong_confirmation_code", fields={"confirmation_code": "does not match"})
    return matches[0]


def _with_code(host, code: str, *where) -> sa.Select:
    """The bookings of the host's listings with this confirmation code and `where`."""
    return (
        sa.select(Booking)
        .join(Listing, Listing.id == Booking.listing_id)
        .where(Booking.confirmation_code == code, Listing.host_id == host.id, *where)
    )


def _only(query: sa.Select) -> Booking | None:
    """The one booking `query` finds, or None when it finds none or several."""
    found = list(db.session.scalars(query.limit(2)))
    return found[0] if len(found) == 1 else None


def host_cancel_reason(text: str | None) -> str:
    """The reason a host gives the guest for cancelling, as it is kept and sent: free text written to another
    (`shop.text.plain_text`: shown escaped, never cut). Required (422 `host_cancel_reason_required`); longer
    than `MAX_HOST_CANCEL_REASON` is refused (422 `host_cancel_reason_too_long`, naming the limit). The host's
    page asks it before its confirmation step, so a reason refused is said at once with what was typed."""
    reason = plain_text(text)
    if not reason:
        raise ValidationError("host_cancel_reason_required", fields={"reason": "required"})
    if len(reason) > MAX_HOST_CANCEL_REASON:
        raise ValidationError("host_cancel_reason_too_long", max=MAX_HOST_CANCEL_REASON, fields={"reason": "too_long"})
    return reason


def host_cancel_refusal(booking: Booking, order: Order | None) -> DomainError | None:
    """Why the host may not cancel the booking, or None when it may: only a booking still to come
    (`booking_cancelable`: 409 `booking_not_cancelable`) that is to be paid on arrival and was not paid
    (`order`: the booking's; 409 `paid_booking`: a booking paid online is the guest's to cancel).
    `host_cancel_booking` refuses exactly this, under the order's lock; the host's pages ask it first."""
    if not booking_cancelable(booking):
        return IllegalTransition("booking_not_cancelable", fields={"status": booking.status})
    paid = order is not None and any(p.state == PaymentState.CONFIRMED for p in order.payments)
    if paid or not booking.pay_on_arrival:
        return Conflict("paid_booking")
    return None


#: The booking's history note of a host's cancellation, with the reason the host gave (`shop.history.note_text`
#: reads it in the reader's language, the reason as typed).
HOST_CANCELED_NOTE = "canceled by the host: unpaid; reason: {reason}"


def host_cancel_booking(booking: Booking, *, actor, now: datetime, reason: str | None) -> bool:
    """The host releases an unpaid pay-on-arrival booking (nothing was paid, so nothing to refund),
    saying why (`host_cancel_reason`: required, bounded); the guest is told by e-mail with the reason,
    which the booking keeps (`host_cancel_reason`: the guest's booking and order pages, the API) and
    its history records. A booking paid online is the guest's: the host cannot cancel it.

    True when canceled now; False, changing nothing and telling no one, when it was canceled already
    (`booking_canceled_already`, read again under the booking's lock: two taps at once cancel it once;
    the reason of the second is not asked)."""
    if not is_host_of(actor, booking.listing):
        raise NotFound("booking_not_found")
    order = _lock_order(booking.order_id) if booking.order_id else None
    booking = _lock_booking(booking.id)
    if booking_canceled_already(booking):
        return False
    refusal = host_cancel_refusal(booking, order)
    if refusal is not None:
        raise refusal
    kept = host_cancel_reason(reason)
    transition(booking, BookingStatus.CANCELED, actor=actor, now=now, note=HOST_CANCELED_NOTE.format(reason=kept))
    booking.canceled_at = now
    booking.expires_at = None
    booking.host_cancel_reason = kept
    if order is not None and order.status in (OrderStatus.PENDING, OrderStatus.CONFIRMED):
        # the guest gets the host's cancellation mail below, not the order's as well
        cancel_order(order, actor=actor, now=now, reason="booking canceled by the host", mail=None)
    _tell_guest_canceled(booking, "host")
    db.session.flush()
    return True


def _tell_guest_canceled(booking: Booking, why: str) -> None:
    enqueue_after_commit("tourism.tasks.send_booking_canceled_mail", booking.id, why)


def no_show_refusal(booking: Booking, *, now: datetime) -> Conflict | IllegalTransition | None:
    """Why the host may not mark the booking a no-show now, or None when it may: only a confirmed booking,
    and only from its start on — a session's (an experience or ticket at a time) start time, otherwise
    (a stay, a day ticket) its arrival day, in the county's time (Beijing). `mark_no_show` refuses exactly
    this; the host's pages ask it (`no_show_allowed`) to show the button."""
    if booking.status != BookingStatus.CONFIRMED:
        return IllegalTransition("no_show_not_confirmed", fields={"status": booking.status})
    session = booking.session
    if session is not None:
        if now < session.starts_at:
            return Conflict("no_show_before_session", start=f"{to_local(session.starts_at):%Y-%m-%d %H:%M}")
    elif booking.check_in_date > local_date(now):
        return Conflict("no_show_before_arrival", day=booking.check_in_date.isoformat())
    return None


def no_show_allowed(booking: Booking, *, now: datetime) -> bool:
    """Whether the host may mark the booking a no-show now (`no_show_refusal` has no objection)."""
    return no_show_refusal(booking, now=now) is None


def no_show_marked_already(booking: Booking) -> bool:
    """Whether marking the booking a no-show is done already: it is one (a second tap, the step
    confirmed again after Back, the API called twice). That is not a mistake to refuse: `mark_no_show`
    changes nothing and says so, and the host's page does not ask to confirm it."""
    return booking.status == BookingStatus.NO_SHOW


#: The history note of an order canceled because its bookings were no-shows (or canceled) and nothing else
#: of it took place.
NO_SHOW_NOTE = "no-show"


def mark_no_show(booking: Booking, *, actor, now: datetime) -> bool:
    """The guest did not come. A card payment is kept (policy: no-shows are not refunded) and the order
    settled (`orders.services.settlement.settle_order`: canceled when nothing else of it is open or took
    place); an unpaid pay-on-arrival order is canceled so it does not wait for cash forever. Refused before the
    booking's start (`no_show_refusal`: 409 `no_show_before_session`, `no_show_before_arrival`).

    True when marked now; False, changing nothing (no second mail, no second credit), when it was a
    no-show already (`no_show_marked_already`, read again under the booking's lock: two desks at once
    mark it once)."""
    if not is_host_of(actor, booking.listing):
        raise NotFound("booking_not_found")
    order = _lock_order(booking.order_id) if booking.order_id else None
    booking = _lock_booking(booking.id)
    if no_show_marked_already(booking):
        return False
    refusal = no_show_refusal(booking, now=now)
    if refusal is not None:
        raise refusal
    transition(booking, BookingStatus.NO_SHOW, actor=actor, now=now)
    payment = None if order is None else next((p for p in order.payments if p.state == PaymentState.CONFIRMED), None)
    if order is not None and order.status == OrderStatus.CONFIRMED and payment is None:
        cancel_order(order, actor=actor, now=now, reason="no-show, nothing paid", mail=None)  # one mail: below
    _tell_guest_canceled(booking, "no_show")
    line = None if order is None else next((l for l in order.lines if l.booking_id == booking.id), None)
    if payment is not None and line is not None:
        credit_kept(line, amount_fen=kept_fen(booking, payment), ref=KEPT_NO_SHOW, now=now)
    if order is not None:
        settle_order(order, actor=actor, now=now, note=NO_SHOW_NOTE)
    db.session.flush()
    return True


def kept_fen(booking: Booking, payment) -> int:
    """What the platform holds of a canceled or no-show booking's money: captured less refunded.

    Only a captured payment counts (a card payment confirmed, or cash taken); a pay-on-arrival
    booking that was never paid keeps nothing, whatever its policy says.
    """
    if payment is None or payment.state not in (PaymentState.CONFIRMED, PaymentState.REFUNDED):
        return 0
    return max(0, min(booking.total_fen, payment.amount_fen) - booking.refunded_fen)


def refund_kept(booking: Booking, *, actor, now: datetime, reason: str = "") -> int:
    """Give back what a canceled or no-show booking kept (the host's goodwill: only its host may).

    Refunds through the orders pipeline, whose refund reverses the households' credit of it like a
    sale's (`orders.services.payments.reverse_refunded_credit`, once per refund). Returns the
    refunded fen; 0 when nothing is kept.
    """
    if not is_host_of(actor, booking.listing):
        raise NotFound("booking_not_found")
    order = _lock_order(booking.order_id) if booking.order_id else None
    booking = _lock_booking(booking.id)
    if booking.status not in (BookingStatus.CANCELED, BookingStatus.NO_SHOW) or order is None:
        raise IllegalTransition("booking_fee_not_returnable", fields={"status": booking.status})
    payment = next((p for p in order.payments if p.state == PaymentState.CONFIRMED), None)
    amount = kept_fen(booking, payment)
    if amount <= 0 or payment is None:
        raise Conflict("nothing_kept")
    line = next((l for l in order.lines if l.booking_id == booking.id), None)
    refund = refund_payment(payment, amount, line=line, actor=actor, now=now, reason=reason or "kept fee refunded")
    if refund is None:
        raise Conflict("nothing_kept")
    booking.refunded_fen += refund.amount_fen
    notify(order, "refunded", line)  # the guest's one mail of it: the order's, naming the booking
    db.session.flush()
    return refund.amount_fen


def complete_stays(now: datetime) -> int:
    """Checked-in bookings whose check-out date has come -> completed, then credit households and
    settle the order (completed once nothing else of it is still to come). The hourly job: every such
    booking of the shop."""
    today = local_date(now)
    rows = db.session.execute(
        sa.select(Booking.id, Booking.order_id)
        .where(Booking.status == BookingStatus.CHECKED_IN, Booking.check_out_date <= today)
        .order_by(Booking.id)
    ).all()
    done = sum(_complete(booking_id, order_id, now=now) for booking_id, order_id in rows)
    db.session.flush()
    return done


def complete_stay(booking: Booking, *, now: datetime) -> bool:
    """`complete_stays` for one booking: completed and its households credited if it is checked in and its
    check-out date has come by `now`; False (nothing done) otherwise. For a caller that completes a booking
    of its own (the demo's stay), leaving everyone else's to the hourly job."""
    if booking.check_out_date > local_date(now):
        return False
    done = _complete(booking.id, booking.order_id, now=now)
    db.session.flush()
    return done


def _complete(booking_id: int, order_id: int | None, *, now: datetime) -> bool:
    """Complete one checked-in booking, credit it and settle its order; False when it is no longer checked in."""
    order = _lock_order(order_id) if order_id else None  # lock order: order, then booking
    booking = _lock_booking(booking_id)
    if booking.status != BookingStatus.CHECKED_IN:
        return False
    transition(booking, BookingStatus.COMPLETED, now=now, note="check-out date passed")
    _credit_booking(booking, now=now)
    if order is not None:
        settle_order(order, now=now)
    return True


def _credit_booking(booking: Booking, *, now: datetime) -> None:
    """Credit the booking's order line to the linked households (county ledger; idempotent), when
    its money was received (a card payment captured, or the cash in the host's book)."""
    if booking.order is None:
        return
    if not any(p.state in (PaymentState.CONFIRMED, PaymentState.REFUNDED) for p in booking.order.payments):
        log.warning("booking %s completed without its money received: not credited", booking.code)
        return  # income is credited for money received, nothing else (reconciliation lists it)
    for line in booking.order.lines:
        if line.booking_id == booking.id and line.status == LineStatus.OPEN:
            credit_line(line, now=now)


# --- booking lines of the cart's checkout (orders.bookables) ------------------------------------


#: A booking's status -> what it has come to for its order's status (`orders.services.settlement`):
#: done once the stay (experience, ticket) is completed; void once canceled, expired or a no-show (the
#: guest did not come: nothing took place, whatever money was kept); any other status: still open.
BOOKING_OUTCOMES = {
    BookingStatus.COMPLETED: Outcome.DONE,
    BookingStatus.CANCELED: Outcome.VOID,
    BookingStatus.EXPIRED: Outcome.VOID,
    BookingStatus.NO_SHOW: Outcome.VOID,
}


def booking_outcome(status: str) -> Outcome:
    """What a booking in `status` has come to for its order (`BOOKING_OUTCOMES`)."""
    return BOOKING_OUTCOMES.get(BookingStatus(status), Outcome.OPEN)


def awaiting_use() -> sa.ColumnElement[bool]:
    """Condition on `Order`: it sells a booking that is booked and not over yet — confirmed (paid, or to
    be paid at the host's on arrival) or checked in and not yet completed; not canceled or a no-show
    (我的订单's "to use" tab, 待使用; `orders.services.tabs.extend_tab`). A stay the guest is in stays
    here until the hourly job completes it, then it is to review: no tab loses it in between."""
    return sa.exists().where(
        Booking.order_id == Order.id, Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN))
    )


def _order_booking_statuses() -> sa.Select:
    """SQL: the statuses of the order `order_id`'s bookings (bind parameter)."""
    return statement(
        "tourism.order_booking_statuses",
        lambda: sa.select(Booking.status).where(Booking.order_id == sa.bindparam("order_id")),
    )


class BookingLineUnavailable(BookingUnavailable):
    """One booking line of a checkout has no room left: the message names it (409)."""

    code = "booking_line_unavailable"


def _request_of(item, *, pay_on_arrival: bool = False) -> BookingRequest:
    return BookingRequest(
        listing_id=item.listing_id,
        guests=item.guests,
        check_in=item.check_in,
        check_out=item.check_out,
        unit_type_id=item.unit_type_id,
        session_id=item.session_id,
        units=item.units,
        pay_on_arrival=pay_on_arrival,
    )


def _line_label(listing: Listing, check_in: date, check_out: date) -> str:
    if listing.kind == ListingKind.STAY:
        return f"{listing.name} {check_in:%m-%d}–{check_out:%m-%d}"
    return f"{listing.name} {check_in:%m-%d}"


@dataclass
class _QuotedLine:
    """A cart line `CartBookings.quote_many` checked, to be priced and counted once the holidays and the
    bookings and closures of all the lines are read."""

    req: BookingRequest
    listing: Listing
    thumb_path: str
    unit_type: UnitType
    session: Session | None
    check_in: date
    check_out: date

    def quote(self, holidays: set[date], occupancy: Occupancy, *, now: datetime) -> BookingQuote:
        req, listing, unit_type, session = self.req, self.listing, self.unit_type, self.session
        check_in, check_out = self.check_in, self.check_out
        if listing.kind == ListingKind.STAY:
            total = stay_total_fen(unit_type, check_in, check_out, req.units, holidays=holidays)
            detail = unit_type.name
        else:
            total = per_person_total_fen(unit_type, check_in, req.guests, kind=listing.kind, holidays=holidays)
            detail = unit_type.name
        places_left = None
        if listing.kind == ListingKind.STAY:
            available = _has_room(
                listing, unit_type, session, check_in, check_out, req.guests, req.units, now=now, occupancy=occupancy
            )
        else:
            places_left = _places_left(listing, unit_type, session, check_in, check_out, now=now, occupancy=occupancy)
            available = places_left >= req.guests
        closed = {d for d in occupancy.closed.get(listing.id, ()) if check_in <= d < check_out}
        return BookingQuote(
            listing_id=listing.id,
            kind=listing.kind,
            title=listing.name,
            detail=detail,
            check_in=check_in,
            check_out=check_out,
            nights=(check_out - check_in).days,
            guests=req.guests,
            units=req.units,
            total_fen=total,
            available=available,
            methods=payment_methods(listing),
            url=f"/listings/{listing.id}-{listing.slug}",
            free_cancel_days=listing.free_cancel_days,
            cancel_fee_pct=listing.cancel_fee_pct,
            places_left=places_left,
            guests_limit=guests_limit(unit_type, listing.kind),
            units_limit=units_limit(unit_type) if listing.kind == ListingKind.STAY else None,
            closed_day=min(closed) if closed else None,
            starts_at=session.starts_at if session is not None else None,
            thumb_path=self.thumb_path,
        )


class CartBookings:
    """Tourism's side of `orders.bookables`: booking lines in the cart and in one checkout with goods.
    `hold` is `POST /bookings`' own hold (`_validate`, the pay-on-arrival limits, `_lock_and_check`,
    `_booking_rows`): one path for the rules, the locks and the expiry."""

    def quote(self, item, *, now: datetime):
        """One line: `quote_many` of it alone, its refusal raised."""
        [answer] = self.quote_many([item], now=now)
        if isinstance(answer, DomainError):
            raise answer
        return answer

    def quote_many(self, items, *, now: datetime) -> list[BookingQuote | DomainError]:
        """Every line checked (`_validate`) and priced, and its room counted (`_has_room`), with a fixed
        number of statements whatever the number of lines: the listings with their first photos, the
        sessions (only when a line is one), then — when a line passed its checks — the holidays (from the
        first check-in to the last check-out), the bookings and the closures of each line's own dates
        (`read_occupancy`, one span per line: lines months apart do not read the months between). A line that
        cannot be booked gets its refusal (the DomainError `quote` raises) in its place."""
        listings = _listings_with_thumbs(item.listing_id for item in items)
        sessions = _sessions_by_id(item.session_id for item in items if item.session_id is not None)
        answers: list[BookingQuote | DomainError | _QuotedLine] = []
        for item in items:
            found, thumb_path = listings.get(item.listing_id) or (None, "")
            try:
                req, listing = _request_of(item), _published(found)
                checked = _validate(req, listing, now=now, sessions=sessions)
            except DomainError as exc:
                answers.append(exc)
            else:
                answers.append(_QuotedLine(req, listing, thumb_path, *checked))
        lines = [a for a in answers if isinstance(a, _QuotedLine)]
        if not lines:  # every line refused: nothing to price or count
            return [a for a in answers if not isinstance(a, _QuotedLine)]
        holidays = holidays_between(min(l.check_in for l in lines), max(l.check_out for l in lines))
        occupancy = read_occupancy(
            (Span((l.unit_type.id,), (l.listing.id,), l.check_in, l.check_out) for l in lines),
            (l.session.id for l in lines if l.session is not None),
            now=now,
        )
        return [a.quote(holidays, occupancy, now=now) if isinstance(a, _QuotedLine) else a for a in answers]

    def sessions_to_choose(self, listing_ids, *, now: datetime, session_ids=()) -> dict[int, list[SessionChoice]]:
        """The sessions each published experience of `listing_ids` offers (`availability.sessions_to_choose`,
        its booking form's 场次 choices), its listing read as a line's quote reads it: four statements
        whatever their number. A session of `session_ids` (the cart lines') past the days offered adds its
        day's sessions (one statement for their days, three for each day)."""
        found = _listings_with_thumbs(listing_ids)
        listings = [l for l, _thumb in found.values() if l.is_published and l.kind == ListingKind.EXPERIENCE]
        offered = sessions_to_choose(listings, now=now) if listings else {}
        seen = {s.id for pairs in offered.values() for s, _left in pairs}
        further = sorted(set(session_ids) - seen)
        if listings and further:
            listing_of = {u.id: l.id for l in listings for u in l.unit_types}
            days: dict[int, set[date]] = {}
            for unit_type_id, day in db.session.execute(
                sa.select(Session.unit_type_id, Session.session_date).where(Session.id.in_(further))
            ):
                if unit_type_id in listing_of:
                    days.setdefault(listing_of[unit_type_id], set()).add(day)
            for listing_id, pairs in sessions_past_offered(listings, days, now=now).items():
                offered[listing_id] = offered[listing_id] + pairs
        return {
            listing_id: [SessionChoice(s.id, s.starts_at, left) for s, left in pairs]
            for listing_id, pairs in offered.items()
        }

    def hold(self, order, items, *, buyer, now: datetime, pay_on_arrival: bool):
        checked = []
        for item in items:
            req = _request_of(item, pay_on_arrival=pay_on_arrival)
            listing = _listing_for_booking(req.listing_id)
            unit_type, session, check_in, check_out = _checked(req, listing, user=buyer, now=now)
            checked.append((req, listing, unit_type, session, check_in, check_out))
        held = HeldLines()
        # lock order: unit types by id (two checkouts holding the same two unit types queue, never cross)
        for number, (req, listing, unit_type, session, check_in, check_out) in enumerate(
            sorted(checked, key=lambda c: (c[2].id, c[4])), start=1
        ):
            try:
                total, code = _lock_and_check(
                    req,
                    listing,
                    unit_type,
                    session,
                    check_in,
                    check_out,
                    now=now,
                    confirm=pay_on_arrival,
                    open_unpaid_of=buyer.id if pay_on_arrival else None,
                )
            except BookingUnavailable as refused:
                where = {"listing_id": str(listing.id), "checkin": check_in.isoformat()}
                if refused.code == "day_closed":  # the host's day off, not a full house (`day_closed`)
                    raise BookingLineUnavailable(
                        "booking_line_closed",
                        name=_line_label(listing, check_in, check_out),
                        day=refused.params["day"],
                        fields=where,
                    ) from None
                raise BookingLineUnavailable(
                    "booking_line_unavailable", name=_line_label(listing, check_in, check_out), fields=where
                ) from None
            booking, line_values, events = _booking_rows(
                order,
                req,
                listing,
                unit_type,
                session,
                check_in,
                check_out,
                total,
                code,
                confirm=pay_on_arrival,
                now=now,
                number=number,
            )
            line = OrderLine(order=order, booking=booking, **line_values)
            held.lines.append(line)
            held.rows += [booking, line]
            held.total_fen += total
            if booking.expires_at is not None:
                held.expires_at = min(held.expires_at or booking.expires_at, booking.expires_at)
            held.events += events
        return held

    def placed(self, held: HeldLines) -> None:
        # bookings confirmed at once (pay on arrival, at the gate): their hosts are told, as for `POST /bookings`
        for row in held.rows:
            if isinstance(row, Booking) and row.status == BookingStatus.CONFIRMED:
                _tell_host(row, HOST_MAIL_CONFIRMED)

    def mail_attachments(self, order) -> list[tuple[str, bytes, str]]:
        return [
            checkin_qr(line.booking)
            for line in _booking_lines(order)
            if line.booking.confirmation_code and line.booking.status in _CODE_SHOWN
        ]

    def cancel_quotes(self, order, *, now: datetime) -> list[LineCancel]:
        quotes = []
        for line in _booking_lines(order):
            booking = line.booking
            if line.status == LineStatus.OPEN and booking is not None and booking_cancelable(booking):
                quote = cancel_quote(booking, now=now)
                quotes.append(LineCancel(line_id=line.id, refund_fen=quote.refund_fen, fee_fen=quote.fee_fen))
        return quotes

    def outcomes(self, order_id: int) -> list[Outcome]:
        statuses = db.session.scalars(_order_booking_statuses(), {"order_id": order_id})
        return [booking_outcome(status) for status in statuses]

    def shown_options(self) -> tuple:
        return (
            selectinload(Booking.listing).selectinload(Listing.images),
            selectinload(Booking.unit_type),
            selectinload(Booking.session),
        )

    def page_options(self) -> tuple:
        return (
            *self.shown_options(),
            selectinload(Booking.listing).selectinload(Listing.host),
        )
