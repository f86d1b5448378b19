"""Availability, computed from bookings (never a counter).

- Stays: nights are the half-open range [check_in_date, check_out_date). A night's availability
  is `units - SUM(units of bookings occupying the night)`; a closed date has none.
- Tickets: a day's quota is `UnitType.units` people, minus the guests booked for that day.
- Experiences: a session has `capacity` places, minus the guests booked on that session.

A booking occupies capacity while it is confirmed, checked in or completed, or held and its hold
has not expired at `now` (so capacity comes back the moment a hold expires, whether or not the
expiry job has run yet).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from orders.providers import card_payments_enabled
from shop.db import statement
from shop.extensions import db
from shop.timeutil import local_date
from tourism.models import Booking, BookingStatus, Closure, Holiday, Listing, ListingKind, Session, UnitType
from tourism.services.pricing import holidays_between, price_for_day

ACTIVE_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.COMPLETED)


def nights(check_in: date, check_out: date) -> list[date]:
    """The nights of a stay: [check_in, check_out)."""
    return [check_in + timedelta(days=i) for i in range((check_out - check_in).days)]


def rooms_per_night(stays, start: date, end: date | None = None) -> dict[date, int]:
    """The per-night count: rooms taken on each night from `start` (up to `end`, when given) by `stays`,
    rows of (check_in, check_out, units). Availability, the hold check and the host's capacity floor
    all count with this."""
    taken: dict[date, int] = defaultdict(int)
    for check_in, check_out, units in stays:
        for night in nights(max(check_in, start), check_out if end is None else min(check_out, end)):
            taken[night] += units
    return taken


def _free_rooms(
    unit_type: UnitType, taken: dict[date, int], closed: set[date], start: date, end: date
) -> dict[date, int]:
    return {
        night: 0 if night in closed else max(0, unit_type.units - taken.get(night, 0)) for night in nights(start, end)
    }


def occupying(now):
    """SQL condition: the booking takes capacity at `now` (a datetime, or a bind parameter)."""
    return sa.or_(
        Booking.status.in_([str(s) for s in ACTIVE_STATUSES]),
        sa.and_(Booking.status == BookingStatus.HELD, Booking.expires_at > now),
    )


def closed_dates(listing_id: int, start: date, end: date) -> set[date]:
    rows = db.session.scalars(
        sa.select(Closure.closed_date).where(
            Closure.listing_id == listing_id, Closure.closed_date >= start, Closure.closed_date < end
        )
    )
    return set(rows)


def _exclude(query, exclude_booking_id):
    return query.where(Booking.id != exclude_booking_id) if exclude_booking_id else query


def stay_availability(
    unit_type: UnitType, start: date, end: date, *, now: datetime, exclude_booking_id: int | None = None
) -> dict[date, int]:
    """Free units of a room type for each night in [start, end)."""
    query = sa.select(Booking.check_in_date, Booking.check_out_date, Booking.units).where(
        Booking.unit_type_id == unit_type.id,
        Booking.check_in_date < end,
        Booking.check_out_date > start,
        occupying(now),
    )
    taken = rooms_per_night(db.session.execute(_exclude(query, exclude_booking_id)), start, end)
    return _free_rooms(unit_type, taken, closed_dates(unit_type.listing_id, start, end), start, end)


@dataclass
class StayCheck:
    """What a stay hold needs to know once the unit type is locked (`stay_hold_check`)."""

    free: dict[date, int]
    holidays: set[date]
    #: The days of [start, end) the host closed (休息 on the calendar): a refusal names them, not 已订满.
    closed: set[date]
    #: Candidate confirmation codes another active booking of the listing already uses.
    taken_codes: set[str]


def _hold_check_statement(with_codes: bool, with_exclude: bool) -> sa.CompoundSelect:
    """`stay_hold_check`'s UNION ALL with bind parameters (built once per variant and process by
    `shop.db.statement`: building it per hold cost more than running it)."""
    param = sa.bindparam
    none_date, none_int, none_str = (
        sa.cast(sa.null(), sa.Date),
        sa.cast(sa.null(), sa.Integer),
        sa.cast(sa.null(), sa.String),
    )
    booked = sa.select(
        sa.literal("b").label("kind"),
        Booking.check_in_date.label("d1"),
        Booking.check_out_date.label("d2"),
        Booking.units.label("n"),
        none_str.label("code"),
    ).where(
        Booking.unit_type_id == param("unit_type_id"),
        Booking.check_in_date < param("end"),
        Booking.check_out_date > param("start"),
        occupying(param("now")),
    )
    if with_exclude:
        booked = booked.where(Booking.id != param("exclude_id"))
    parts = [
        booked,
        sa.select(sa.literal("c"), Closure.closed_date, none_date, none_int, none_str).where(
            Closure.listing_id == param("listing_id"),
            Closure.closed_date >= param("start"),
            Closure.closed_date < param("end"),
        ),
        sa.select(sa.literal("h"), Holiday.holiday_date, none_date, none_int, none_str).where(
            Holiday.holiday_date >= param("start"), Holiday.holiday_date < param("end")
        ),
    ]
    if with_codes:
        parts.append(
            sa.select(sa.literal("x"), none_date, none_date, none_int, Booking.confirmation_code).where(
                Booking.listing_id == param("listing_id"),
                Booking.confirmation_code.in_(param("codes", expanding=True)),
                Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN]),
            )
        )
    return sa.union_all(*parts)


def stay_hold_check(
    unit_type: UnitType,
    start: date,
    end: date,
    *,
    now: datetime,
    confirmation_codes: tuple[str, ...] = (),
    exclude_booking_id: int | None = None,
) -> StayCheck:
    """`stay_availability` plus the holidays of [start, end) (for the price) and which candidate
    confirmation codes are taken, in one statement (a UNION ALL tagged by kind). Read it after
    the unit type lock: the bookings and closures it sees are then final for this hold."""
    with_codes, with_exclude = bool(confirmation_codes), bool(exclude_booking_id)
    query = statement(
        ("tourism.hold_check", with_codes, with_exclude), lambda: _hold_check_statement(with_codes, with_exclude)
    )
    params = {
        "unit_type_id": unit_type.id,
        "listing_id": unit_type.listing_id,
        "start": start,
        "end": end,
        "now": now,
        "codes": list(confirmation_codes),
        "exclude_id": exclude_booking_id,
    }
    stays: list[tuple[date, date, int]] = []
    closed: set[date] = set()
    holidays: set[date] = set()
    codes: set[str] = set()
    for kind, d1, d2, n, code in db.session.execute(query, params):
        if kind == "b":
            stays.append((d1, d2, n))
        elif kind == "c":
            closed.add(d1)
        elif kind == "h":
            holidays.add(d1)
        else:
            codes.add(code)
    free = _free_rooms(unit_type, rooms_per_night(stays, start, end), closed, start, end)
    return StayCheck(free=free, holidays=holidays, closed=closed, taken_codes=codes)


def ticket_availability(
    unit_type: UnitType, start: date, end: date, *, now: datetime, exclude_booking_id: int | None = None
) -> dict[date, int]:
    """Remaining daily quota (people) for each day in [start, end)."""
    query = (
        sa.select(Booking.check_in_date, sa.func.sum(Booking.guests))
        .where(
            Booking.unit_type_id == unit_type.id,
            Booking.check_in_date >= start,
            Booking.check_in_date < end,
            occupying(now),
        )
        .group_by(Booking.check_in_date)
    )
    taken = {day: int(total) for day, total in db.session.execute(_exclude(query, exclude_booking_id))}
    return _free_quota(unit_type, taken, closed_dates(unit_type.listing_id, start, end), start, end)


def _free_quota(
    unit_type: UnitType, taken: dict[date, int], closed: set[date], start: date, end: date
) -> dict[date, int]:
    """A ticket's rule: each day of [start, end) has `units` people, less the guests booked (`taken`), none
    when closed."""
    return {day: 0 if day in closed else max(0, unit_type.units - taken.get(day, 0)) for day in nights(start, end)}


def _free_places(session: Session, taken: int, closed: set[date]) -> int:
    """A session's rule: its capacity less the places booked (`taken`), none on a closed date."""
    return 0 if session.session_date in closed else max(0, session.capacity - taken)


