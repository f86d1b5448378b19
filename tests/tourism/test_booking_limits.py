"""Limits on unpaid reservations (#17.4: cap per account, booking horizon, nights and rooms paid on
arrival, the host's right to cancel with the guest told) and closures over booked dates (#19.5)."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from shop.db import commit
from shop.errors import Conflict, NotFound, ValidationError
from shop.extensions import db
from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from tests.concurrency.race import Loaded, at_once
from tests.conftest import requires_postgres
from tests.factories import make_user
from tests.tourism.factories import booking_form, make_listing
from tourism.models import Booking, BookingStatus, Closure
from tourism.services.booking import BookingRequest, book_listing, host_cancel_booking, mark_no_show
from tourism.services.host import close_dates

pytestmark = pytest.mark.usefixtures("fake_stripe")

TODAY = date(2026, 11, 28)  # Beijing "today" of the `now` fixture


def _stay(listing, check_in, nights=1, units=1, arrival=True, guests=2):
    return BookingRequest(
        listing_id=listing.id,
        check_in=check_in,
        check_out=check_in + timedelta(days=nights),
        guests=guests,
        units=units,
        pay_on_arrival=arrival,
    )


def _count(status=None):
    query = sa.select(sa.func.count()).select_from(Booking)
    if status:
        query = query.where(Booking.status == status)
    return db.session.scalar(query)


# --- horizon ---------------------------------------------------------------------------------------


def test_booking_horizon_is_365_days_and_configurable(app, db, now, monkeypatch):
    listing = make_listing(units=3)
    user = make_user()
    book_listing(_stay(listing, TODAY + timedelta(days=365), arrival=False), user=user, now=now)
    with pytest.raises(ValidationError) as refused:
        book_listing(_stay(listing, TODAY + timedelta(days=366), arrival=False), user=user, now=now)
    assert "365" in refused.value.message and refused.value.fields == {"checkin": "beyond the booking horizon"}
    monkeypatch.setitem(app.config, "BOOKING_HORIZON_DAYS", 30)
    with pytest.raises(ValidationError):
        book_listing(_stay(listing, TODAY + timedelta(days=31), arrival=False), user=user, now=now)


@pytest.mark.parametrize("kind", ["stay", "ticket"])
def test_the_listing_page_quotes_no_dates_beyond_the_horizon_and_says_the_last_day(client, db, kind):
    """Walked as a tourist: dates a year and more ahead, carried in the listing's address (or sent back with
    the booking's refusal, 只能预订 365 天以内的日期), were quoted 有空房，余 3 间 with their total, for dates no
    booking takes. The page now says the last day that can be booked where the quote would be; the last
    day itself is quoted as before."""
    listing = make_listing(kind=kind, units=3, max_guests=4, pay_on_arrival=True)
    commit()
    today = local_date(now_utc())
    last = today + timedelta(days=365)
    for first, quoted in ((last, True), (last + timedelta(days=1), False), (today + timedelta(days=4 * 365), False)):
        query = f"checkin={first}&checkout={first + timedelta(days=2)}&guests=2&units=1"
        page = client.get(f"/listings/{listing.id}-{listing.slug}?{query}").get_data(as_text=True)
        assert ('id="quote-title"' in page) is quoted, first
        assert ("有空房" in page or "可订，余" in page) is quoted, first
        assert (f"只能预订 365 天以内的日期（最晚 {last}）" in page) is not quoted, first
        assert "请再点离店日期" not in page
    english = client.get(f"/listings/{listing.id}-{listing.slug}?checkin={last + timedelta(days=1)}&lang=en")
    assert f"{last}" in english.get_data(as_text=True) and "365" in english.get_data(as_text=True)

    # the search said 所选日期可订 of those dates too: now it says why it searched without them, as for a past day
    path = "/stays" if kind == "stay" else "/tickets"
    for first, status in ((last, 200), (last + timedelta(days=1), 422)):
        res = client.get(f"{path}?checkin={first}&checkout={first + timedelta(days=2)}&lang=zh_CN")
        page = res.get_data(as_text=True)
        assert res.status_code == status and listing.name in page, first
        assert ("所选日期可订" in page) is (status == 200), first
        assert (f"只能预订 365 天以内的日期（最晚 {last}）" in page) is (status == 422), first


@pytest.mark.parametrize("kind", ["stay", "ticket"])
def test_year_9999_is_refused_with_a_clear_message_not_a_500(client, db, api_token, kind):
    listing = make_listing(kind=kind, units=5, max_guests=4, pay_on_arrival=True)
    db.session.commit()  # error responses roll the session back: keep the fixture data
    headers = api_token(make_user())
    for method in ("card", "arrival"):
        r = client.post(
            "/api/v1/bookings",
            json={
                "listing_id": listing.id,
                "checkin": "9999-12-30",
                "checkout": "9999-12-31",
                "guests": 2,
                "payment_method": method,
            },
            headers=headers,
        )
        assert r.status_code == 422, r.json
        assert r.json["error"]["fields"] == {"checkin": "beyond the booking horizon"}
        assert "365" in r.json["error"]["message"]
    assert _count() == 0


def test_year_9999_on_the_booking_form_is_a_form_error(client, db, auth):
    listing = make_listing(kind="ticket", units=5, max_guests=4, pay_on_arrival=True)
    user = make_user()
    db.session.commit()
    auth.login(user)
    r = client.post(
        f"/listings/{listing.id}/book",
        data={"form_token": new_form_token(), "checkin": "9999-12-30", "guests": "2", "payment_method": "arrival"},
    )
    assert r.status_code == 422 and "365" in r.get_data(as_text=True)
    assert _count() == 0


# --- pay on arrival --------------------------------------------------------------------------------


def test_pay_on_arrival_nights_and_rooms_are_capped_but_card_is_not(db, now):
    listing = make_listing(units=6, pay_on_arrival=True)
    user = make_user()
    with pytest.raises(ValidationError) as nights:
        book_listing(_stay(listing, TODAY + timedelta(days=1), nights=8), user=user, now=now)
    assert nights.value.fields == {"checkout": "too many nights to pay on arrival"}
    with pytest.raises(ValidationError) as rooms:
        book_listing(_stay(listing, TODAY + timedelta(days=1), units=3, guests=3), user=user, now=now)
    assert rooms.value.fields == {"units": "too many rooms to pay on arrival"}
    assert _count() == 0
    # paid online, the same stay is fine (it holds the rooms only while it is paid for)
    assert (
        book_listing(
            _stay(listing, TODAY + timedelta(days=1), nights=8, units=3, guests=3, arrival=False), user=user, now=now
        ).status
        == BookingStatus.HELD
    )


def test_open_pay_on_arrival_bookings_are_capped_per_account(db, now):
    listing = make_listing(units=10, pay_on_arrival=True)
    user, other = make_user(), make_user()
    first = book_listing(_stay(listing, TODAY + timedelta(days=1)), user=user, now=now)
    book_listing(_stay(listing, TODAY + timedelta(days=5)), user=user, now=now)
    with pytest.raises(Conflict) as capped:
        book_listing(_stay(listing, TODAY + timedelta(days=9)), user=user, now=now)
    assert capped.value.code == "too_many_unpaid_bookings"
    book_listing(_stay(listing, TODAY + timedelta(days=9)), user=other, now=now)  # per account
    # a finished or canceled one frees a place
    from tourism.services.booking import cancel_booking

    cancel_booking(first, actor=user, now=now)
    book_listing(_stay(listing, TODAY + timedelta(days=9)), user=user, now=now)
    # one whose dates are over does not count any more
    later = now + timedelta(days=20)
    book_listing(_stay(listing, TODAY + timedelta(days=25)), user=user, now=later)


def test_one_account_cannot_hold_every_room_for_42_nights(db, now):
    listing = make_listing(units=6, pay_on_arrival=True)
    user = make_user()
    held_nights = 0
    for start in range(0, 42, 7):
        try:
            b = book_listing(
                _stay(listing, TODAY + timedelta(days=1 + start), nights=7, units=2, guests=2), user=user, now=now
            )
            held_nights += b.nights * b.units
        except (Conflict, ValidationError):
            pass
    assert held_nights <= 2 * 7 * 2  # two open bookings of at most 7 nights and 2 rooms


def _book_at_once(app, committed_db, user_id, requests, now) -> list[str]:
    """Each request booked by the same account in its own thread, all released at once by a barrier;
    the outcomes ("ok" or the Conflict's code)."""
    from shop.auth.models import User

    def book(req) -> Loaded:
        return Loaded(
            lambda: committed_db.session.get(User, user_id), lambda user: book_listing(req, user=user, now=now)
        )

    return at_once(app, [book(req) for req in requests], seconds=30).labels


def _bookings_of(app, committed_db, user_id) -> int:
    with app.app_context():
        return committed_db.session.scalar(
            sa.select(sa.func.count()).select_from(Booking).where(Booking.user_id == user_id)
        )


@requires_postgres
def test_concurrent_pay_on_arrival_bookings_of_one_account_respect_the_cap(app, committed_db, now):
    listing = make_listing(units=10, pay_on_arrival=True)
    user = make_user()
    commit()
    listing_id, user_id = listing.id, user.id
    requests = [
        BookingRequest(
            listing_id=listing_id,
            check_in=TODAY + timedelta(days=1 + n),
            check_out=TODAY + timedelta(days=2 + n),
            guests=1,
            pay_on_arrival=True,
        )
        for n in range(5)
    ]
    outcomes = _book_at_once(app, committed_db, user_id, requests, now)
    assert sorted(outcomes) == ["ok", "ok"] + ["too_many_unpaid_bookings"] * 3
    assert _bookings_of(app, committed_db, user_id) == 2


@requires_postgres
def test_one_account_booking_five_listings_at_once_stops_at_the_cap(app, committed_db, now):
    """As above, but each booking takes another listing: no unit-type lock is shared, so only the
    account's lock orders them, and the count (read in the unit-type lock's statement, after the
    account's lock) must see the bookings committed while it waited."""
    listings = [make_listing(units=1, pay_on_arrival=True) for _ in range(5)]
    user = make_user()
    commit()
    listing_ids, user_id = [l.id for l in listings], user.id
    requests = [
        BookingRequest(
            listing_id=listing_id,
            check_in=TODAY + timedelta(days=3),
            check_out=TODAY + timedelta(days=4),
            guests=1,
            pay_on_arrival=True,
        )
        for listing_id in listing_ids
    ]
    outcomes = _book_at_once(app, committed_db, user_id, requests, now)
    assert sorted(outcomes) == ["ok", "ok"] + ["too_many_unpaid_bookings"] * 3
    assert _bookings_of(app, committed_db, user_id) == 2


def test_the_cap_holds_for_a_booking_paid_on_arrival_through_the_cart_checkout(db, now):
    """The checkout's booking line paid on arrival (`POST /orders`, `payment_method="arrival"`) counts
    against the same cap, in the same statement as `POST /bookings`."""
    from orders.bookables import BookingItem
    from orders.services.placement import PlacementRequest, place_order

    listing = make_listing(units=10, pay_on_arrival=True)
    user = make_user()
    for day in (1, 5):
        book_listing(_stay(listing, TODAY + timedelta(days=day)), user=user, now=now)
    item = BookingItem(
        listing_id=listing.id, guests=1, check_in=TODAY + timedelta(days=9), check_out=TODAY + timedelta(days=10)
    )
    with pytest.raises(Conflict) as capped:
        place_order(PlacementRequest(items=[], bookings=[item], payment_method="arrival"), buyer=user, now=now)
    assert capped.value.code == "too_many_unpaid_bookings"


# --- the host cancels, the guest is told -----------------------------------------------------------


def test_host_cancels_an_unpaid_booking_and_the_guest_is_mailed(db, now, caplog):
    host = make_user(role="host")
    guest = make_user(email="guest-cancel@test.cn")
    listing = make_listing(host=host, units=2, pay_on_arrival=True)
    booking = book_listing(_stay(listing, TODAY + timedelta(days=3)), user=guest, now=now)
    commit()
    with pytest.raises(NotFound):
        host_cancel_booking(booking, actor=make_user(role="host"), now=now, reason="漏水")
    caplog.set_level(logging.INFO, logger="shop.mail")
    host_cancel_booking(booking, actor=host, now=now, reason="房间漏水，无法接待")
    assert booking.status == BookingStatus.CANCELED and booking.order.status == "canceled"
    commit()
    mails = [
        r.getMessage() for r in caplog.records if r.name == "shop.mail" and "guest-cancel@test.cn" in r.getMessage()
    ]
    # one mail: the host's cancellation (the order it cancels on the way sends none of its own)
    assert len(mails) == 1 and booking.code in mails[0] and "接待户取消" in mails[0]
    # the room is free again
    book_listing(_stay(listing, TODAY + timedelta(days=3), units=2), user=make_user(), now=now)


def test_host_cannot_cancel_a_booking_paid_online(db, now):
    from orders.services.payments import confirm_payment
    from tourism.services.booking import on_order_paid

    host = make_user(role="host")
    listing = make_listing(host=host, units=2, pay_on_arrival=True)
    booking = book_listing(_stay(listing, TODAY + timedelta(days=3), arrival=False), user=make_user(), now=now)
    confirm_payment(booking.order.payments[0], now=now)
    on_order_paid(booking.order, now=now)
    with pytest.raises(Conflict) as refused:
        host_cancel_booking(booking, actor=host, now=now, reason="漏水")
    assert refused.value.code == "paid_booking" and booking.status == BookingStatus.CONFIRMED


def test_no_show_tells_the_guest(db, now, caplog):
    host = make_user(role="host")
    guest = make_user(email="guest-noshow@test.cn")
    listing = make_listing(host=host, units=2, pay_on_arrival=True)
    booking = book_listing(_stay(listing, TODAY), user=guest, now=now)
    commit()
    caplog.set_level(logging.INFO, logger="shop.mail")
    mark_no_show(booking, actor=host, now=now)
    commit()
    mails = [
        r.getMessage() for r in caplog.records if r.name == "shop.mail" and "guest-noshow@test.cn" in r.getMessage()
    ]
    assert len(mails) == 1 and "未到店" in mails[0]  # one mail, not the order's "canceled" as well


def test_host_cancel_from_the_listing_page(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, units=2, pay_on_arrival=True)
    today = local_date(now_utc())
    booking = book_listing(_stay(listing, today + timedelta(days=2)), user=make_user(), now=now_utc())
    db.session.commit()
    auth.login(host)
    month = (today + timedelta(days=2)).strftime("%Y-%m")
    page = client.get(f"/host/listings/{listing.id}?month={month}").get_data(as_text=True)
    assert f"/host/bookings/{booking.code}/cancel" in page
    r = client.post(f"/host/bookings/{booking.code}/cancel?lang=zh_CN", data={"confirm": "1", "reason": "漏水"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CANCELED
    # confirmed again after Back: it says the booking is canceled (it said in red it could not be canceled)
    again = client.post(f"/host/bookings/{booking.code}/cancel", data={"confirm": "1"}, follow_redirects=True)
    said = again.get_data(as_text=True)
    assert "预订已取消" in said and "该预订当前不能取消" not in said


# --- closures over booked dates (#19.5) -----------------------------------------------------------


def test_closing_a_day_of_guests_already_staying_does_not_ask_to_cancel_them(db, client, auth):
    """关闭 on today, whose only booking's guests were checked in, said 这些日期已有预订…请先与客人联系并取消预订:
    a stay under way is not canceled. It now says the guests are staying (409 `dates_checked_in`), nothing
    closed; with a booking still to arrive it asks to cancel as before."""
    from tourism.services.booking import check_in_booking

    host = make_user(role="host")
    listing = make_listing(host=host, units=2, pay_on_arrival=True, price_fen=15000)
    now = now_utc()
    today = local_date(now)
    staying = book_listing(_stay(listing, today), user=make_user(), now=now)
    check_in_booking(staying, staying.confirmation_code, actor=host, now=now, cash_received_fen=15000)
    commit()
    auth.login(host)
    day = {"start": today.isoformat(), "end": today.isoformat(), "reason": "维修"}
    for confirm in ({}, {"confirm": "1"}):
        refused = client.post(f"/host/listings/{listing.id}/close", data={**day, **confirm})
        page = refused.get_data(as_text=True)
        assert refused.status_code == 409 and f"这些日期有客人已入住，不能关闭：{staying.code}" in page
        assert "取消预订" not in page.split("这些日期有客人已入住")[1].split("</")[0]
    arriving = book_listing(_stay(listing, today), user=make_user(), now=now)
    commit()
    refused = client.post(f"/host/listings/{listing.id}/close", data=day)
    assert refused.status_code == 409 and "请先与客人联系并取消预订" in refused.get_data(as_text=True)
    assert arriving.code in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0


def test_closing_dates_with_confirmed_bookings_is_refused_with_the_bookings_listed(db, now):
    listing = make_listing(units=2, pay_on_arrival=True)
    booked = book_listing(_stay(listing, TODAY + timedelta(days=4), nights=2), user=make_user(), now=now)
    with pytest.raises(Conflict) as refused:
        close_dates(listing, [TODAY + timedelta(days=5), TODAY + timedelta(days=6)], now=now)
    assert refused.value.code == "dates_booked" and booked.code in refused.value.message
    assert refused.value.fields == {"closed_date": [booked.code]}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0
    # the check-out day is not a booked night: it can be closed
    assert close_dates(listing, [TODAY + timedelta(days=6)], now=now) == 1
    # a canceled booking no longer blocks
    from tourism.services.booking import cancel_booking

    cancel_booking(booked, actor=booked.user, now=now)
    assert close_dates(listing, [TODAY + timedelta(days=4), TODAY + timedelta(days=5)], now=now) == 2


def test_closing_a_booked_ticket_day_on_the_host_page_shows_the_booking(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host, kind="ticket", units=50, max_guests=4, pay_on_arrival=True)
    day = local_date(now_utc()) + timedelta(days=3)
    booking = book_listing(
        BookingRequest(listing_id=listing.id, check_in=day, guests=2, pay_on_arrival=True),
        user=make_user(),
        now=now_utc(),
    )
    db.session.commit()
    auth.login(host)
    r = client.post(
        f"/host/listings/{listing.id}/close", data={"confirm": "1", "start": day.isoformat(), "end": day.isoformat()}
    )
    assert r.status_code == 409 and booking.code in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0


@requires_postgres
def test_a_booking_and_a_closure_at_once_never_both_win(app, committed_db, now):
    from shop.auth.models import User
    from tourism.models import Listing

    host = make_user(role="host")
    guest = make_user()
    listing = make_listing(host=host, units=1, pay_on_arrival=True)
    commit()
    ids = {"listing": listing.id, "guest": guest.id}
    day = TODAY + timedelta(days=3)
    for _round in range(3):
        book = Loaded(
            lambda: committed_db.session.get(User, ids["guest"]),
            lambda user: book_listing(
                BookingRequest(
                    listing_id=ids["listing"],
                    check_in=day,
                    check_out=day + timedelta(days=1),
                    guests=1,
                    pay_on_arrival=True,
                ),
                user=user,
                now=now,
            ),
        )
        close = Loaded(
            lambda: committed_db.session.get(Listing, ids["listing"]),
            lambda target: close_dates(target, [day], now=now),
        )
        outcomes = at_once(app, [book, close], seconds=30).labels
        # the closure first: the booking is refused for the closed day (day_closed), not as full
        assert sorted(outcomes) in (["dates_booked", "ok"], ["day_closed", "ok"]), outcomes
        with app.app_context():  # reset for the next round
            booking = committed_db.session.scalar(
                sa.select(Booking).where(Booking.listing_id == ids["listing"], Booking.status == "confirmed")
            )
            if booking is not None:
                host_cancel_booking(booking, actor=committed_db.session.get(User, host.id), now=now, reason="重置")
            committed_db.session.execute(sa.delete(Closure).where(Closure.listing_id == ids["listing"]))
            commit()
            committed_db.session.remove()


def test_a_closure_that_would_be_refused_is_refused_before_its_confirmation_step(client, db, auth):
    """Closing a booked day or a past day: the host is told at once (the booking named), not first asked
    "确认关闭…？" and refused only after confirming."""
    host = make_user(role="host")
    listing = make_listing(host=host, kind="ticket", units=50, max_guests=4, pay_on_arrival=True)
    day = local_date(now_utc()) + timedelta(days=3)
    booking = book_listing(
        BookingRequest(listing_id=listing.id, check_in=day, guests=2, pay_on_arrival=True),
        user=make_user(),
        now=now_utc(),
    )
    db.session.commit()
    auth.login(host)
    past = local_date(now_utc()) - timedelta(days=2)
    for start, end, said in ((day, day, booking.code), (past, past, "不能关闭过去的日期")):
        r = client.post(f"/host/listings/{listing.id}/close", data={"start": start.isoformat(), "end": end.isoformat()})
        html = r.get_data(as_text=True)
        assert r.status_code in (409, 422) and said in html and "确认关闭" not in html
    free = day + timedelta(days=10)
    asked = client.post(
        f"/host/listings/{listing.id}/close",
        data={"start": free.isoformat(), "end": free.isoformat()},
        follow_redirects=True,
    )
    assert asked.status_code == 200 and "确认关闭" in asked.get_data(as_text=True)
    # in English: no "booking(s)", and one day is "1 day"
    url = f"/host/listings/{listing.id}/close?lang=en"
    html = client.post(url, data={"start": day.isoformat(), "end": day.isoformat()}).get_data(as_text=True)
    assert f"These dates are booked and cannot be closed: {booking.code}" in html and "(s)" not in html
    html = client.post(url, data={"start": free.isoformat(), "end": free.isoformat()}, follow_redirects=True).get_data(
        as_text=True
    )
    assert f"Close {free.isoformat()} to {free.isoformat()} (1 day)?" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0


def test_a_refused_booking_form_says_why_at_the_top_of_the_page(client, db, auth):
    """On a phone the booking form sits a long scroll below the photos and the calendar: a field the form
    refuses (100000 rooms) is said in the alert at the top as well as under the field, named."""
    listing = make_listing(kind="stay", units=5, max_guests=4, pay_on_arrival=True)
    user = make_user()
    db.session.commit()
    auth.login(user)
    start = local_date(now_utc()) + timedelta(days=3)
    r = client.post(
        f"/listings/{listing.id}/book",
        data=booking_form(start, 1, units="100000", guests="2", payment_method="arrival"),
    )
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert '<div class="alert alert-error" role="status">间数：须在 1 到 50 之间</div>' in page
    assert _count() == 0
