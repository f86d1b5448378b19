"""Without card payments (the embedded default), tickets and experiences are paid at the gate or on
arrival, and what cannot be paid for at all is never shown as available (#18.5)."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from shop.once import new_form_token
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.tourism.factories import make_listing, make_session
from tourism.models import Booking, BookingStatus
from tourism.services.availability import payment_methods


def _day(n):
    return local_date(now_utc()) + timedelta(days=n)


def test_methods_follow_the_kind_the_host_and_card_payments(app, db):
    ticket = make_listing(kind="ticket", pay_on_arrival=False)
    experience = make_listing(kind="experience", pay_on_arrival=False)
    stay = make_listing(kind="stay", pay_on_arrival=False)
    stay_arrival = make_listing(kind="stay", pay_on_arrival=True)
    assert payment_methods(ticket) == ("arrival",) and payment_methods(experience) == ("arrival",)
    assert payment_methods(stay) == () and payment_methods(stay_arrival) == ("arrival",)


def test_methods_with_card_payments(db, fake_stripe):
    assert payment_methods(make_listing(kind="ticket", pay_on_arrival=False)) == ("card",)
    assert payment_methods(make_listing(kind="stay", pay_on_arrival=True)) == ("card", "arrival")


def test_a_card_only_ticket_is_booked_at_the_gate_without_card_payments(client, db, auth):
    listing = make_listing(kind="ticket", units=500, max_guests=10, pay_on_arrival=False, name="花海门票")
    db.session.commit()
    auth.login(make_user())
    page = client.get(f"/listings/{listing.id}-{listing.slug}").get_data(as_text=True)
    assert "余500" in page and 'name="payment_method" value="arrival"' in page
    assert "暂不支持在线支付" not in page
    r = client.post(
        f"/listings/{listing.id}/book",
        data={
            "form_token": new_form_token(),
            "checkin": _day(2).isoformat(),
            "guests": "2",
            "payment_method": "arrival",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    booking = db.session.scalar(sa.select(Booking))
    assert booking.status == BookingStatus.CONFIRMED and booking.pay_on_arrival and booking.confirmation_code


def test_an_experience_is_booked_on_arrival_through_the_api(client, db, api_token):
    listing = make_listing(kind="experience", units=1, max_guests=6, pay_on_arrival=False)
    session = make_session(listing, day=_day(3), capacity=10)
    db.session.commit()
    r = client.post(
        "/api/v1/bookings",
        json={"listing_id": listing.id, "session_id": session.id, "guests": 2, "payment_method": "arrival"},
        headers=api_token(make_user()),
    )
    assert r.status_code == 201, r.json
    assert r.json["status"] == "confirmed" and r.json["payment"]["method"] == "arrival"
    items = client.get("/api/v1/listings?kind=experience").json["items"]
    assert [i["pay_on_arrival"] for i in items if i["id"] == listing.id] == [True]


def test_a_stay_nobody_can_pay_for_is_never_shown_as_available(client, db):
    stay = make_listing(kind="stay", units=3, pay_on_arrival=False, name="只收卡民宿")
    db.session.commit()
    listing_page = client.get(f"/listings/{stay.id}-{stay.slug}").get_data(as_text=True)
    assert not re.search(r"余\d", listing_page) and "不可订" in listing_page
    listed = client.get("/stays").get_data(as_text=True)
    assert "只收卡民宿" in listed and "暂不可预订" in listed and "所选日期可订" not in listed
    dated = client.get(f"/stays?checkin={_day(3)}&checkout={_day(4)}").get_data(as_text=True)
    assert "只收卡民宿" not in dated
    items = client.get("/api/v1/listings?kind=stay").json["items"]
    assert [(i["available"], i["pay_on_arrival"]) for i in items if i["id"] == stay.id] == [(False, False)]
    days = client.get(f"/api/v1/listings/{stay.id}/availability").json["days"]
    assert days and all(d["available"] == 0 for d in days)
