"""Journey 4: a tourist finds a farm stay for two nights, books it, and cancels inside the free window."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO
from tests.browser.journeys import TEST_CARD, enter_card, pay_with_card, yuan
from tests.browser.stay_journey import STAY, book_two_nights, booking_facts


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
    expect(row).to_contain_text(tourist.t("到店支付"))
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