def places_taken(session_id, now) -> sa.Select:
    """SQL: the places of a session (`session_id`: an id, or a column such as `Session.id` to correlate)
    that bookings hold at `now` — the one count behind a session's free places, the host's 场次 list and
    the refusal to remove a booked session."""
    return sa.select(sa.func.coalesce(sa.func.sum(Booking.guests), 0)).where(
        Booking.session_id == session_id, occupying(now)
    )


def session_remaining(session: Session, *, now: datetime, exclude_booking_id: int | None = None) -> int:
    """Free places of an experience session (0 on a closed date)."""
    listing_id = db.session.execute(
        sa.select(UnitType.listing_id).where(UnitType.id == session.unit_type_id)
    ).scalar_one()
    closed = closed_dates(listing_id, session.session_date, session.session_date + timedelta(days=1))
    if closed:
        return 0
    taken = int(db.session.scalar(_exclude(places_taken(session.id, now), exclude_booking_id)) or 0)
    return _free_places(session, taken, closed)


# --- several unit types and sessions at once (the cart's quotes, the calendar, the search) --------


@dataclass
class Occupancy:
    """What the bookings and closures take of several unit types, sessions and listings over spans of
    dates, read at once (`read_occupancy`: two statements whatever the number of them) for the cart's
    booking lines, which are quoted together (`booking.CartBookings.quote_many`), a listing's calendar
    (`listing_calendar`) and the search's filter by dates (`search_listings`). Its answers are those of
    `stay_availability`, `ticket_availability` and `session_remaining` for any dates inside a span read for
    the unit type or listing (`Span`): the same rules (`_free_rooms`, `_free_quota`, `_free_places`) over
    rows read once instead of per unit type or session."""

    #: Bookings occupying the span at `now`, by unit type: (check-in, check-out, units, guests).
    bookings: dict[int, list[tuple[date, date, int, int]]] = field(default_factory=dict)
    #: Places taken by session (`places_taken`).
    session_guests: dict[int, int] = field(default_factory=dict)
    #: Closed dates of the span, by listing.
    closed: dict[int, set[date]] = field(default_factory=dict)

    def stay_free(self, unit_type: UnitType, start: date, end: date) -> dict[date, int]:
        """`stay_availability(unit_type, start, end)`."""
        stays = [(d1, d2, units) for d1, d2, units, _guests in self.bookings.get(unit_type.id, ())]
        closed = self.closed.get(unit_type.listing_id, set())
        return _free_rooms(unit_type, rooms_per_night(stays, start, end), closed, start, end)

    def ticket_free(self, unit_type: UnitType, start: date, end: date) -> dict[date, int]:
        """`ticket_availability(unit_type, start, end)`: the guests booked per day of [start, end)."""
        taken: dict[date, int] = defaultdict(int)
        for day, _d2, _units, guests in self.bookings.get(unit_type.id, ()):
            if start <= day < end:
                taken[day] += guests
        return _free_quota(unit_type, taken, self.closed.get(unit_type.listing_id, set()), start, end)

    def session_free(self, session: Session, listing_id: int) -> int:
        """`session_remaining(session)` (`listing_id`: the session's listing, whose closures count)."""
        taken = self.session_guests.get(session.id, 0)
        return _free_places(session, taken, self.closed.get(listing_id, set()))


