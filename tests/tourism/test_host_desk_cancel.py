"""The host's desk (today's arrivals, the overdue list) had no way to release an unpaid booking: the host went
to the listing's calendar for its 取消预订. The desk links each booking the host may cancel
(`tourism.services.booking.host_cancel_refusal`: unpaid, to be paid on arrival, still to come) to the same
reason's page, which goes back to the desk: its ‹ 工作台, 不取消，返回工作台, and the page after cancelling."""

from __future__ import annotations

import re
from datetime import timedelta

from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.tourism.factories import booked_to_pay_on_arrival, make_booking, make_listing
from tourism.models import Booking, BookingStatus
from tourism.services.booking import BookingRequest, book_listing


def _row(page: str, code: str) -> str:
    return page[page.index(code) :].split("</tr>", 1)[0]


def test_the_host_cancels_an_unpaid_arrival_from_the_desk_and_comes_back_to_it(client, db, auth):
    host = make_user(role="host")
    today = booked_to_pay_on_arrival(host, days_ahead=0)
    listing = make_listing(host=host, units=3, pay_on_arrival=True)
    yesterday = local_date(now_utc()) - timedelta(days=1)
    overdue = book_listing(
        BookingRequest(
            listing_id=listing.id,
            check_in=yesterday,
            check_out=yesterday + timedelta(days=3),
            guests=2,
            pay_on_arrival=True,
        ),
        user=make_user(),
        now=now_utc() - timedelta(days=1),
    )
    paid = make_booking(listing, check_in=local_date(now_utc()))  # paid online: the guest's to cancel
    commit()
    auth.login(host)
    desk = client.get("/host/").get_data(as_text=True)
    for booking in (today, overdue):
        link = f'href="/host/bookings/{booking.code}/cancel?back=home"'
        assert link in _row(desk, booking.code) and ">取消预订</a>" in _row(desk, booking.code), booking.code
    assert "取消预订" not in _row(desk, paid.code)

    form_url = f"/host/bookings/{today.code}/cancel?back=home"
    page = client.get(form_url).get_data(as_text=True)
    assert re.search(r'<p class="back"><a href="/host/">‹ 工作台</a>', page)
    assert 'href="/host/">不取消，返回工作台</a>' in page
    assert f'action="{form_url}"' in page, "the reason is sent with the way back"
    done = client.post(form_url, data={"confirm": "1", "reason": "暴雨封路，无法接待"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/host/")
    db.session.expire_all()
    assert db.session.get(Booking, today.id).status == BookingStatus.CANCELED
    desk = client.get("/host/").get_data(as_text=True)
    assert "已取消预订并通知客人" in desk and f"/host/bookings/{today.code}/cancel" not in desk

    # one the host may not cancel (paid online) goes back to the desk with the reason, nothing canceled
    refused = client.get(f"/host/bookings/{paid.code}/cancel?back=home")
    assert refused.status_code == 303 and refused.headers["Location"].endswith("/host/")
    # from the calendar, the page still goes back to the calendar
    page = client.get(f"/host/bookings/{overdue.code}/cancel").get_data(as_text=True)
    assert "‹ 日历" in page and "不取消，返回日历" in page
