"""Tourism test data: listings of each kind, sessions, bookings."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

from catalog.models import BenefitLink
from shop.extensions import db
from shop.once import new_form_token
from shop.timeutil import TZ, local_date, now_utc
from tests.factories import NOW, make_user, make_village
from tourism.models import Booking, BookingStatus, Listing, ListingKind, Session, UnitType
from tourism.services.booking import BookingRequest, book_listing, check_in_booking
from tourism.services.host_cash import arrival_due_fen

_seq = itertools.count(1)


def make_listing(
    *,
    kind: str = ListingKind.STAY,
    host=None,
    village=None,
    name: str | None = None,
    units: int = 2,
    max_guests: int = 2,
    price_fen: int = 20000,
    weekend_price_fen: int | None = None,
    holiday_price_fen: int | None = None,
    free_cancel_days: int = 3,
    cancel_fee_pct: int = 50,
    pay_on_arrival: bool = False,
    households: list | None = None,
    is_published: bool = True,
) -> Listing:
    n = next(_seq)
    listing = Listing(
        kind=kind,
        slug=f"listing-{n}",
        name=name or {"stay": "罗渡农家乐", "experience": "草莓采摘", "ticket": "黄马罗渡花海原乡门票"}[kind] + str(n),
        description="介绍",
        included="早餐",
        village_id=(village or make_village()).id,
        host_id=(host or make_user(role="host")).id,
        free_cancel_days=free_cancel_days,
        cancel_fee_pct=cancel_fee_pct,
        pay_on_arrival=pay_on_arrival,
        employed_poor_members=2,
        is_published=is_published,
        created_at=NOW,
    )
    db.session.add(listing)
    db.session.flush()
    db.session.add(
        UnitType(
            listing_id=listing.id,
            name={"stay": "标准间", "experience": "采摘", "ticket": "成人票"}[kind],
            units=units,
            max_guests=max_guests,
            price_fen=price_fen,
            weekend_price_fen=weekend_price_fen,
            holiday_price_fen=holiday_price_fen,
        )
    )
    for household in households or []:
        db.session.add(BenefitLink(listing_id=listing.id, household_id=household.id, weight=1, created_at=NOW))
    db.session.flush()
    db.session.refresh(listing)
    return listing


def make_session(listing: Listing, *, day: date, hour: int = 9, capacity: int = 10) -> Session:
    starts_at = datetime.combine(day, time(hour, 0), tzinfo=TZ)
    session = Session(unit_type_id=listing.unit_types[0].id, starts_at=starts_at, session_date=day, capacity=capacity)
    db.session.add(session)
    db.session.flush()
    return session


def make_booking(
    listing: Listing,
    *,
    user=None,
    check_in: date,
    check_out: date | None = None,
    guests: int = 2,
    units: int = 1,
    status: str = BookingStatus.CONFIRMED,
    expires_at: datetime | None = None,
    confirmation_code: str = "",
    session=None,
) -> Booking:
    n = next(_seq)
    booking = Booking(
        code=f"TB{n:06d}-S-1",
        user_id=(user or make_user()).id,
        listing_id=listing.id,
        unit_type_id=listing.unit_types[0].id,
        session_id=session.id if session is not None else None,
        check_in_date=check_in,
        check_out_date=check_out or check_in + timedelta(days=1),
        guests=guests,
        units=units,
        status=status,
        total_fen=10000,
        confirmation_code=confirmation_code,
        expires_at=expires_at,
        created_at=NOW,
    )
    db.session.add(booking)
    db.session.flush()
    return booking


def arriving_today(host, **fields) -> Booking:
    """A confirmed booking of a new listing of `host`, arriving today (Beijing time): what the host's
    check-in and 标记未到店 act on. `fields` as `make_booking`'s (`user`, `confirmation_code`, …)."""
    return make_booking(make_listing(host=host), check_in=local_date(now_utc()), **fields)


def booked_to_pay_on_arrival(host, *, days_ahead: int = 2, guests: int = 2) -> Booking:
    """A one-night stay a new guest booked (through `book_listing`) to pay on arrival, `days_ahead` days
    from today, of a new two-room listing of `host`: unpaid, so the host may release it (取消)."""
    listing = make_listing(host=host, units=2, pay_on_arrival=True)
    day = local_date(now_utc()) + timedelta(days=days_ahead)
    request = BookingRequest(
        listing_id=listing.id, check_in=day, check_out=day + timedelta(days=1), guests=guests, pay_on_arrival=True
    )
    return book_listing(request, user=make_user(), now=now_utc())


def paying_on_arrival_today(
    listing: Listing, unit_type: UnitType | None = None, *, checked_in: bool = False
) -> Booking:
    """A one-night stay at `listing` (its first room type, or `unit_type`) a new guest booked to pay on
    arrival, arriving today; checked in with its cash taken (in the host's cash book) when `checked_in`."""
    today = local_date(now_utc())
    request = BookingRequest(
        listing_id=listing.id,
        unit_type_id=(unit_type or listing.unit_types[0]).id,
        check_in=today,
        check_out=today + timedelta(days=1),
        guests=2,
        pay_on_arrival=True,
    )
    booking = book_listing(request, user=make_user(), now=now_utc())
    if checked_in:
        due = arrival_due_fen(booking)
        check_in_booking(booking, booking.confirmation_code, actor=listing.host, now=now_utc(), cash_received_fen=due)
    return booking


def booking_form(check_in: date, nights: int = 1, **fields) -> dict:
    """The 预订 form of a listing's page as a browser sends it: a fresh once-token and the dates
    (`nights` after `check_in`), with `fields` (guests, units, unit_type_id, payment_method...) as given."""
    return {
        "form_token": new_form_token(),
        "checkin": check_in.isoformat(),
        "checkout": (check_in + timedelta(days=nights)).isoformat(),
        **fields,
    }
