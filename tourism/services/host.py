"""The host workspace: own listings only, their terms and prices, closures, today's arrivals and the
bookings whose arrival day passed unhandled."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from orders.models import Order
from shop.audit import record_audit
from shop.db import rowcount
from shop.errors import Conflict, NotFound, ValidationError, check_price_fen
from shop.extensions import db
from shop.filters import bracketed
from shop.money import MAX_FEN, format_yuan
from shop.timeutil import local_date
from tourism.models import MAX_CLOSURE_REASON, Booking, BookingStatus, Closure, Listing, ListingKind, UnitType
from tourism.services.availability import nights, occupying, rooms_per_night

MAX_FREE_CANCEL_DAYS = 60
#: Characters of a listing's 介绍 and 包含的服务 (the forms' limits too).
MAX_DESCRIPTION = 5000
MAX_INCLUDED = 2000
MAX_UNITS = 1000
MAX_GUESTS_PER_UNIT = 50
MAX_UNIT_PRICE_FEN = min(MAX_FEN, 10**8)  # ¥1,000,000 a night or a person


def list_host_listings(host) -> list[Listing]:
    query = (
        sa.select(Listing).options(selectinload(Listing.unit_types), selectinload(Listing.village)).order_by(Listing.id)
    )
    return list(db.session.scalars(query.where(Listing.host_id == host.id)))


@dataclass(frozen=True)
class HostCommitments:
    """What a host still owes tourists (`host_commitments`)."""

    #: its listings open to tourists (对游客开放): bookable, with nobody else to receive the guests
    open_listings: int
    #: its bookings not ended: a live hold, confirmed or checked in — only the host checks the guest in,
    #: marks a no-show, and a checked-in stay is completed for it
    bookings: int

    def __bool__(self) -> bool:
        return bool(self.open_listings or self.bookings)


def host_commitments(host_id: int, *, now: datetime) -> HostCommitments:
    """The listings of host `host_id` open to tourists and its bookings not ended. An account that has any
    keeps its host role (`admin.services.users`, `host_has_commitments`): as a consumer or an operator it
    no longer passes the host pages' gate, so its guests would arrive to nobody who can check them in and
    its listings would go on taking bookings."""
    open_listings = db.session.scalar(
        sa.select(sa.func.count()).select_from(Listing).where(Listing.host_id == host_id, Listing.is_published)
    )
    bookings = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Booking)
        .join(Listing, Listing.id == Booking.listing_id)
        .where(
            Listing.host_id == host_id,
            sa.or_(
                Booking.status.in_([str(BookingStatus.CONFIRMED), str(BookingStatus.CHECKED_IN)]),
                sa.and_(Booking.status == BookingStatus.HELD, Booking.expires_at > now),
            ),
        )
    )
    return HostCommitments(open_listings=int(open_listings or 0), bookings=int(bookings or 0))


def get_host_listing(host, listing_id: int) -> Listing:
    """The host's own listing; another host's is a 404 (the host pages let no admin in: docs/auth.md)."""
    listing = db.session.get(Listing, listing_id)
    if listing is None or listing.host_id != host.id:
        raise NotFound("listing_not_found")
    return listing


def todays_arrivals(host, *, now: datetime) -> list[Booking]:
    today = local_date(now)
    query = (
        sa.select(Booking)
        .join(Listing, Listing.id == Booking.listing_id)
        .where(
            Booking.check_in_date == today,
            Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN]),
        )
        .order_by(Listing.id, Booking.id)
        # what the desk shows of each: its listing, room type, guest and session, in this statement
        .options(
            contains_eager(Booking.listing),
            joinedload(Booking.unit_type),
            joinedload(Booking.user),
            joinedload(Booking.session),
            # and whether the host may cancel it (`booking.host_cancel_refusal`: paid or not), read at once
            selectinload(Booking.order).selectinload(Order.payments),
        )
    )
    return list(db.session.scalars(query.where(Listing.host_id == host.id)))


#: The desk's 待处理 list shows this many bookings at most, the oldest first, and says how many there are.
OVERDUE_SHOWN = 50


@dataclass(frozen=True)
class OverdueArrivals:
    """The host's bookings whose arrival day has passed while they are still confirmed (`overdue_arrivals`)."""

    #: The oldest ones, at most OVERDUE_SHOWN.
    bookings: list[Booking]
    #: How many there are in all (more than `bookings` when the list is cut).
    total: int