@dataclass(frozen=True)
class Span:
    """Dates [start, end) of which `read_occupancy` reads the bookings of some unit types and the closures of
    some listings: a cart line's own dates, a calendar's month, a search's dates."""

    unit_type_ids: tuple[int, ...]
    listing_ids: tuple[int, ...]
    start: date
    end: date


def _occupancy_statements(spans: int) -> tuple[sa.Select, sa.Select]:
    """`read_occupancy`'s two statements for `spans` spans (OR of their ranges), with bind parameters
    (built once per number of spans and process: one for a calendar or a search, at most one per line
    for a cart)."""
    param = sa.bindparam
    in_spans = [
        sa.and_(
            Booking.unit_type_id.in_(param(f"unit_type_ids_{k}", expanding=True)),
            Booking.check_in_date < param(f"end_{k}"),
            Booking.check_out_date > param(f"start_{k}"),
        )
        for k in range(spans)
    ]
    bookings = sa.select(
        Booking.unit_type_id,
        Booking.session_id,
        Booking.check_in_date,
        Booking.check_out_date,
        Booking.units,
        Booking.guests,
    ).where(
        # a session's places are all its bookings, whatever their dates (`places_taken`)
        sa.or_(*in_spans, Booking.session_id.in_(param("session_ids", expanding=True))),
        occupying(param("now")),
    )
    closures = sa.select(Closure.listing_id, Closure.closed_date).where(
        sa.or_(
            sa.false(),
            *(
                sa.and_(
                    Closure.listing_id.in_(param(f"listing_ids_{k}", expanding=True)),
                    Closure.closed_date >= param(f"start_{k}"),
                    Closure.closed_date < param(f"end_{k}"),
                )
                for k in range(spans)
            ),
        )
    )
    return bookings, closures


