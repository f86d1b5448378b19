"""The listing page's calendar and the search's availability filter read the bookings and closures once
(`availability.read_occupancy`), whatever the number of unit types, sessions, listings or days: a fixed
number of statements, counted by the single-line functions' own rules.

Seen before (SQLite and PostgreSQL alike), one unit type or session → three unit types or five sessions,
dates tapped: the stay and ticket pages 12 → 18 statements, the experience page 15 → 27; the search with
dates, one listing of one unit type or session, then three more of three unit types or five sessions: /stays and /tickets 9 → 15, /experiences 11 → 23;
`GET /api/v1/listings/{id}/availability` 6 → 10, `GET /api/v1/listings` (a room type → three, two full)
8 → 12. With `read_occupancy`: the stay and ticket pages 11, the experience page 13 (15 once its booking form's 场次
say their places left, `sessions_offered`), /stays and /tickets 9,
/experiences 10, the availability API 5, the list API 8 — for one as for several."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from shop.extensions import db as _db
from shop.timeutil import local_date, now_utc
from tests.factories import make_household, make_village
from tests.sql_count import count_statements
from tests.tourism.factories import make_booking, make_listing, make_session
from tourism.models import BookingStatus, Closure, Listing, ListingKind, UnitType
from tourism.services.availability import (
    ListingFilter,
    listing_calendar,
    search_listings,
    session_remaining,
    stay_availability,
    ticket_availability,
)

# card payments configured: every listing can be paid for
pytestmark = pytest.mark.usefixtures("fake_stripe")


def _next_month() -> date:
    """The first day of next month (Beijing): every day of it is still to come."""
    today = local_date(now_utc())
    return (today.replace(day=28) + timedelta(days=4)).replace(day=1)


def _with_unit_types(listing, count: int, **unit_type):
    """`listing` with `count` unit types in all (the factory makes one), each with `unit_type`'s columns."""
    for n in range(1, count):
        columns = {"units": 2, "max_guests": 3, "price_fen": 15000 + n, **unit_type}
        _db.session.add(UnitType(listing_id=listing.id, name=f"房型{n}", **columns))
    _db.session.flush()
    _db.session.refresh(listing)
    return listing


def _book(listing, unit_type, check_in: date, nights: int = 1, **booking):
    """A booking of `unit_type` (the factory books a listing's first)."""
    made = make_booking(listing, check_in=check_in, check_out=check_in + timedelta(days=nights), **booking)
    made.unit_type_id = unit_type.id
    _db.session.flush()
    return made


def _with_sessions(listing, count: int):
    """`listing` (an experience) with `count` sessions on days of next month, each with a booking."""
    first = _next_month()
    for n in range(count):
        session = make_session(listing, day=first + timedelta(days=2 + 3 * n), capacity=6)
        make_booking(listing, check_in=session.session_date, guests=2, session=session)
    return listing


def _listing(kind: str, count: int):
    """A listing of `kind` with `count` unit types (stays, tickets) or sessions (experiences), each booked."""
    if kind == ListingKind.EXPERIENCE:
        return _with_sessions(make_listing(kind=kind, max_guests=6), count)
    listing = _with_unit_types(make_listing(kind=kind, units=4, max_guests=3), count, units=4)
    for unit_type in listing.unit_types:
        _book(listing, unit_type, _next_month() + timedelta(days=2), 2)
    return listing


def _statements(client, url: str) -> list[str]:
    client.get(url)  # warm-up: first-use queries
    _db.session.expire_all()
    with count_statements() as statements:
        res = client.get(url)
    assert res.status_code == 200, res.get_data(as_text=True)[:500]
    return statements


def _page(listing) -> str:
    first = _next_month()
    tapped = f"checkin={first + timedelta(days=2)}&checkout={first + timedelta(days=4)}"
    return f"/listings/{listing.id}-{listing.slug}?month={first:%Y-%m}&{tapped}"