def overdue_arrivals(host, *, now: datetime, limit: int = OVERDUE_SHOWN) -> OverdueArrivals:
    """The host's bookings still confirmed whose arrival day (an experience's or a ticket's day) is before
    today: the guest was neither checked in nor marked a no-show. Nothing else ends such a booking (the
    hourly job completes checked-in stays only), so its money and its households' credit wait, a
    pay-on-arrival order waits for cash and the guest's 我的订单 shows it under 待使用 until the host acts:
    the desk lists them under today's arrivals, each with what the rules allow now
    (`booking.check_in_allowed` while the stay is on, `booking.no_show_allowed`).

    The oldest first, at most `limit`, with their listing, room type, guest and session and how many
    there are in all, in one statement."""
    today = local_date(now)
    total = sa.func.count().over().label("total")
    query = (
        sa.select(Booking, total)
        .join(Listing, Listing.id == Booking.listing_id)
        .where(
            Listing.host_id == host.id,
            Booking.status == BookingStatus.CONFIRMED,
            Booking.check_in_date < today,
        )
        .order_by(Booking.check_in_date, Booking.id)
        .limit(limit)
        .options(
            contains_eager(Booking.listing),
            joinedload(Booking.unit_type),
            joinedload(Booking.user),
            joinedload(Booking.session),
            selectinload(Booking.order).selectinload(Order.payments),
        )
    )
    rows = db.session.execute(query).all()
    return OverdueArrivals([booking for booking, _total in rows], rows[0].total if rows else 0)


#: The bookings a host's calendar shows: all but those expired unpaid (canceled ones too: the host sees
#: cancellations and may give back a kept fee).
CALENDAR_STATUSES = (
    BookingStatus.HELD,
    BookingStatus.CONFIRMED,
    BookingStatus.CHECKED_IN,
    BookingStatus.COMPLETED,
    BookingStatus.NO_SHOW,
    BookingStatus.CANCELED,
)


def _on_calendar(start: date, end: date, statuses=CALENDAR_STATUSES) -> tuple:
    """What a host's calendar shows of the Beijing days [start, end): a booking whose nights (a stay) or day
    (a session, a day's tickets) touch them, in one of `statuses`."""
    return (Booking.check_in_date < end, Booking.check_out_date > start, Booking.status.in_(list(statuses)))


def listing_bookings(listing: Listing, start: date, end: date) -> list[Booking]:
    return list(
        db.session.scalars(
            sa.select(Booking)
            .where(Booking.listing_id == listing.id, *_on_calendar(start, end))
            .order_by(Booking.check_in_date, Booking.id)
        )
    )


@dataclass(frozen=True)
class HostBookings:
    """One page of a host's bookings (`host_bookings`)."""

    bookings: list[Booking]
    #: How many there are in all, over every page.
    total: int


def host_bookings(
    host, start: date, end: date, *, status: str | None = None, offset: int = 0, limit: int = 20
) -> HostBookings:
    """The bookings of all the host's listings that its calendars show over the Beijing days [start, end) —
    a stay whose nights touch them, a session's or ticket's day among them (`listing_bookings`' rule, one
    listing at a time) —, only those of `status` when given (one of CALENDAR_STATUSES), by arrival day, then
    as booked: `limit` of them from `offset`, with their listing, room type, guest and session and how many
    there are in all, in one statement."""
    statuses = [status] if status is not None else CALENDAR_STATUSES
    total = sa.func.count().over().label("total")
    query = (
        sa.select(Booking, total)
        .join(Listing, Listing.id == Booking.listing_id)
        .where(Listing.host_id == host.id, *_on_calendar(start, end, statuses))
        .order_by(Booking.check_in_date, Booking.id)
        .offset(offset)
        .limit(limit)
        .options(
            contains_eager(Booking.listing),
            joinedload(Booking.unit_type),
            joinedload(Booking.user),
            joinedload(Booking.session),
        )
    )
    rows = db.session.execute(query).all()
    if not rows and offset:  # a page past the last: its total still
        return HostBookings([], host_bookings(host, start, end, status=status, limit=1).total)
    return HostBookings([booking for booking, _total in rows], rows[0].total if rows else 0)