def read_occupancy(spans: Iterable[Span], session_ids=(), *, now: datetime) -> Occupancy:
    """The bookings occupying at `now` of each span's unit types over its dates and of the sessions, and
    each span's listings' closures over its dates: one statement each, whatever the number of spans (spans
    of the same dates are read as one). Each caller reads the dates it asks about — a cart line its own,
    not the months between two lines — and asks `Occupancy` only about dates inside a span of the unit
    type or listing."""
    by_dates: dict[tuple[date, date], tuple[set[int], set[int]]] = {}
    for span in spans:
        unit_type_ids, listing_ids = by_dates.setdefault((span.start, span.end), (set(), set()))
        unit_type_ids.update(span.unit_type_ids)
        listing_ids.update(span.listing_ids)
    merged = sorted(by_dates.items())
    bookings, closures = statement(("tourism.occupancy", len(merged)), lambda: _occupancy_statements(len(merged)))
    session_ids = set(session_ids)
    params: dict[str, object] = {"session_ids": sorted(session_ids), "now": now}
    for k, ((start, end), (unit_type_ids, listing_ids)) in enumerate(merged):
        params |= {
            f"unit_type_ids_{k}": sorted(unit_type_ids),
            f"listing_ids_{k}": sorted(listing_ids),
            f"start_{k}": start,
            f"end_{k}": end,
        }
    occupancy = Occupancy()
    for unit_type_id, session_id, d1, d2, units, guests in db.session.execute(bookings, params):
        # (a row read for its session only may be of no span)
        if any(unit_type_id in ids and d1 < end and d2 > start for (start, end), (ids, _l) in merged):
            occupancy.bookings.setdefault(unit_type_id, []).append((d1, d2, units, guests))
        if session_id in session_ids:
            occupancy.session_guests[session_id] = occupancy.session_guests.get(session_id, 0) + guests
    for listing_id, day in db.session.execute(closures, params):
        occupancy.closed.setdefault(listing_id, set()).add(day)
    return occupancy


def sessions_between(listing: Listing, start: date, end: date) -> list[Session]:
    """The sessions of `listing` offered on [start, end), in order of their start."""
    return sessions_of([u.id for u in listing.unit_types], start, end)


def sessions_offered(listing: Listing, start: date, end: date, *, now: datetime) -> list[tuple[Session, int]]:
    """The sessions of `listing` on [start, end) not started at `now` and not on a day its host closed (the
    calendar says 休息 there: a session of that day is not to be chosen, as a withdrawn one is not), each
    with its free places (0 when full): the booking form's 场次 choices say 余 N / 已满, as the calendar's
    days do. Three statements whatever the number of sessions (`read_occupancy`)."""
    return sessions_offered_of([listing], start, end, now=now)[listing.id]


