"""The host's desk (工作台) lists, under today's arrivals, the host's bookings still confirmed whose arrival day
has passed (待处理：到店日已过): the guest was neither checked in nor marked a no-show, and nothing else ever
ends such a booking — a paid stay never completes (no household credited), a pay-on-arrival order waits for
cash, the guest's 我的订单 shows it under 待使用. Each row offers what the rules allow now, asking the services'
own predicates (`check_in_allowed` while the stay is on, `no_show_allowed`): 标记未到店 there works and the
row goes. Checked-in, completed, canceled and no-show bookings and another host's never appear; today's
arrivals stay as they were; the list is read in one statement whatever its length, the oldest first, cut
at `OVERDUE_SHOWN` with the total said (`tourism.services.host.overdue_arrivals`)."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from ledger.models import IncomeEntry
from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.factories import make_household, make_user
from tests.sql_count import page_statements
from tests.tourism.factories import make_booking, make_listing, make_session
from tourism.models import Booking, BookingStatus, HostCashEntry, ListingKind
from tourism.services.booking import LATE_CHECK_IN_DAYS, BookingRequest, book_listing
from tourism.services.host import OVERDUE_SHOWN

HEADING = "待处理：到店日已过"


def _sections(html: str) -> tuple[str, str]:
    """(today's arrivals, the overdue list: "" when the desk shows none) of the desk's page."""
    today = html[html.index("今日到店") :].split("</section>", 1)[0]
    overdue = html[html.index(HEADING) :].split("</section>", 1)[0] if HEADING in html else ""
    return today, overdue


def _row(section: str, code: str) -> str:
    return section[section.index(code) :].split("</tr>", 1)[0]


def _desk(client) -> tuple[str, str]:
    res = client.get("/host/")
    assert res.status_code == 200
    return _sections(res.get_data(as_text=True))


def test_a_booking_whose_arrival_day_passed_waits_on_the_desk_until_marked_a_no_show(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host)
    today = local_date(now_utc())
    yesterday = make_booking(listing, check_in=today - timedelta(days=1), check_out=today, guests=3)
    arriving = make_booking(listing, check_in=today)
    commit()
    auth.login(host)

    arrivals, overdue = _desk(client)
    row = _row(overdue, yesterday.code)
    assert listing.name in row and listing.unit_types[0].name in row and yesterday.user.name in row
    assert f"{yesterday.check_in_date.isoformat()} – {today.isoformat()}" in row and ">3<" in row
    assert f"/host/bookings/{yesterday.code}/no-show" in row and "标记未到店" in row
    assert "办理入住" not in row and "补登入住" in row  # a one-night stay that ended today: recorded after it
    assert "（1）" in overdue.split("</h2>", 1)[0]
    # today's arrivals as they were: today's guest there, yesterday's not
    assert arriving.code in arrivals and yesterday.code not in arrivals and arriving.code not in overdue

    res = client.post(f"/host/bookings/{yesterday.code}/no-show", data={"back": "home", "confirm": "1"})
    assert res.status_code == 302 and res.headers["Location"].endswith("/host/")
    db.session.expire_all()
    assert db.session.get(Booking, yesterday.id).status == BookingStatus.NO_SHOW
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert f"已标记未到店：{yesterday.code}" in page
    arrivals, overdue = _sections(page)
    assert overdue == "" and yesterday.code not in arrivals and arriving.code in arrivals


def test_a_guest_still_in_the_stay_may_be_checked_in_late_with_the_code(client, db, auth):
    """Arrived yesterday for three nights, never checked in: the row offers 办理入住 (the code typed in the form
    above: `find_arrival_by_code` finds a stay that is on) besides 标记未到店; checked in, it leaves the list."""
    host = make_user(role="host")
    listing = make_listing(host=host)
    today = local_date(now_utc())
    late = make_booking(
        listing, check_in=today - timedelta(days=1), check_out=today + timedelta(days=2), confirmation_code="604218"
    )
    experience = make_listing(kind=ListingKind.EXPERIENCE, host=host)
    session = make_session(experience, day=today - timedelta(days=2), hour=14)
    missed = make_booking(experience, check_in=session.session_date, session=session)
    commit()
    auth.login(host)

    _, overdue = _desk(client)
    row = _row(overdue, late.code)
    assert 'href="#check-in"' in row and "办理入住" in row and "标记未到店" in row
    session_row = _row(overdue, missed.code)
    assert f"{session.session_date.isoformat()} 14:00" in session_row
    assert "办理入住" not in session_row and "补登入住" in session_row and "标记未到店" in session_row  # its day over
    assert overdue.index(missed.code) < overdue.index(late.code)  # the oldest first

    res = client.post("/host/check-in", data={"confirmation_code": "604218"})
    assert res.status_code == 302, res.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, late.id).status == BookingStatus.CHECKED_IN
    _, overdue = _desk(client)
    assert late.code not in overdue and missed.code in overdue


def test_the_cash_a_late_pay_on_arrival_guest_owes_is_said(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, price_fen=15000, pay_on_arrival=True)
    yesterday = local_date(now_utc()) - timedelta(days=1)
    request = BookingRequest(
        listing_id=listing.id,
        check_in=yesterday,
        check_out=yesterday + timedelta(days=2),
        guests=2,
        pay_on_arrival=True,
    )
    booking = book_listing(request, user=make_user(), now=now_utc() - timedelta(days=1))
    commit()
    auth.login(host)
    _, overdue = _desk(client)
    assert booking.status == BookingStatus.CONFIRMED
    assert f"¥{booking.total_fen // 100}.00" in _row(overdue, booking.code)


def test_only_the_hosts_own_bookings_still_confirmed_are_listed(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, units=10)
    past = local_date(now_utc()) - timedelta(days=3)
    waiting = make_booking(listing, check_in=past)
    done = [
        make_booking(listing, check_in=past, status=status)
        for status in (
            BookingStatus.CHECKED_IN,
            BookingStatus.COMPLETED,
            BookingStatus.CANCELED,
            BookingStatus.NO_SHOW,
            BookingStatus.EXPIRED,
        )
    ]
    others = make_booking(make_listing(host=make_user(role="host")), check_in=past)
    to_come = make_booking(listing, check_in=local_date(now_utc()) + timedelta(days=1))
    commit()
    auth.login(host)
    html = client.get("/host/").get_data(as_text=True)
    _, overdue = _sections(html)
    assert waiting.code in overdue
    for booking in [*done, others, to_come]:
        assert booking.code not in overdue, booking.status


def test_the_desk_without_overdue_bookings_shows_no_such_section(client, db, auth):
    host = make_user(role="host")
    make_booking(make_listing(host=host), check_in=local_date(now_utc()))
    commit()
    auth.login(host)
    assert HEADING not in client.get("/host/").get_data(as_text=True)


def test_the_overdue_list_is_read_in_a_fixed_number_of_statements(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, units=10)
    today = local_date(now_utc())
    first = make_booking(listing, check_in=today - timedelta(days=1))
    commit()
    auth.login(host)
    page, one = page_statements(client, "/host/")
    assert first.code in _sections(page)[1]

    experience = make_listing(kind=ListingKind.EXPERIENCE, host=host)
    session = make_session(experience, day=today - timedelta(days=1))
    more = [
        make_booking(listing, check_in=today - timedelta(days=days), check_out=today + timedelta(days=1))
        for days in (2, 3, 4)
    ] + [make_booking(experience, check_in=session.session_date, session=session, user=make_user())]
    commit()
    page, several = page_statements(client, "/host/")
    assert len(several) == len(one), "\n\n".join(several)
    overdue = _sections(page)[1]
    assert all(b.code in overdue for b in more)
    assert overdue.count(">标记未到店</button>") == 5 and overdue.count('href="#check-in"') == 5
    assert overdue.count(">补登入住</a>") == 2  # the stay that ended today and yesterday's session: over


def test_a_long_overdue_list_shows_the_oldest_and_says_how_many_there_are(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, units=OVERDUE_SHOWN + 5)
    today = local_date(now_utc())
    guest = make_user()
    bookings = [
        make_booking(listing, user=guest, check_in=today - timedelta(days=1 + n % 9)) for n in range(OVERDUE_SHOWN + 2)
    ]
    commit()
    auth.login(host)
    _, overdue = _desk(client)
    shown = re.findall(r"<code>(TB\d+-S-1)</code>", overdue)
    assert len(shown) == OVERDUE_SHOWN
    oldest_first = sorted(bookings, key=lambda b: (b.check_in_date, b.id))
    assert shown == [b.code for b in oldest_first[:OVERDUE_SHOWN]]
    assert f"（{OVERDUE_SHOWN + 2}）" in overdue.split("</h2>", 1)[0]
    assert f"只显示最早的 {OVERDUE_SHOWN} 个，共 {OVERDUE_SHOWN + 2} 个" in overdue


def test_the_overdue_list_reads_in_english(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host)
    booking = make_booking(listing, check_in=local_date(now_utc()) - timedelta(days=1))
    commit()
    auth.login(host)
    html = client.get("/host/?lang=en").get_data(as_text=True)
    assert "To deal with: arrival day passed (1)" in html and "neither checked in nor marked as no-shows" in html
    assert "Mark as no-show" in html[html.index(booking.code) :] and HEADING not in html


def _ended_pay_on_arrival_stay(host, *, ended_days_ago: int, households=()):
    """A pay-on-arrival stay of two nights that ended `ended_days_ago` days ago, booked before it began."""
    listing = make_listing(host=host, price_fen=15000, pay_on_arrival=True, households=list(households))
    check_out = local_date(now_utc()) - timedelta(days=ended_days_ago)
    request = BookingRequest(
        listing_id=listing.id,
        check_in=check_out - timedelta(days=2),
        check_out=check_out,
        guests=2,
        pay_on_arrival=True,
    )
    return book_listing(request, user=make_user(), now=now_utc() - timedelta(days=ended_days_ago + 3))


def test_a_stay_the_desk_forgot_is_recorded_after_it_with_the_code_and_cash_and_completed(client, db, auth):
    """The guest came, paid the cash and left; the desk never checked them in. Within LATE_CHECK_IN_DAYS of the
    check-out the row offers 补登入住: the code and the cash typed in the check-in form record the stay, the
    cash is a row of the host's book, and the stay is completed at once — its household credited, its order
    completed. Before, only 标记未到店 was left: the order canceled, the cash the host took in no book."""
    host = make_user(role="host")
    household = make_household()
    booking = _ended_pay_on_arrival_stay(host, ended_days_ago=2, households=[household])
    commit()
    auth.login(host)
    _, overdue = _desk(client)
    row = _row(overdue, booking.code)
    assert "补登入住" in row and 'href="#check-in"' in row and "¥300.00" in row

    done = client.post("/host/check-in", data={"confirmation_code": booking.confirmation_code, "cash_received": "300"})
    assert done.status_code == 302, done.get_data(as_text=True)
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f"已补登入住，预订已完成，农户收益已入账：{booking.code}" in page
    assert HEADING not in page
    db.session.expire_all()
    booking = db.session.get(Booking, booking.id)
    assert booking.status == BookingStatus.COMPLETED and booking.checked_in_at is not None
    assert booking.order.status == "completed" and booking.order.payments[0].state == "confirmed"
    [cash] = db.session.scalars(sa.select(HostCashEntry)).all()
    assert cash.amount_fen == 30000 and cash.booking_id == booking.id
    credited = db.session.scalars(sa.select(IncomeEntry).where(IncomeEntry.household_id == household.id)).all()
    assert credited and sum(e.amount_fen for e in credited) > 0

    again = client.post(
        "/host/check-in", data={"confirmation_code": booking.confirmation_code, "cash_received": "300"}
    )  # a second tap: the stay is recorded already, said as such, nothing taken twice
    assert again.status_code == 422 and booking.code in again.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HostCashEntry)) == 1


def test_a_stay_over_longer_than_the_late_days_is_no_longer_checked_in(client, db, auth):
    host = make_user(role="host")
    booking = _ended_pay_on_arrival_stay(host, ended_days_ago=LATE_CHECK_IN_DAYS)
    commit()
    auth.login(host)
    row = _row(_desk(client)[1], booking.code)
    assert "补登入住" not in row and "办理入住" not in row and "标记未到店" in row
    refused = client.post(
        "/host/check-in", data={"confirmation_code": booking.confirmation_code, "cash_received": "300"}
    )
    said = refused.get_data(as_text=True)
    assert (
        refused.status_code == 422 and f"预订 {booking.code} 已退房超过 {LATE_CHECK_IN_DAYS} 天，不能再补登入住" in said
    )
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HostCashEntry)) == 0
