"""Journey: a signed-in tourist on a phone books the farm stay for two nights, then presses Back to the
listing (personal pages are no-store: a fresh page, a new once-token, the form filled again) and taps 预订
again. That made a second identical booking; now the listing says the dates are booked already, with a
link to the booking, and 预订 asks first (shop.confirm): 返回，不操作 books nothing more."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.stay_journey import STAY, book_two_nights


def _bookings_of(live, code: str) -> int:
    """How many live bookings the tourist of booking `code` holds of its listing for its dates."""
    from tourism.models import Booking

    with live.app_context() as db:
        b = db.session.scalar(sa.select(Booking).where(Booking.code == code))
        return db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Booking)
            .where(
                Booking.user_id == b.user_id,
                Booking.listing_id == b.listing_id,
                Booking.check_in_date == b.check_in_date,
                Booking.check_out_date == b.check_out_date,
                Booking.status.in_(("held", "confirmed", "checked_in")),
            )
        )


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_back_to_the_listing_and_booking_again_asks_first(open_page, live_server, viewport):
    tourist = open_page("tourist")
    page = tourist.page
    tourist.login(DEMO["consumer"])
    code = book_two_nights(tourist, live_server, days_ahead=170, pay="card")
    assert _bookings_of(live_server, code) == 1
    tourist.step("booked, held for payment")

    tourist.submit_and_wait(lambda: page.go_back(wait_until="load"))
    expect(page.get_by_role("heading", level=1)).to_have_text(STAY)
    box = page.locator(".book-box")
    notice = box.locator(".held-already")
    expect(notice).to_contain_text(tourist.t("您已预订此日期：%(code)s", code=code))
    expect(notice.get_by_role("link", name=tourist.t("查看预订"))).to_have_attribute("href", f"/bookings/{code}")
    tourist.step("back on the listing: the dates are booked already")

    book = tourist.rx(("verb", "预订"), "预订并去支付", exact=True)
    tourist.submit_and_wait(lambda: box.get_by_role("button", name=book).click())
    main = page.locator("main")
    expect(main.locator(".question")).to_contain_text(
        tourist.t("您已预订此日期：%(code)s。确认再预订一个？", code=code)
    )
    expect(main.get_by_role("button", name=tourist.t("再预订一个"))).to_be_visible()
    assert _bookings_of(live_server, code) == 1, "asked: nothing booked yet"
    tourist.step("预订 again: asked first")

    tourist.submit_and_wait(lambda: main.get_by_role("link", name=tourist.t("返回，不操作")).click())
    expect(page.locator(".book-box .held-already")).to_contain_text(code)
    assert _bookings_of(live_server, code) == 1
    tourist.step("went back: still one booking")