#: How many days ahead, from today, an experience's sessions are offered to choose: its page's 场次 box and
#: the 场次 box of its line in the cart offer the same ones (`sessions_to_choose`).
SESSIONS_OFFERED_DAYS = 60


def sessions_to_choose(
    listings: list[Listing], *, now: datetime, days: Mapping[int, Iterable[date]] | None = None
) -> dict[int, list[tuple[Session, int]]]:
    """{listing id: its sessions offered to choose now}: `sessions_offered` from today for
    SESSIONS_OFFERED_DAYS days — what an experience's booking form offers, and the cart line of one of its
    sessions (`orders.bookables`, `sessions_to_choose`). A listing without such sessions has an empty list.

    `days` ({listing id: days}) adds the sessions of a day chosen past those days (hosts add sessions
    further ahead): the day searched or tapped on the listing's page, the day of a cart line's session — so
    the box offers what was chosen instead of showing its first session as if chosen. Three statements, and
    three more for each such day."""
    today = local_date(now)
    offered = sessions_offered_of(listings, today, today + timedelta(days=SESSIONS_OFFERED_DAYS), now=now)
    for listing_id, pairs in sessions_past_offered(listings, days or {}, now=now).items():
        offered[listing_id] += pairs
    return offered


def sessions_past_offered(
    listings: list[Listing], days: Mapping[int, Iterable[date]], *, now: datetime
) -> dict[int, list[tuple[Session, int]]]:
    """{listing id: the sessions of its `days` that lie past the SESSIONS_OFFERED_DAYS `sessions_to_choose`
    offers} (`sessions_offered` of each such day: three statements a day; a day within them adds nothing and
    costs nothing — its sessions are offered already)."""
    end = local_date(now) + timedelta(days=SESSIONS_OFFERED_DAYS)
    extra: dict[int, list[tuple[Session, int]]] = {}
    for listing in listings:
        for day in sorted(set(days.get(listing.id, ()))):
            if day >= end:
                extra.setdefault(listing.id, []).extend(
                    sessions_offered(listing, day, day + timedelta(days=1), now=now)
                )
    return extra


def sessions_offered_of(
    listings: list[Listing], start: date, end: date, *, now: datetime
) -> dict[int, list[tuple[Session, int]]]:
    """`sessions_offered` of several listings (each listing's id to its list, empty when it offers none), in
    the same three statements whatever the number of listings and sessions."""
    offered: dict[int, list[tuple[Session, int]]] = {listing.id: [] for listing in listings}
    listing_of = {u.id: listing.id for listing in listings for u in listing.unit_types}
    sessions = [s for s in sessions_of(list(listing_of), start, end) if s.starts_at > now]
    if not sessions:
        return offered
    first, last = sessions[0].session_date, max(s.session_date for s in sessions)
    # the closures of those days (of every listing: one span)
    span = Span((), tuple(sorted(offered)), first, last + timedelta(days=1))
    occupancy = read_occupancy([span], [s.id for s in sessions], now=now)
    for s in sessions:
        listing_id = listing_of[s.unit_type_id]
        if s.session_date not in occupancy.closed.get(listing_id, ()):
            offered[listing_id].append((s, occupancy.session_free(s, listing_id)))
    return offered


def sessions_of(unit_type_ids, start: date, end: date) -> list[Session]:
    """The sessions of the unit types (of one listing or of several) offered on [start, end), in order of
    their start: one statement (none without unit types)."""
    ids = sorted(set(unit_type_ids))
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Session)
            .where(
                Session.unit_type_id.in_(ids),
                Session.session_date >= start,
                Session.session_date < end,
                Session.capacity > 0,  # 0: withdrawn by its host (tourism.services.sessions.remove_session)
            )
            .order_by(Session.starts_at, Session.id)
        )
    )


# --- calendar ----------------------------------------------------------------------------------


@dataclass
class UnitDay:
    unit_type_id: int
    name: str
    available: int
    price_fen: int


