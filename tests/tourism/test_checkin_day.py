"""#19.8: the right confirmation code on the wrong day says so; a wrong code is still refused."""

from __future__ import annotations

from datetime import timedelta

from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.tourism.factories import make_booking, make_listing
from tourism.models import Booking, BookingStatus


def test_a_correct_code_before_the_arrival_day_says_it_is_not_yet_the_day(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host)
    arrival = local_date(now_utc()) + timedelta(days=4)
    booking = make_booking(listing, check_in=arrival, check_out=arrival + timedelta(days=1), confirmation_code="482913")
    auth.login(host)
    res = client.post("/host/check-in", data={"confirmation_code": "482913"})
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert "还没到入住日" in html and arrival.isoformat() in html and "确认码不正确" not in html
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    wrong = client.post("/host/check-in", data={"confirmation_code": "111111"}).get_data(as_text=True)
    assert "确认码不正确" in wrong


def test_another_hosts_code_learns_nothing_about_dates(client, db, auth):
    listing = make_listing(host=make_user(role="host"))
    arrival = local_date(now_utc()) + timedelta(days=4)
    make_booking(listing, check_in=arrival, check_out=arrival + timedelta(days=1), confirmation_code="482913")
    auth.login(make_user(role="host"))
    html = client.post("/host/check-in", data={"confirmation_code": "482913"}).get_data(as_text=True)
    assert "确认码不正确" in html and arrival.isoformat() not in html


def test_the_code_of_a_guest_already_checked_in_says_so_not_wrong_code(client, db, auth):
    """A double tap on 办理入住 (or a colleague who was quicker): the second answer says the guest is in."""
    host = make_user(role="host")
    listing = make_listing(host=host)
    today = local_date(now_utc())
    booking = make_booking(
        listing,
        check_in=today,
        check_out=today + timedelta(days=2),
        confirmation_code="730154",
        status=BookingStatus.CHECKED_IN,
    )
    auth.login(host)
    res = client.post("/host/check-in", data={"confirmation_code": "730154"})
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert "确认码不正确" not in html and "已办理入住" in html and booking.code in html
    assert db.session.get(Booking, booking.id).status == BookingStatus.CHECKED_IN
    auth.logout()
    auth.login(make_user(role="host"))  # another host's guest: still only "wrong code"
    html = client.post("/host/check-in", data={"confirmation_code": "730154"}).get_data(as_text=True)
    assert "确认码不正确" in html and booking.code not in html


def test_a_confirmation_code_typed_in_groups_or_full_width_checks_the_guest_in(client, db, auth):
    host = make_user(role="host")
    listing = make_listing(host=host)
    today = local_date(now_utc())
    auth.login(host)
    for code, typed in (("482913", "482 913"), ("517204", "５１７２０４")):
        booking = make_booking(listing, check_in=today, check_out=today + timedelta(days=1), confirmation_code=code)
        res = client.post("/host/check-in", data={"confirmation_code": typed})
        assert res.status_code == 302, res.get_data(as_text=True)
        assert db.session.get(Booking, booking.id).status == BookingStatus.CHECKED_IN


def test_the_text_of_the_guests_qr_code_checks_the_guest_in_at_the_desk(client, db, auth):
    """The guest shows the QR code of the booking page or mail (`tourism.qr.checkin_text`: `<booking code>:<code>`);
    a scanner types it whole into 确认码 (or a phone's scanner pastes it): the field takes it (it was cut at 12
    characters, then refused as a wrong code) and checks that booking in, the QR code of another booking with the
    same confirmation code does not."""
    from tourism.qr import checkin_text

    host = make_user(role="host")
    listing = make_listing(host=host)
    today = local_date(now_utc())
    booking = make_booking(listing, check_in=today, check_out=today + timedelta(days=1), confirmation_code="604219")
    other = make_booking(listing, check_in=today, check_out=today + timedelta(days=1), confirmation_code="318540")
    auth.login(host)
    scanned = checkin_text(booking)
    assert len(scanned) > 12
    desk = client.get("/host/").get_data(as_text=True)
    field_max = int(desk.split('id="confirmation_code"', 1)[1].split('maxlength="', 1)[1].split('"', 1)[0])
    assert field_max >= len(scanned), field_max
    # another booking's QR code named with this booking's confirmation code: refused, nothing changes
    forged = f"{other.code}:{booking.confirmation_code}"
    res = client.post("/host/check-in", data={"confirmation_code": forged})
    assert res.status_code == 422 and "确认码不正确" in res.get_data(as_text=True)
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    assert db.session.get(Booking, other.id).status == BookingStatus.CONFIRMED
    res = client.post("/host/check-in", data={"confirmation_code": scanned})
    assert res.status_code == 302, res.get_data(as_text=True)
    assert db.session.get(Booking, booking.id).status == BookingStatus.CHECKED_IN
    assert db.session.get(Booking, other.id).status == BookingStatus.CONFIRMED
    # the same QR code again (a second scan): the guest is in, said so, not "wrong code"
    html = client.post("/host/check-in", data={"confirmation_code": scanned.lower()}).get_data(as_text=True)
    assert "确认码不正确" not in html and "已办理入住" in html


def test_the_api_check_in_takes_the_text_of_the_guests_qr_code_as_the_desk_does(client, db, api_token):
    """`POST /api/v1/bookings/{code}/check-in` reads `confirmation_code` as the desk's 确认码 field does (one limit,
    `tourism.qr.MAX_CHECKIN_TEXT`, which the spec publishes): the whole text of the guest's QR code checks the
    guest in (it was refused past 12 characters), another booking's QR code does not, a longer text is a 422."""
    from tourism.qr import MAX_CHECKIN_TEXT, checkin_text

    host = make_user(role="host")
    listing = make_listing(host=host)
    today = local_date(now_utc())
    booking = make_booking(listing, check_in=today, check_out=today + timedelta(days=1), confirmation_code="604219")
    other = make_booking(listing, check_in=today, check_out=today + timedelta(days=1), confirmation_code="318540")
    db.session.commit()  # error answers roll the session back: keep the fixture data
    headers = api_token(host)
    spec = client.get("/api/v1/openapi.json").json["components"]["schemas"]["CheckInIn"]["properties"]
    assert spec["confirmation_code"]["maxLength"] == MAX_CHECKIN_TEXT == 40, spec
    url = f"/api/v1/bookings/{booking.code}/check-in"
    scanned = checkin_text(booking)
    assert len(scanned) > 12
    for text, code in (("1" * (MAX_CHECKIN_TEXT + 1), "validation_error"), (f"{other.code}:604219", None)):
        res = client.post(url, json={"confirmation_code": text}, headers=headers)
        assert res.status_code == 422 and res.json["error"]["code"] == (code or "wrong_confirmation_code"), res.json
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    res = client.post(url, json={"confirmation_code": scanned}, headers=headers)
    assert res.status_code == 200 and res.json["status"] == "checked_in", res.json
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CHECKED_IN
    assert db.session.get(Booking, other.id).status == BookingStatus.CONFIRMED
