"""GET /api/v1/host/bookings: a host app lists its listings' bookings, as the host's calendars and desk show them."""

from datetime import timedelta
from typing import get_args

from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.tourism.booking_setup import day_ahead
from tests.tourism.factories import booked_to_pay_on_arrival, make_booking, make_listing, make_session
from tourism.api import HostBookingsQuery
from tourism.services.host import CALENDAR_STATUSES


def test_a_host_lists_its_own_bookings_over_days_by_arrival(client, db, api_token):
    """Only the caller's listings' bookings whose days meet [from, to): a stay by its nights, a session by its
    day; canceled ones too, not the expired; each with its code for check-in, guest, dates or session, cash due."""
    host, other = make_user(role="host", name="接待户甲"), make_user(role="host")
    guest = make_user(name="王小明")
    stay, farm = make_listing(host=host, name="罗渡山居"), make_listing(host=host, kind="experience", name="采摘")
    today = local_date(now_utc())
    two_nights = make_booking(stay, user=guest, check_in=today + timedelta(days=2), check_out=today + timedelta(days=4))
    session = make_session(farm, day=today + timedelta(days=3), hour=14)
    picking = make_booking(farm, check_in=today + timedelta(days=3), session=session)
    canceled = make_booking(stay, check_in=today + timedelta(days=5), status="canceled")
    make_booking(stay, check_in=today + timedelta(days=5), status="expired")  # never shown
    make_booking(stay, check_in=today + timedelta(days=40))  # past the default 30 days
    make_booking(make_listing(host=other), check_in=today + timedelta(days=2))  # another host's
    arrival = booked_to_pay_on_arrival(host, days_ahead=6)  # cash due at the door
    commit()
    r = client.get("/api/v1/host/bookings", headers=api_token(host))
    assert r.status_code == 200, r.json
    assert [i["code"] for i in r.json["items"]] == [two_nights.code, picking.code, canceled.code, arrival.code]
    assert (r.json["total"], r.json["page"], r.json["per_page"]) == (4, 1, 20)
    first, second = r.json["items"][0], r.json["items"][1]
    assert first["id"] == two_nights.code and first["listing"]["name"] == "罗渡山居" and first["nights"] == 2
    assert first["guest_name"] == "王小明" and first["status"] == "confirmed" and first["session_starts_at"] is None
    assert "confirmation_code" not in first  # the guest's to give at the door
    assert second["session_id"] == session.id and second["session_starts_at"].startswith(f"{session.session_date}")
    assert r.json["items"][3]["due_fen"] == arrival.total_fen > 0 and r.json["items"][3]["pay_on_arrival"] is True
    # a night inside the range lists the stay; a status filter; a page at a time
    r = client.get(f"/api/v1/host/bookings?from={day_ahead(3)}&to={day_ahead(4)}", headers=api_token(host))
    assert [i["code"] for i in r.json["items"]] == [two_nights.code, picking.code]
    r = client.get("/api/v1/host/bookings?status=canceled", headers=api_token(host))
    assert [i["code"] for i in r.json["items"]] == [canceled.code]
    r = client.get("/api/v1/host/bookings?per_page=2&page=2", headers=api_token(host))
    assert [i["code"] for i in r.json["items"]] == [canceled.code, arrival.code] and r.json["total"] == 4
    r = client.get("/api/v1/host/bookings?per_page=2&page=9", headers=api_token(host))
    assert r.json["items"] == [] and r.json["total"] == 4
    assert client.get("/api/v1/host/bookings", headers=api_token(other)).json["total"] == 1


def test_a_bad_range_or_status_is_422_and_only_hosts_may_ask(client, db, api_token):
    host = make_user(role="host")
    commit()
    for query, code in (
        (f"from={day_ahead(5)}&to={day_ahead(5)}", "end_not_after_start"),
        (f"from={day_ahead(1)}&to={day_ahead(200)}", "calendar_range_too_long"),
        ("status=expired", "validation_error"),
        ("per_page=101", "validation_error"),
    ):
        r = client.get(f"/api/v1/host/bookings?{query}", headers=api_token(host))
        assert r.status_code == 422 and r.json["error"]["code"] == code, (query, r.json)
    assert client.get("/api/v1/host/bookings", headers=api_token(make_user())).status_code == 403
    assert client.get("/api/v1/host/bookings").status_code == 401


def test_the_status_filter_offers_the_statuses_the_calendar_shows():
    assert set(get_args(get_args(HostBookingsQuery.model_fields["status"].annotation)[0])) == set(CALENDAR_STATUSES)