@dataclass
class SessionSlot:
    session_id: int
    starts_at: datetime
    capacity: int
    available: int
    price_fen: int


@dataclass
class CalendarDay:
    day: date
    is_past: bool
    is_closed: bool
    units: list[UnitDay] = field(default_factory=list)
    sessions: list[SessionSlot] = field(default_factory=list)
    #: False when the listing cannot be paid for at all now (`payment_methods`): nothing is available.
    bookable: bool = True

    @property
    def available(self) -> int:
        if self.is_past or self.is_closed or not self.bookable:
            return 0
        return sum(u.available for u in self.units) + sum(s.available for s in self.sessions)

    @property
    def min_price_fen(self) -> int | None:
        prices = [u.price_fen for u in self.units if u.available] + [s.price_fen for s in self.sessions if s.available]
        return min(prices) if prices else None


def payment_methods(listing: Listing) -> tuple[str, ...]:
    """How this listing can be paid for now: "card" when card payments are configured; "arrival"
    (at the gate, on arrival) when the host allows it, and always for tickets and experiences when
    there is no card payment (the embedded default). Empty: it cannot be booked, and nothing of it
    is shown as available."""
    card = card_payments_enabled()
    methods: tuple[str, ...] = ("card",) if card else ()
    if listing.pay_on_arrival or (not card and listing.kind in (ListingKind.TICKET, ListingKind.EXPERIENCE)):
        methods += ("arrival",)
    return methods


def listing_occupancy(listing: Listing, spans: Iterable[tuple[date, date]], *, now: datetime) -> Occupancy | None:
    """The bookings and closures of a stay's or a ticket's unit types over several spans of dates at once (a
    calendar's month and the dates tapped on it, which its page quotes: `place.quote_dates`), two statements;
    None for an experience, whose calendar reads its sessions' places itself."""
    if listing.kind == ListingKind.EXPERIENCE:
        return None
    ids = tuple(u.id for u in listing.unit_types)
    return read_occupancy([Span(ids, (listing.id,), start, end) for start, end in spans], now=now)


def listing_calendar(
    listing: Listing, start: date, end: date, *, now: datetime, occupancy: Occupancy | None = None
) -> list[CalendarDay]:
    """Per Beijing date in [start, end): availability and price of each unit type or session. A fixed
    number of statements whatever the number of unit types, sessions or days: the holidays, the sessions
    (experiences), then the bookings and the closures of [start, end) at once (`read_occupancy`; or
    `occupancy`, a stay's or ticket's read already over those dates and more: `listing_occupancy`), counted
    by the single-line rules (`Occupancy.stay_free`, `ticket_free`, `session_free`)."""
    today = local_date(now)
    holidays = holidays_between(start, end)
    experience = listing.kind == ListingKind.EXPERIENCE
    # a session that has started is no longer offered
    sessions = [s for s in sessions_between(listing, start, end) if s.starts_at > now] if experience else []
    unit_type_ids = () if experience else tuple(u.id for u in listing.unit_types)
    if occupancy is None or experience:
        occupancy = read_occupancy([Span(unit_type_ids, (listing.id,), start, end)], (s.id for s in sessions), now=now)
    closed = occupancy.closed.get(listing.id, set())
    bookable = bool(payment_methods(listing))
    days = {
        d: CalendarDay(day=d, is_past=d < today, is_closed=d in closed, bookable=bookable) for d in nights(start, end)
    }
    if experience:
        by_type = {u.id: u for u in listing.unit_types}
        for s in sessions:
            unit_type = by_type[s.unit_type_id]
            days[s.session_date].sessions.append(
                SessionSlot(
                    session_id=s.id,
                    starts_at=s.starts_at,
                    capacity=s.capacity,
                    available=occupancy.session_free(s, listing.id),
                    price_fen=price_for_day(unit_type, s.session_date, kind=listing.kind, holidays=holidays),
                )
            )
        return list(days.values())
    for unit_type in listing.unit_types:
        if listing.kind == ListingKind.STAY:
            free = occupancy.stay_free(unit_type, start, end)
        else:
            free = occupancy.ticket_free(unit_type, start, end)
        for d, cal in days.items():
            cal.units.append(
                UnitDay(
                    unit_type_id=unit_type.id,
                    name=unit_type.name,
                    available=0 if cal.is_past else free[d],
                    price_fen=price_for_day(unit_type, d, kind=listing.kind, holidays=holidays),
                )
            )
    return list(days.values())