def check_closable(listing: Listing, days: list[date], *, now: datetime) -> None:
    """Refuse closing these dates: a past date (422 `close_past_date`), or a date a booking holds (409
    `dates_booked`, naming them, which asks to cancel them first; `dates_checked_in` when every one of them is
    a guest already staying, who is not to be canceled). `close_dates` asks it under the unit types' locks; a page may ask it
    first, so that its confirmation step is not shown for a closure that would be refused."""
    today = local_date(now)
    if any(d < today for d in days):
        raise ValidationError("close_past_date", fields={"closed_date": "in the past"})
    if not days:
        return
    booked = bookings_on_days(listing, days, now=now)
    if booked:
        listed = "、".join(bracketed(b.code, f"{b.check_in_date:%m-%d}–{b.check_out_date:%m-%d}") for b in booked[:10])
        if len(booked) > 10:
            listed += " …"
        fields = {"closed_date": [b.code for b in booked]}
        if all(b.status == BookingStatus.CHECKED_IN for b in booked):  # guests staying: nothing to cancel
            raise Conflict("dates_checked_in", bookings=listed, fields=fields)
        raise Conflict("dates_booked", bookings=listed, fields=fields)


def closed_days(listing: Listing, days: list[date]) -> set[date]:
    """Which of these dates the listing is closed on already."""
    return set(
        db.session.scalars(
            sa.select(Closure.closed_date).where(Closure.listing_id == listing.id, Closure.closed_date.in_(days))
        )
    )


def closure_reason(text: str | None) -> str:
    """A closure's reason as it is kept, typed by the host: stripped; longer than `MAX_CLOSURE_REASON` is
    refused (422 `closure_reason_too_long`, naming the limit), never cut."""
    reason = (text or "").strip()
    if len(reason) > MAX_CLOSURE_REASON:
        raise ValidationError("closure_reason_too_long", fields={"reason": "too_long"}, max=MAX_CLOSURE_REASON)
    return reason


def close_dates(listing: Listing, days: list[date], *, reason: str = "", now: datetime) -> int:
    """Close the listing on these dates (idempotent). Past dates are refused, and a reason too long
    (`closure_reason`)."""
    reason = closure_reason(reason)
    if not days:
        return 0
    # the same locks a hold takes (unit types by id): a booking made meanwhile either sees the
    # closure, or is seen here
    for unit_type_id in sorted(ut.id for ut in listing.unit_types):
        db.session.execute(sa.select(UnitType.id).where(UnitType.id == unit_type_id).with_for_update())
    check_closable(listing, days, now=now)
    existing = closed_days(listing, days)
    added = 0
    for d in sorted(set(days) - existing):
        db.session.add(Closure(listing_id=listing.id, closed_date=d, reason=reason, created_at=now))
        added += 1
    db.session.flush()
    return added


def bookings_on_days(listing: Listing, days: list[date], *, now: datetime) -> list[Booking]:
    """Bookings that hold capacity (confirmed, checked in, or a live hold) on any of these dates."""
    wanted = set(days)
    candidates = db.session.scalars(
        sa.select(Booking)
        .where(
            Booking.listing_id == listing.id,
            occupying(now),
            Booking.check_in_date <= max(wanted),
            Booking.check_out_date > min(wanted),
        )
        .order_by(Booking.check_in_date, Booking.id)
    )
    return [b for b in candidates if any(d in wanted for d in nights(b.check_in_date, b.check_out_date))]


def reopen_date(listing: Listing, day: date) -> int:
    result = db.session.execute(sa.delete(Closure).where(Closure.listing_id == listing.id, Closure.closed_date == day))
    db.session.flush()
    return rowcount(result) or 0


# --- terms and prices ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingTerms:
    """What a host may change about a listing; its name, kind and village are the county's."""

    description: str
    included: str
    free_cancel_days: int
    cancel_fee_pct: int
    pay_on_arrival: bool
    is_published: bool


def _has_future_bookings(listing: Listing, *, now: datetime) -> bool:
    return db.session.execute(
        sa.select(
            sa.exists().where(
                Booking.listing_id == listing.id, Booking.check_in_date >= local_date(now), occupying(now)
            )
        )
    ).scalar_one()


def check_listing_texts(description: str, included: str) -> None:
    """A listing's 介绍 and 包含的服务 within their lengths (`text_too_long`)."""
    if len(description or "") > MAX_DESCRIPTION or len(included or "") > MAX_INCLUDED:
        raise ValidationError("text_too_long", fields={"description": "too_long"})


