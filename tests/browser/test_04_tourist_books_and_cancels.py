"""Journey 4: a tourist finds a farm stay for two nights, books it, and cancels inside the free window."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO
from tests.browser.journeys import TEST_CARD, enter_card, pay_with_card, yuan

STAY = "罗渡农家乐"  # demo listing: free cancellation until 3 days before, pay on arrival allowed
ROOM = "标准间"


def booking_facts(live, code: str) -> dict:
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
    room = form.get_by_label(tourist.t("房型/票种"))
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

    m = re.search(r"/bookings/([A-Za-z0-9-]+)$", page.url.split("?")[0])
    assert m, f"not on a booking page: {page.url}"
    code = m.group(1)
    main = page.locator("main")
    expect(main).to_contain_text(code)
    expect(main).to_contain_text(tourist.tn("%(num)s 晚", 2))
    facts = booking_facts(live_server, code)
    assert facts["nights"] == 2 and facts["check_in"] == check_in
    return code


def cancel_free(tourist, live_server, code: str) -> None:
    """From the booking page: 取消预订 opens the confirmation step (what the policy refunds), and only
    its button cancels."""
    main = tourist.page.locator("main")
    free = re.compile(
        re.escape(tourist.t("现在可免费取消。")) + "|" + re.escape(tourist.t_before("现在取消可全额退款 %(a)s。"))
    )
    expect(main).to_contain_text(free)  # inside the free window
    tourist.submit_and_wait(lambda: main.get_by_role("link", name=tourist.t("取消预订")).click())
    expect(main).to_contain_text(free)
    tourist.step("cancel: confirmation step")
    assert booking_facts(live_server, code)["status"] != "canceled"  # nothing happens before confirming
    tourist.submit_and_wait(lambda: main.get_by_role("button", name=tourist.t("确认取消预订")).click())
    expect(main).to_contain_text(tourist.t("已取消"))
    tourist.step("canceled")
    assert booking_facts(live_server, code)["status"] == "canceled"


def cancel_from_my_orders(tourist, live_server, code: str) -> None:
    """From 我的订单: the booking's order is shown as the booking, and cancelling it there goes
    through the same confirmation step and cancels the booking and its order together."""
    page = tourist.page
    main = page.locator("main")
    tourist.goto("/orders")
    row = main.locator("li.order-row").filter(has_text=STAY).first
    expect(row).to_contain_text(tourist.t("到店付款"))
    expect(row).not_to_contain_text(tourist.t("货到付款"))
    tourist.step("my orders: the booking")
    tourist.submit_and_wait(lambda: row.get_by_role("link").first.click())
    expect(main).to_contain_text(code)
    expect(main).not_to_contain_text(tourist.t("收货地址"))
    tourist.step("order page of the booking")
    tourist.submit_and_wait(lambda: main.get_by_role("link", name=tourist.t("取消预订")).click())
    tourist.step("cancel from my orders: confirmation step")
    tourist.submit_and_wait(lambda: main.get_by_role("button", name=tourist.t("确认取消预订")).click())
    expect(main).to_contain_text(tourist.t("已取消"))
    tourist.step("canceled from my orders")
    assert booking_facts(live_server, code)["status"] == "canceled"
    with live_server.app_context() as db:
        from tourism.models import Booking

        booking = db.session.scalar(sa.select(Booking).where(Booking.code == code))
        assert booking.order.status == "canceled"


def test_tourist_books_two_nights_and_cancels_free_inside_the_window(open_page, live_server, viewport):
    tourist = open_page("tourist")
    tourist.login(DEMO["consumer"])
    code = book_two_nights(tourist, live_server, days_ahead=10 if viewport.is_phone else 12, pay="arrival")
    facts = booking_facts(live_server, code)
    assert facts["status"] == "confirmed"
    expect(tourist.page.locator("main")).to_contain_text(facts["confirmation"])
    tourist.step("booked, pay on arrival")
    cancel_free(tourist, live_server, code)


def test_tourist_pays_two_nights_by_card_cancels_inside_the_window_and_is_refunded_in_full(
    open_page, live_server, viewport
):
    tourist = open_page("tourist")
    page = tourist.page
    tourist.login(DEMO["consumer"])
    code = book_two_nights(tourist, live_server, days_ahead=14 if viewport.is_phone else 16, pay="card")
    assert booking_facts(live_server, code)["status"] == "held"
    tourist.step("held")
    tourist.submit_and_wait(lambda: page.locator("main").get_by_role("link", name=tourist.t("去支付")).click())
    enter_card(tourist, TEST_CARD)
    pay_with_card(tourist)

    def confirmed() -> bool:
        return booking_facts(live_server, code)["status"] == "confirmed"

    tourist.poll(confirmed, timeout=15, interval=0.5, what="the booking to be confirmed by the payment")
    tourist.goto(f"/bookings/{code}")
    facts = booking_facts(live_server, code)
    main = page.locator("main")
    expect(main).to_contain_text(facts["confirmation"])
    expect(main.get_by_role("img", name=tourist.t("确认码二维码"))).to_be_visible()
    tourist.step("paid, confirmation code")
    cancel_free(tourist, live_server, code)
    refunded = booking_facts(live_server, code)
    assert refunded["refunded_fen"] == refunded["total_fen"] > 0
    expect(main).to_contain_text(yuan(refunded["total_fen"]))


def test_tourist_cancels_a_pay_on_arrival_booking_from_my_orders(open_page, live_server, viewport):
    tourist = open_page("tourist")
    tourist.login(DEMO["consumer"])
    code = book_two_nights(tourist, live_server, days_ahead=20 if viewport.is_phone else 22, pay="arrival")
    assert booking_facts(live_server, code)["status"] == "confirmed"
    cancel_from_my_orders(tourist, live_server, code)
