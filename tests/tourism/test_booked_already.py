"""A second identical booking by accident (Back to the listing, 预订 again): the listing's page says the
traveller holds these dates already, and 预订 of the same thing asks first (tourism.services.booking.
same_bookings_held); confirmed, the second booking is made (two rooms on two bookings)."""

from datetime import timedelta

import sqlalchemy as sa

from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.tourism.factories import make_booking, make_listing, make_session
from tourism.models import Booking, BookingStatus, ListingKind


def _day(n):
    return local_date(now_utc()) + timedelta(days=n)


def _bookings(db):
    return db.session.scalar(sa.select(sa.func.count()).select_from(Booking))


def _stay_form(listing, check_in, check_out, **more):
    return {
        "form_token": new_form_token(),
        "checkin": check_in.isoformat(),
        "checkout": check_out.isoformat(),
        "guests": "2",
        "units": "1",
        "unit_type_id": str(listing.unit_types[0].id),
        "payment_method": "arrival",
        **more,
    }


def test_the_listing_page_says_the_dates_are_booked_already_and_links_the_booking(client, db, auth):
    listing = make_listing(pay_on_arrival=True, units=3)
    me = make_user()
    mine = make_booking(listing, user=me, check_in=_day(5), check_out=_day(7))
    db.session.commit()
    auth.login(me)
    url = f"/listings/{listing.id}-{listing.slug}"
    html = client.get(f"{url}?checkin={_day(5)}&checkout={_day(7)}").get_data(as_text=True)
    assert f"您已预订此日期：{mine.code}" in html and f'href="/bookings/{mine.code}"' in html
    # other dates, or none chosen yet: nothing said
    assert "您已预订此日期" not in client.get(f"{url}?checkin={_day(5)}&checkout={_day(8)}").get_data(as_text=True)
    assert "您已预订此日期" not in client.get(url).get_data(as_text=True)


def test_booking_the_same_dates_again_asks_first_and_confirmed_books_a_second(client, db, auth):
    listing = make_listing(pay_on_arrival=True, units=3)
    me = make_user()
    auth.login(me)
    data = _stay_form(listing, _day(5), _day(7))
    assert client.post(f"/listings/{listing.id}/book", data=data).status_code == 302
    first = db.session.scalar(sa.select(Booking))
    # Back to the listing (a new once-token), 预订 again: asked, nothing booked
    again = _stay_form(listing, _day(5), _day(7))
    asked = client.post(f"/listings/{listing.id}/book", data=again)
    assert asked.status_code == 303 and "/confirm/" in asked.headers["Location"]
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert f"您已预订此日期：{first.code}" in page and "再预订一个" in page
    assert _bookings(db) == 1
    # confirmed: the second booking is made (two rooms on two bookings), once
    done = client.post(f"/listings/{listing.id}/book", data={**again, "confirm": "1"})
    assert done.status_code == 302 and "/bookings/" in done.headers["Location"]
    assert _bookings(db) == 2
    client.post(f"/listings/{listing.id}/book", data={**again, "confirm": "1"})  # confirmed again after Back
    assert _bookings(db) == 2


def test_other_dates_another_users_booking_or_a_canceled_one_book_at_once(client, db, auth, monkeypatch):
    monkeypatch.setitem(client.application.config, "PAY_ON_ARRIVAL_MAX_OPEN", 10)
    listing = make_listing(pay_on_arrival=True, units=5)
    me, other = make_user(), make_user()
    make_booking(listing, user=other, check_in=_day(5), check_out=_day(7))  # someone else's
    make_booking(listing, user=me, check_in=_day(9), check_out=_day(11), status=BookingStatus.CANCELED)
    make_booking(listing, user=me, check_in=_day(12), check_out=_day(13))
    db.session.commit()
    auth.login(me)
    for check_in, check_out in ((_day(5), _day(7)), (_day(9), _day(11)), (_day(12), _day(14))):
        r = client.post(f"/listings/{listing.id}/book", data=_stay_form(listing, check_in, check_out))
        assert r.status_code == 302 and "/confirm/" not in r.headers["Location"], (check_in, check_out)
    assert _bookings(db) == 6


def test_a_refused_second_booking_is_refused_at_once_not_asked(client, db, auth):
    listing = make_listing(pay_on_arrival=True, units=3, max_guests=2)
    me = make_user()
    make_booking(listing, user=me, check_in=_day(5), check_out=_day(7))
    db.session.commit()
    auth.login(me)
    r = client.post(f"/listings/{listing.id}/book", data=_stay_form(listing, _day(5), _day(7), guests="3"))
    assert r.status_code == 422 and "/confirm/" not in r.headers.get("Location", "")
    assert _bookings(db) == 1


def test_the_same_session_or_ticket_day_asks_first_another_session_or_day_does_not(client, db, auth, monkeypatch):
    monkeypatch.setitem(client.application.config, "PAY_ON_ARRIVAL_MAX_OPEN", 10)
    experience = make_listing(kind=ListingKind.EXPERIENCE, pay_on_arrival=True, max_guests=4)
    first, second = make_session(experience, day=_day(4)), make_session(experience, day=_day(4), hour=14)
    ticket = make_listing(kind=ListingKind.TICKET, pay_on_arrival=True, units=50, max_guests=4)
    me = make_user()
    make_booking(experience, user=me, check_in=_day(4), session=first)
    make_booking(ticket, user=me, check_in=_day(6))
    db.session.commit()
    auth.login(me)

    def book(listing, **fields):
        data = {"form_token": new_form_token(), "guests": "2", "payment_method": "arrival", **fields}
        return client.post(f"/listings/{listing.id}/book", data=data)

    assert "/confirm/" in book(experience, session_id=str(first.id)).headers["Location"]
    assert "/confirm/" not in book(experience, session_id=str(second.id)).headers["Location"]
    assert "/confirm/" in book(ticket, checkin=_day(6).isoformat()).headers["Location"]
    assert "/confirm/" not in book(ticket, checkin=_day(7).isoformat()).headers["Location"]
    html = client.get(f"/listings/{experience.id}-{experience.slug}?session_id={first.id}").get_data(as_text=True)
    assert "您已预订此日期" in html


def test_a_party_or_rooms_typed_wrong_into_a_listings_address_is_said_on_the_page_not_a_400(client, db):
    listing = make_listing(name="罗渡山居")
    db.session.commit()
    url = f"/listings/{listing.id}-{listing.slug}"
    for query, label in (
        ("guests=0", "人数「0」无效"),
        ("units=abc", "间数「abc」无效"),
        ("guests=999", "人数「999」无效"),
    ):
        r = client.get(f"{url}?{query}&checkin={_day(3)}&checkout={_day(5)}")
        html = r.get_data(as_text=True)
        assert r.status_code == 422 and label in html and "罗渡山居" in html, query
        assert f'value="{_day(3)}"' in html, "the rest of what was typed is kept"


def test_a_refused_party_of_zero_comes_back_as_typed(client, db, auth):
    listing = make_listing(pay_on_arrival=True)
    auth.login(make_user())
    r = client.post(f"/listings/{listing.id}/book", data=_stay_form(listing, _day(5), _day(6), guests="0"))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "不能小于 1" in html
    box = html.split('name="guests"', 1)[1].split(">", 1)[0]
    assert 'value="0"' in box, box