def calendar_unit_type(listing: Listing, asked_id: int | None) -> UnitType | None:
    """Which room type (ticket type) a stay's or ticket's calendar shows when the listing has more than
    one: the one asked (the page's `unit_type_id`, the booking form's choice), else the first. None when
    there is one, or for an experience (its days show sessions): the calendar is the listing's as it is.
    Each type has its own rooms and prices, so a day's rooms left and price are read per type
    (`calendar_of_unit_type`), never summed over the types nor the cheapest of them."""
    if listing.kind == ListingKind.EXPERIENCE or len(listing.unit_types) < 2:
        return None
    return next((u for u in listing.unit_types if u.id == asked_id), listing.unit_types[0])


def calendar_of_unit_type(days: list[CalendarDay], unit_type: UnitType | None) -> list[CalendarDay]:
    """The calendar's days for one unit type only (its rooms left and its price each day); all of them
    when `unit_type` is None."""
    if unit_type is None:
        return days
    return [replace(d, units=[u for u in d.units if u.unit_type_id == unit_type.id]) for d in days]


# --- search ------------------------------------------------------------------------------------


@dataclass
class ListingFilter:
    kind: str | None = None
    village_id: int | None = None
    check_in: date | None = None
    check_out: date | None = None
    guests: int | None = None


@dataclass
class ListingResult:
    listing: Listing
    from_price_fen: int | None
    #: None when no dates were asked; else whether the party fits on those dates.
    available: bool | None
    #: Whether it can be paid for at all now (`payment_methods`).
    bookable: bool = True


def _filter_ends(f: ListingFilter, check_in: date) -> tuple[date, date]:
    """The end of a stay's nights and of the days a ticket or a session may fall on, for the filter's dates
    (`check_in`: the filter's, known to be set). The second is the later (the span `search_listings` reads)."""
    stay_end = f.check_out or check_in + timedelta(days=1)
    end = f.check_out if f.check_out and f.check_out > check_in else check_in + timedelta(days=1)
    return stay_end, end


def _fits(
    listing: Listing, f: ListingFilter, check_in: date, occupancy: Occupancy, sessions: list[Session], *, now: datetime
) -> bool:
    """Whether the party of `f` fits on its dates (`check_in`: the filter's, known to be set), counted from
    `occupancy` (read for the filter's dates) by the single-line rules; `sessions`: the listing's sessions
    on those dates (experiences)."""
    guests = f.guests or 1
    stay_end, end = _filter_ends(f, check_in)
    if listing.kind == ListingKind.STAY:
        for unit_type in listing.unit_types:
            free = occupancy.stay_free(unit_type, check_in, stay_end)
            min_free = min(free.values()) if free else 0
            if min_free > 0 and min_free * unit_type.max_guests >= guests:
                return True
        return False
    if listing.kind == ListingKind.TICKET:
        for unit_type in listing.unit_types:
            free = occupancy.ticket_free(unit_type, check_in, end)
            if any(v >= guests for v in free.values()):
                return True
        return False
    return any(s.starts_at > now and occupancy.session_free(s, listing.id) >= guests for s in sessions)