@pytest.mark.parametrize("kind", [ListingKind.STAY, ListingKind.TICKET, ListingKind.EXPERIENCE])
def test_the_listing_page_reads_its_calendar_in_a_fixed_number_of_statements(client, db, kind):
    """A month of a listing with one unit type (or session) and with three (or five), days tapped: the
    page sends as many statements — the holidays, the sessions, the bookings and the closures read once
    for the month, and the tapped dates' totals priced with one read of their holidays."""
    one = _statements(client, _page(_listing(kind, 1)))
    several = _statements(client, _page(_listing(kind, 5 if kind == ListingKind.EXPERIENCE else 3)))
    assert len(several) == len(one), "\n\n".join(several)
    # an experience's booking form reads its 场次 choices' places over their own 60 days, once more
    # (`availability.sessions_offered`): still once whatever the number of sessions
    reads = 2 if kind == ListingKind.EXPERIENCE else 1
    assert len([s for s in several if "FROM listing_closures" in s]) == reads


def test_the_availability_api_reads_its_days_in_a_fixed_number_of_statements(client, db):
    first = _next_month()
    span = f"from={first}&to={first + timedelta(days=60)}"
    one, several = _listing(ListingKind.STAY, 1), _listing(ListingKind.STAY, 3)
    counts = [
        len(_statements(client, f"/api/v1/listings/{listing.id}/availability?{span}")) for listing in (one, several)
    ]
    assert counts[0] == counts[1]


def _search(kind: str) -> str:
    first = _next_month()
    page = {"stay": "/stays", "ticket": "/tickets", "experience": "/experiences"}[kind]
    return f"{page}?checkin={first + timedelta(days=2)}&checkout={first + timedelta(days=3)}&guests=2"


@pytest.mark.parametrize("kind", [ListingKind.STAY, ListingKind.TICKET, ListingKind.EXPERIENCE])
def test_the_search_with_dates_filters_in_a_fixed_number_of_statements(client, db, kind):
    """One listing of one unit type (or session), then three more of three (or five): the filtered list
    sends as many statements — every listing's party checked against one read of the bookings and the
    closures of the dates (and one of the sessions) — and lists them all."""
    listing = _listing(kind, 1)
    one = _statements(client, _search(kind))
    more = [_listing(kind, 5 if kind == ListingKind.EXPERIENCE else 3) for _n in range(3)]
    several = _statements(client, _search(kind))
    assert len(several) == len(one), "\n\n".join(several)
    html = client.get(_search(kind)).get_data(as_text=True)
    for found in [listing, *more]:
        assert found.name in html


def test_the_listings_api_with_dates_filters_in_a_fixed_number_of_statements(client, db):
    """A stay of one room type, then one of three whose first two are full on the dates (each room type
    is looked at): the API's filtered list sends as many statements."""
    first = _next_month()
    dates = f"kind=stay&checkin={first + timedelta(days=2)}&checkout={first + timedelta(days=4)}"
    counts = []
    for listing in (_listing(ListingKind.STAY, 1), _listing(ListingKind.STAY, 3)):
        for unit_type in listing.unit_types[:-1]:
            _book(listing, unit_type, first + timedelta(days=2), 2, units=3)  # full: its 4 rooms booked
        statements = _statements(client, f"/api/v1/listings?{dates}&village={listing.village_id}")
        assert [
            item["id"] for item in client.get(f"/api/v1/listings?{dates}&village={listing.village_id}").json["items"]
        ] == [listing.id]
        counts.append(len(statements))
    assert counts[0] == counts[1]


# --- the same answers as each unit type's and session's own reads ---------------------------------


def _day(n: int) -> date:
    return date(2026, 12, 1) + timedelta(days=n)


def _stays_and_tickets(now):
    """A stay of three room types and a ticket of two, with bookings that do and do not occupy and a
    closure each: what each unit type's own read (`stay_availability`, `ticket_availability`) says
    differs by day and by unit type."""
    stay = _with_unit_types(make_listing(units=1, max_guests=2), 3, units=3, max_guests=3)
    stay.unit_types[2].units, stay.unit_types[2].max_guests = 1, 2
    big = stay.unit_types[1]  # 3 rooms of 3 guests: the only one for a party of more than 2
    _book(stay, big, _day(4), 2)
    _book(stay, big, _day(6))  # same-day turnover: the night of the 6th is the first booking's checkout
    _book(stay, big, _day(5), 3, status=BookingStatus.HELD, expires_at=now + timedelta(minutes=5))
    _book(stay, big, _day(5), 3, status=BookingStatus.HELD, expires_at=now)  # expired: occupies nothing
    _book(stay, big, _day(9), status=BookingStatus.CANCELED)
    ticket = _with_unit_types(make_listing(kind=ListingKind.TICKET, units=3, max_guests=5), 2, units=10)
    for day, guests in [(_day(4), 7), (_day(5), 10), (_day(4), 2)]:
        _book(ticket, ticket.unit_types[1], day, guests=guests)
    for listing, day in [(stay, _day(7)), (ticket, _day(8))]:
        _db.session.add(Closure(listing_id=listing.id, closed_date=day, reason="", created_at=now))
    _db.session.flush()
    return stay, ticket


