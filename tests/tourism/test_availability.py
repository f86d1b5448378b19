from datetime import date, datetime, timedelta, timezone

import pytest

from tests.tourism.factories import make_booking, make_listing, make_session
from tourism.models import BookingStatus, Closure, Holiday, ListingKind
from tourism.services.availability import (
    ListingFilter,
    Span,
    listing_calendar,
    nights,
    read_occupancy,
    search_listings,
    session_remaining,
    stay_availability,
    ticket_availability,
)
from tourism.services.pricing import stay_total_fen

# card payments configured: every listing can be paid for (see test_payment_methods for without)
pytestmark = pytest.mark.usefixtures("fake_stripe")

D = date(2026, 12, 10)


def test_nights_are_half_open():
    assert nights(D, D + timedelta(days=2)) == [D, D + timedelta(days=1)]
    assert nights(D, D) == []


def test_same_day_turnover_leaves_the_checkout_night_free(db, now):
    listing = make_listing(units=1)
    make_booking(listing, check_in=D, check_out=D + timedelta(days=2))
    free = stay_availability(listing.unit_types[0], D, D + timedelta(days=4), now=now)
    assert free == {D: 0, D + timedelta(days=1): 0, D + timedelta(days=2): 1, D + timedelta(days=3): 1}


def test_unexpired_holds_count_and_expired_holds_do_not(db, now):
    listing = make_listing(units=3)
    make_booking(listing, check_in=D, status=BookingStatus.HELD, expires_at=now + timedelta(minutes=1))
    make_booking(listing, check_in=D, status=BookingStatus.HELD, expires_at=now)
    make_booking(listing, check_in=D, status=BookingStatus.CANCELED)
    make_booking(listing, check_in=D, status=BookingStatus.CHECKED_IN, units=1)
    assert stay_availability(listing.unit_types[0], D, D + timedelta(days=1), now=now) == {D: 1}


def test_closed_dates_have_no_availability(db, now):
    listing = make_listing(units=3)
    db.session.add(Closure(listing_id=listing.id, closed_date=D, created_at=now))
    db.session.flush()
    assert stay_availability(listing.unit_types[0], D, D + timedelta(days=2), now=now) == {
        D: 0,
        D + timedelta(days=1): 3,
    }


def test_session_remaining_subtracts_guests(db, now):
    listing = make_listing(kind="experience", max_guests=6)
    session = make_session(listing, day=D, capacity=10)
    make_booking(listing, check_in=D, guests=4, session=session)
    make_booking(listing, check_in=D, guests=3, session=session, status=BookingStatus.EXPIRED)
    assert session_remaining(session, now=now) == 6


def day(n: int) -> date:
    """D and the days after it."""
    return D + timedelta(days=n)


def test_the_occupancy_of_several_lines_read_at_once_says_what_each_lines_own_reads_say(db, now):
    """The bookings and the closures of several unit types, sessions and listings read at once over one span
    of dates (`read_occupancy`): what it says of each stay's nights, ticket day and session, for any dates
    inside the span, is what `stay_availability`, `ticket_availability` and `session_remaining` say."""
    stay = make_listing(units=3)
    ticket = make_listing(kind=ListingKind.TICKET, units=10, max_guests=5)
    experience = make_listing(kind=ListingKind.EXPERIENCE, max_guests=10)
    session = make_session(experience, day=day(3), capacity=6)
    make_booking(stay, check_in=day(-2), check_out=day(1))  # begins before the span
    make_booking(
        stay,
        check_in=day(1),
        check_out=day(3),
        units=2,
        status=BookingStatus.HELD,
        expires_at=now + timedelta(minutes=5),
    )
    make_booking(stay, check_in=day(1), check_out=day(2), status=BookingStatus.HELD, expires_at=now)  # lapsed
    make_booking(stay, check_in=day(2), check_out=day(4), status=BookingStatus.CANCELED)
    make_booking(ticket, check_in=day(1), guests=3)
    make_booking(ticket, check_in=day(1), guests=2, status=BookingStatus.CHECKED_IN)
    make_booking(ticket, check_in=day(2), guests=4, status=BookingStatus.CANCELED)
    make_booking(experience, check_in=day(3), guests=4, session=session)
    for listing, closed in ((stay, day(4)), (ticket, day(2)), (ticket, day(9))):
        db.session.add(Closure(listing_id=listing.id, closed_date=closed, reason="", created_at=now))
    db.session.flush()
    stay_type, ticket_type = stay.unit_types[0], ticket.unit_types[0]
    occupancy = read_occupancy(
        [Span((stay_type.id, ticket_type.id, session.unit_type_id), (stay.id, ticket.id, experience.id), D, day(6))],
        [session.id],
        now=now,
    )
    for start, end in ((D, day(6)), (day(1), day(3)), (day(4), day(5))):
        assert occupancy.stay_free(stay_type, start, end) == stay_availability(stay_type, start, end, now=now)
        assert occupancy.ticket_free(ticket_type, start, end) == ticket_availability(ticket_type, start, end, now=now)
    assert occupancy.stay_free(stay_type, D, day(5)) == {D: 2, day(1): 1, day(2): 1, day(3): 3, day(4): 0}
    assert occupancy.ticket_free(ticket_type, day(1), day(3)) == {day(1): 5, day(2): 0}
    assert occupancy.session_free(session, experience.id) == session_remaining(session, now=now) == 2
    db.session.add(Closure(listing_id=experience.id, closed_date=day(3), reason="", created_at=now))
    db.session.flush()
    closed = read_occupancy([Span((session.unit_type_id,), (experience.id,), day(3), day(4))], [session.id], now=now)
    assert closed.session_free(session, experience.id) == session_remaining(session, now=now) == 0