def shown_digest(*values) -> str:
    """What a page showed of stored values, as a form carries it back (`listing_terms_shown`,
    `tourism.services.place.listing_place_shown`): a digest, not the texts themselves (a 介绍 of 5,000
    characters is not sent twice)."""
    text = "\x1f".join("" if value is None else str(value) for value in values)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def listing_terms_shown(listing: Listing) -> str:
    """What a page showed of a listing's terms as its 介绍与取消政策 form carries it back
    (`update_listing_terms`'s `shown`)."""
    return shown_digest(
        listing.description,
        listing.included,
        listing.free_cancel_days,
        listing.cancel_fee_pct,
        bool(listing.pay_on_arrival),
        bool(listing.is_published),
    )


def lock_listing(listing: Listing) -> Listing:
    """The listing's row, locked and read afresh: one edit of its terms or place at a time, each checked
    against what is stored when it is written."""
    return db.session.execute(
        sa.select(Listing).where(Listing.id == listing.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def update_listing_terms(
    listing: Listing, terms: ListingTerms, *, actor, now: datetime, shown: str | None = None
) -> dict:
    """Change description, what is included, the cancellation policy, pay-on-arrival and whether
    new bookings are taken. Returns the audited changes. A listing without a photo is not opened to
    tourists (409 `listing_needs_photo`); one already open stays open.

    Cancellation reads the listing's policy when the guest cancels, so a guest must never find a
    stricter policy than the one they booked under: while the listing has bookings to come, the
    policy may only be loosened.

    `shown`: what the page the form came from showed (`listing_terms_shown`). When the terms were changed
    since (the host's other tab or phone), the form would put back what it showed: it is refused under the
    listing's lock (409 `listing_changed_since_shown`, naming the policy stored now; the page shows the rest),
    nothing changes."""
    if not isinstance(terms.free_cancel_days, int) or not 0 <= terms.free_cancel_days <= MAX_FREE_CANCEL_DAYS:
        raise ValidationError(
            "free_cancel_days_out_of_range", n=MAX_FREE_CANCEL_DAYS, fields={"free_cancel_days": "out_of_range"}
        )
    if not isinstance(terms.cancel_fee_pct, int) or not 0 <= terms.cancel_fee_pct <= 100:
        raise ValidationError("cancel_fee_out_of_range", fields={"cancel_fee_pct": "out_of_range"})
    check_listing_texts(terms.description, terms.included)
    if shown is not None:
        listing = lock_listing(listing)
        if shown != listing_terms_shown(listing):
            raise Conflict(
                "listing_changed_since_shown",
                name=listing.name,
                days=listing.free_cancel_days,
                pct=listing.cancel_fee_pct,
                fields={"description": "changed since shown"},
            )
    if terms.is_published and not listing.is_published and not listing.images:
        # a tourist chooses a stay by its photos: a listing is opened once it has one (docs/journeys.md)
        raise Conflict("listing_needs_photo", fields={"is_published": "no photo"})
    stricter = terms.free_cancel_days > listing.free_cancel_days or terms.cancel_fee_pct > listing.cancel_fee_pct
    if stricter and _has_future_bookings(listing, now=now):
        raise Conflict("policy_in_use", fields={"free_cancel_days": "stricter", "cancel_fee_pct": "stricter"})
    changes: dict = {}
    for name in ("description", "included", "free_cancel_days", "cancel_fee_pct", "pay_on_arrival", "is_published"):
        old, new = getattr(listing, name), getattr(terms, name)
        if isinstance(new, str):
            new = new.strip()
        if old != new:
            # long texts are audited as "changed", not copied into the log
            changes[name] = [old, new] if not isinstance(new, str) else "changed"
            setattr(listing, name, new)
    if changes:
        record_audit(actor=actor, action="listing.update", subject=listing, detail=changes, now=now)
    db.session.flush()
    return changes


def peak_future_use(unit_type: UnitType, listing: Listing, *, now: datetime) -> int:
    """The most this unit type is taken on any night (stays: rooms) or day (tickets: people) from
    today on, counting confirmed bookings and live holds. Experiences count places per session,
    so their `units` is not a capacity and this is 0."""
    today = local_date(now)
    if listing.kind == ListingKind.STAY:
        rows = db.session.execute(
            sa.select(Booking.check_in_date, Booking.check_out_date, Booking.units).where(
                Booking.unit_type_id == unit_type.id, Booking.check_out_date > today, occupying(now)
            )
        )
        return max(rooms_per_night(rows, today).values(), default=0)
    if listing.kind == ListingKind.TICKET:
        per_day = (
            sa.select(sa.func.sum(Booking.guests).label("people"))
            .where(Booking.unit_type_id == unit_type.id, Booking.check_in_date >= today, occupying(now))
            .group_by(Booking.check_in_date)
            .subquery()
        )
        return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(per_day.c.people), 0))) or 0)
    return 0