def test_the_calendar_and_the_search_say_what_each_unit_types_and_sessions_own_reads_say(db, now):
    """The calendar's free rooms, tickets and places of each day are those of `stay_availability`,
    `ticket_availability` and `session_remaining`, and the search's answer for a party and dates is
    theirs (same-day turnover, expired holds, closures)."""
    stay, ticket = _stays_and_tickets(now)
    experience = make_listing(kind=ListingKind.EXPERIENCE, max_guests=6)
    sessions = [make_session(experience, day=_day(n), capacity=6) for n in (3, 4, 8)]
    make_booking(experience, check_in=_day(3), guests=5, session=sessions[0])
    _db.session.add(Closure(listing_id=experience.id, closed_date=_day(4), reason="", created_at=now))
    _db.session.flush()
    start, end = _day(0), _day(12)
    for listing, own in [(stay, stay_availability), (ticket, ticket_availability)]:
        days = listing_calendar(listing, start, end, now=now)
        for unit_type in listing.unit_types:
            free = own(unit_type, start, end, now=now)
            assert [u.available for d in days for u in d.units if u.unit_type_id == unit_type.id] == list(free.values())
    assert [u.available for u in listing_calendar(stay, _day(5), _day(8), now=now)[0].units] == [1, 1, 1]
    slots = {s.session_id: s.available for d in listing_calendar(experience, start, end, now=now) for s in d.sessions}
    assert (
        slots
        == {s.id: session_remaining(s, now=now) for s in sessions}
        == {
            sessions[0].id: 1,
            sessions[1].id: 0,
            sessions[2].id: 6,
        }
    )
    listings = {"stay": stay, "ticket": ticket, "experience": experience}
    for kind, check_in, nights, guests, fits in [
        ("stay", _day(4), 1, 6, True),  # two of the big type's rooms free
        ("stay", _day(4), 2, 6, False),  # one on the 5th (a booking and a live hold)
        ("stay", _day(5), 1, 3, True),  # the expired hold takes nothing
        ("stay", _day(6), 1, 3, True),  # the turnover night
        ("stay", _day(6), 1, 4, False),
        ("stay", _day(7), 1, 1, False),  # closed
        ("ticket", _day(4), 1, 3, True),  # the first ticket type's 3
        ("ticket", _day(4), 1, 5, False),
        ("ticket", _day(5), 1, 4, False),
        ("ticket", _day(6), 1, 5, True),
        ("ticket", _day(8), 1, 1, False),  # closed
        ("experience", _day(3), 1, 2, False),  # one place left
        ("experience", _day(3), 1, 1, True),
        ("experience", _day(4), 1, 1, False),  # closed
        ("experience", _day(3), 6, 6, True),  # the session of the 8th
    ]:
        f = ListingFilter(kind=kind, check_in=check_in, check_out=check_in + timedelta(days=nights), guests=guests)
        found = listings[kind].id in [r.listing.id for r in search_listings(f, now=now)]
        assert found == fits, (kind, check_in, nights, guests)


def test_the_listings_api_names_each_listings_host_and_households_in_a_fixed_number_of_statements(client, db):
    """The list reads the hosts and the households linked for the whole page (`households_linked`, the host
    loaded with the listings), not per listing: one listing of a village, then four, the same statements,
    and each item says its own host and count."""
    village = make_village()
    counts = []
    linked: dict[int, int] = {}
    for n in (1, 3):
        for _ in range(n):
            households = [make_household(village=village) for _ in range(len(linked) % 3)]
            listing = make_listing(village=village, households=households)
            linked[listing.id] = len(households)
        statements = _statements(client, f"/api/v1/listings?village={village.id}")
        counts.append(len(statements))
    assert counts[0] == counts[1]
    items = client.get(f"/api/v1/listings?village={village.id}").json["items"]
    assert {item["id"]: item["households_linked"] for item in items} == linked
    hosts = {i: _db.session.get(Listing, i).host.name or "" for i in linked}
    assert {item["id"]: item["host"]["name"] for item in items} == hosts