def test_each_lines_own_dates_are_read_not_the_months_between(db, now):
    """Two stays of one room type two months apart and a ticket day between them, read as the cart reads
    its lines (a `Span` per line): each line's answer is its own read's, and the bookings and closures of
    the dates between the lines are not read, nor a listing's on another line's dates."""
    stay = make_listing(units=2)
    ticket = make_listing(kind=ListingKind.TICKET, units=10, max_guests=5)
    stay_type, ticket_type = stay.unit_types[0], ticket.unit_types[0]
    make_booking(stay, check_in=day(0), check_out=day(2))
    make_booking(stay, check_in=day(30), check_out=day(32))  # between the stays
    make_booking(stay, check_in=day(59), check_out=day(61))
    make_booking(ticket, check_in=day(30), guests=4)
    make_booking(ticket, check_in=day(31), guests=4)  # not the ticket's day
    for listing, closed in ((stay, day(30)), (stay, day(61)), (ticket, day(1))):
        db.session.add(Closure(listing_id=listing.id, closed_date=closed, reason="", created_at=now))
    db.session.flush()
    first, second = (
        Span((stay_type.id,), (stay.id,), start, end) for start, end in ((day(0), day(3)), (day(60), day(62)))
    )
    visit = Span((ticket_type.id,), (ticket.id,), day(30), day(31))
    occupancy = read_occupancy([first, second, visit], (), now=now)
    for span in (first, second):
        assert occupancy.stay_free(stay_type, span.start, span.end) == stay_availability(
            stay_type, span.start, span.end, now=now
        )
    assert occupancy.stay_free(stay_type, day(60), day(62)) == {day(60): 1, day(61): 0}
    assert occupancy.ticket_free(ticket_type, day(30), day(31)) == {day(30): 6}
    assert sorted(d1 for d1, _d2, _units, _guests in occupancy.bookings[stay_type.id]) == [day(0), day(59)]
    assert occupancy.closed == {stay.id: {day(61)}}  # the stay's 30th, the ticket's 1st: other lines' dates


def test_stay_price_uses_weekend_and_holiday_prices(db):
    listing = make_listing(price_fen=10000, weekend_price_fen=15000, holiday_price_fen=30000)
    db.session.add(Holiday(holiday_date=date(2027, 1, 1), name="元旦"))
    db.session.flush()
    # Thu 2026-12-31 (weekday), Fri 2027-01-01 (holiday), Sat 2027-01-02 (weekend night)
    total = stay_total_fen(listing.unit_types[0], date(2026, 12, 31), date(2027, 1, 3), units=2)
    assert total == (10000 + 30000 + 15000) * 2


def test_calendar_marks_past_days_by_beijing_date(db):
    listing = make_listing(units=1)
    late_evening = datetime(2026, 11, 28, 15, 30, tzinfo=timezone.utc)  # 23:30 in Beijing on the 28th
    days = listing_calendar(listing, date(2026, 11, 27), date(2026, 11, 30), now=late_evening)
    assert [(d.day.day, d.is_past, d.available) for d in days] == [(27, True, 0), (28, False, 1), (29, False, 1)]
    after_midnight = datetime(2026, 11, 28, 16, 30, tzinfo=timezone.utc)  # 00:30 on the 29th
    days = listing_calendar(listing, date(2026, 11, 28), date(2026, 11, 30), now=after_midnight)
    assert [(d.day.day, d.is_past) for d in days] == [(28, True), (29, False)]


def test_search_filters_by_kind_dates_and_party(db, now):
    full = make_listing(units=1, max_guests=2)
    make_booking(full, check_in=D)
    free = make_listing(units=1, max_guests=4)
    make_listing(kind="ticket")
    results = search_listings(
        ListingFilter(kind="stay", check_in=D, check_out=D + timedelta(days=1), guests=2), now=now
    )
    ids = [r.listing.id for r in results]
    assert free.id in ids and full.id not in ids
    results = search_listings(ListingFilter(kind="stay", guests=3), now=now)
    assert free.id in [r.listing.id for r in results] and full.id not in [r.listing.id for r in results]
