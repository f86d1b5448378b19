"""The stay journeys' shared steps: a tourist finds the demo stay 罗渡农家乐 for dates and books a room
for two nights, and the booking's facts read from the live server's database."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

STAY = "罗渡农家乐"  # demo listing: free cancellation until 3 days before, pay on arrival allowed
ROOM = "标准间"


def booking_facts(live, code: str) -> dict:
    """The booking `code` as the database holds it: status, nights, check-in date, total, confirmation
    code and the amount refunded."""
    from tourism.models import Booking

    with live.app_context() as db:
        b = db.session.scalar(sa.select(Booking).where(Booking.code == code))
        assert b is not None, f"no booking {code}"
        return {
            "status": str(b.status),
            "nights": (b.check_out_date - b.check_in_date).days,
            "check_in": b.check_in_date,
            "total_fen": b.total_fen,
            "confirmation": b.confirmation_code,
            "refunded_fen": b.refunded_fen,
        }


def book_two_nights(tourist, live_server, *, days_ahead: int, pay: str) -> str:
    """Find the stay for the dates, book a room for two nights; `pay` is "arrival" or "card". Returns the code."""
    from shop.timeutil import local_date, now_utc

    check_in = local_date(now_utc()) + timedelta(days=days_ahead)
    check_out = check_in + timedelta(days=2)
    page = tourist.page
    tourist.goto("/stays")
    search = page.locator("main form").first
    search.get_by_label(tourist.t("入住")).fill(check_in.isoformat())
    search.get_by_label(tourist.t("离店")).fill(check_out.isoformat())
    search.get_by_label(tourist.t("人数")).fill("2")
    tourist.submit_and_wait(lambda: search.get_by_role("button", name=tourist.t("查找")).click())
    card = page.get_by_role("article").filter(has_text=STAY)
    expect(card).to_have_count(1)
    tourist.step("stays for the dates")
    tourist.submit_and_wait(lambda: card.get_by_role("link").first.click())
    expect(page.get_by_role("heading", level=1)).to_have_text(STAY)
    expect(page.get_by_role("region", name=tourist.t("日历")).or_(page.locator("table")).first).to_be_visible()

    book = tourist.rx(("verb", "预订"), "预订并去支付", exact=True)
    form = page.locator("form").filter(has=page.get_by_role("button", name=book))
    room = form.get_by_label(tourist.t("房型"))
    if room.count():
        room.select_option(label=ROOM)
    form.get_by_label(tourist.t("入住")).fill(check_in.isoformat())
    form.get_by_label(tourist.t("离店")).fill(check_out.isoformat())
    form.get_by_label(tourist.t("人数")).fill("2")
    method = form.get_by_label(tourist.t("到店支付" if pay == "arrival" else "在线支付"))
    if method.count():
        method.check()
    tourist.step("booking form")
    tourist.submit_and_wait(lambda: form.get_by_role("button", name=book).click())
    if "/confirm/" in page.url:  # these dates booked already (the journey's other variant, on the same days): asked
        expect(page.locator("main")).to_contain_text(tourist.t_before("您已预订此日期：%(code)s。确认再预订一个？"))
        tourist.step("booked these dates already: asked first")
        tourist.submit_and_wait(
            lambda: page.locator("main").get_by_role("button", name=tourist.t("再预订一个")).click()
        )

    m = re.search(r"/bookings/([A-Za-z0-9-]+)$", page.url.split("?")[0])
    assert m, f"not on a booking page: {page.url}"
    code = m.group(1)
    main = page.locator("main")
    expect(main).to_contain_text(code)
    expect(main).to_contain_text(tourist.tn("%(num)s 晚", 2))
    facts = booking_facts(live_server, code)
    assert facts["nights"] == 2 and facts["check_in"] == check_in
    return code