def check_unit_type_values(
    *,
    price_fen: int,
    weekend_price_fen: int | None,
    holiday_price_fen: int | None,
    units: int,
    max_guests: int | None,
) -> None:
    """The prices and sizes a unit type may have (a new one, or one changed)."""
    for name, value, required in (
        ("price_fen", price_fen, True),
        ("weekend_price_fen", weekend_price_fen, False),
        ("holiday_price_fen", holiday_price_fen, False),
    ):
        if value is None and not required:
            continue
        check_price_fen(value, limit=MAX_UNIT_PRICE_FEN, field=name)
    if not isinstance(units, int) or not 0 <= units <= MAX_UNITS:
        raise ValidationError("units_out_of_range", n=MAX_UNITS, fields={"units": "out_of_range"})
    if not isinstance(max_guests, int) or not 1 <= max_guests <= MAX_GUESTS_PER_UNIT:
        raise ValidationError("max_guests_out_of_range", n=MAX_GUESTS_PER_UNIT, fields={"max_guests": "out_of_range"})


def unit_type_shown(unit_type: UnitType) -> str:
    """What a page showed of a room type's prices and size, as its form carries it back (`update_unit_type`'s
    `shown`): the stored values, in one string."""
    return ":".join(
        "" if value is None else str(value)
        for value in (
            unit_type.price_fen,
            unit_type.weekend_price_fen,
            unit_type.holiday_price_fen,
            unit_type.units,
            unit_type.max_guests,
        )
    )


def update_unit_type(
    listing: Listing,
    unit_type_id: int,
    *,
    price_fen: int,
    weekend_price_fen: int | None,
    holiday_price_fen: int | None,
    units: int,
    max_guests: int,
    actor,
    now: datetime,
    shown: str | None = None,
) -> UnitType:
    """New prices apply to bookings made from now on; bookings already made keep their total.

    The unit type row is locked, as every hold locks it (tourism.services.booking), so fewer rooms
    or a smaller daily quota is checked against what is booked from today on, and no hold can slip in
    between the check and the change: a night never has more bookings than units.

    `shown`: what the page the form came from showed (`unit_type_shown`). When the room type was changed
    since (the host's other tab or phone), the form would put back the values it showed: it is refused
    (409 `unit_type_changed_since_shown`, naming the price and number stored now), nothing changes."""
    unit_type = db.session.execute(
        sa.select(UnitType)
        .where(UnitType.id == unit_type_id, UnitType.listing_id == listing.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if unit_type is None:
        raise NotFound("unit_type_not_found", fields={"unit_type_id": str(unit_type_id)})
    if shown is not None and shown != unit_type_shown(unit_type):
        raise Conflict(
            "unit_type_changed_since_shown",
            name=unit_type.name,
            price=format_yuan(unit_type.price_fen),
            units=unit_type.units,
            fields={"price_fen": "changed since shown"},
        )
    check_unit_type_values(
        price_fen=price_fen,
        weekend_price_fen=weekend_price_fen,
        holiday_price_fen=holiday_price_fen,
        units=units,
        max_guests=max_guests,
    )
    if units < unit_type.units:
        peak = peak_future_use(unit_type, listing, now=now)
        if units < peak:
            raise Conflict("units_in_use", n=peak, m=units, fields={"units": f"at least {peak}"})
    changes: dict = {}
    for name, new in (
        ("price_fen", price_fen),
        ("weekend_price_fen", weekend_price_fen),
        ("holiday_price_fen", holiday_price_fen),
        ("units", units),
        ("max_guests", max_guests),
    ):
        old = getattr(unit_type, name)
        if old != new:
            changes[name] = [old, new]
            setattr(unit_type, name, new)
    if changes:
        record_audit(actor=actor, action="unit_type.update", subject=unit_type, detail=changes, now=now)
    db.session.flush()
    return unit_type