def _fitting(listings: list[Listing], f: ListingFilter, check_in: date, *, now: datetime) -> set[int]:
    """The ids of the listings where the party of `f` fits on its dates (`_fits`), with a fixed number of
    statements whatever the number of listings, unit types and sessions: the sessions of the experiences on
    those dates, then the bookings and the closures at once (`read_occupancy`)."""
    if not listings:
        return set()
    _stay_end, end = _filter_ends(f, check_in)
    experiences = [listing for listing in listings if listing.kind == ListingKind.EXPERIENCE]
    sessions = sessions_of((u.id for listing in experiences for u in listing.unit_types), check_in, end)
    by_listing: dict[int, list[Session]] = defaultdict(list)
    listing_of = {u.id: listing.id for listing in experiences for u in listing.unit_types}
    for s in sessions:
        by_listing[listing_of[s.unit_type_id]].append(s)
    counted = [listing for listing in listings if listing.kind != ListingKind.EXPERIENCE]  # by unit type
    unit_type_ids = tuple(u.id for listing in counted for u in listing.unit_types)
    span = Span(unit_type_ids, tuple(listing.id for listing in listings), check_in, end)
    occupancy = read_occupancy([span], (s.id for s in sessions if s.starts_at > now), now=now)
    return {
        listing.id for listing in listings if _fits(listing, f, check_in, occupancy, by_listing[listing.id], now=now)
    }


def search_listings(f: ListingFilter, *, now: datetime) -> list[ListingResult]:
    """Published listings matching kind and village; with dates, only those where the party fits (`_fitting`:
    one read of the bookings and closures of those dates for all the listings)."""
    query = (
        sa.select(Listing)
        .where(Listing.is_published.is_(True))
        .options(
            selectinload(Listing.unit_types),
            selectinload(Listing.village),
            selectinload(Listing.images),
            selectinload(Listing.host),  # the API's list names each listing's host
        )
        .order_by(Listing.id)
    )
    if f.kind:
        query = query.where(Listing.kind == f.kind)
    if f.village_id:
        query = query.where(Listing.village_id == f.village_id)
    candidates = []
    for listing in db.session.scalars(query):
        prices = [
            u.price_fen
            for u in listing.unit_types
            if not f.guests or listing.kind != ListingKind.STAY or u.max_guests * u.units >= f.guests
        ]
        if (
            f.guests
            and listing.kind != ListingKind.STAY
            and not any(u.max_guests >= f.guests for u in listing.unit_types)
        ):
            continue
        if f.guests and listing.kind == ListingKind.STAY and not prices:
            continue
        candidates.append((listing, prices, bool(payment_methods(listing))))
    fitting: set[int] = set()
    if f.check_in is not None:
        fitting = _fitting([listing for listing, _prices, bookable in candidates if bookable], f, f.check_in, now=now)
    results = []
    for listing, prices, bookable in candidates:
        available = None
        if f.check_in is not None:
            available = listing.id in fitting  # (never when it cannot be paid for: not counted)
            if not available:
                continue
        results.append(
            ListingResult(
                listing=listing, from_price_fen=min(prices) if prices else None, available=available, bookable=bookable
            )
        )
    return results


#: Why a search found nothing (`why_nothing_found`), which its page says in words of its own.
NOTHING_FOR_PARTY = "party"  # the same search for fewer people finds some: too many people (on those dates)
NOTHING_ON_DATES = "dates"  # the party fits on other dates: those dates are full (or closed)
NOTHING_AT_ALL = "nothing"  # nothing of the kind (in the village), whatever the dates and the party


def why_nothing_found(f: ListingFilter, *, now: datetime) -> str:
    """Why `search_listings(f)` found nothing, decided from the query by searching again without what may be
    the cause: `NOTHING_FOR_PARTY` when the party is (some listing fits fewer people on those dates, or fits
    them on other dates only when fewer come either), `NOTHING_ON_DATES` when only the dates are (the party
    fits on other dates), else `NOTHING_AT_ALL`. Called only for an empty list: a search or two more then."""
    party = f.guests is not None and f.guests > 1
    if party and search_listings(replace(f, guests=None), now=now):
        return NOTHING_FOR_PARTY
    if f.check_in is not None:
        undated = replace(f, check_in=None, check_out=None)
        if search_listings(undated, now=now):
            return NOTHING_ON_DATES
        if party and search_listings(replace(undated, guests=None), now=now):
            return NOTHING_FOR_PARTY
    return NOTHING_AT_ALL
