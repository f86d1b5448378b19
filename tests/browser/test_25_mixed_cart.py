"""Journey 25 (#21): on a phone, in Chinese, a shopper not signed in yet puts the village's pickles and a
two-night farm stay in one (guest) cart, signs up when going to checkout and finds both still there, checks
out once, pays once by card, and reaches the order page showing the goods' shipment and the confirmed stay
(its dates and confirmation code) together. Plans change: 取消订单 says first what comes back (all of it:
the stay is weeks away, inside its free cancellation), and then cancels the goods and the stay together."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import VIEWPORTS
from tests.browser.journeys import (
    TEST_CARD,
    VILLAGE_A,
    add_from_results,
    enter_card,
    fill_address,
    order_bookings,
    order_code_from_url,
    pay_with_card,
    search,
)

STAY = "罗渡农家乐"
ROOM = "标准间"


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_goods_and_a_stay_in_one_cart_one_checkout_one_payment(open_page, live_server):
    from shop.timeutil import local_date, now_utc

    shopper = open_page("shopper")
    page = shopper.page
    shopper.goto("/")
    search(shopper, "yancai")
    add_from_results(shopper, village=VILLAGE_A)

    # the stay: its page's booking form has 加入购物车 next to 预订
    check_in = local_date(now_utc()) + timedelta(days=20)
    check_out = check_in + timedelta(days=2)
    shopper.goto("/stays")
    card = page.get_by_role("article").filter(has_text=STAY)
    shopper.submit_and_wait(lambda: card.get_by_role("link").first.click())
    expect(page.get_by_role("heading", level=1)).to_have_text(STAY)
    to_cart = page.get_by_role("button", name=shopper.t("加入购物车"), exact=True)
    form = page.locator("form").filter(has=to_cart)
    room = form.get_by_label(shopper.t("房型"))
    if room.count():
        room.select_option(label=ROOM)
    form.get_by_label(shopper.t("入住")).fill(check_in.isoformat())
    form.get_by_label(shopper.t("离店")).fill(check_out.isoformat())
    form.get_by_label(shopper.t("人数")).fill("2")
    shopper.step("stay to the cart")
    shopper.submit_and_wait(to_cart.click)

    # the cart shows the stay with its dates, guests and price beside the pickles
    main = page.locator("main")
    booking_row = main.locator("tr.booking-line")
    expect(booking_row).to_have_count(1)
    expect(booking_row).to_contain_text(STAY)
    expect(booking_row).to_contain_text(check_in.isoformat())
    expect(booking_row).to_contain_text(check_out.isoformat())
    rows = main.get_by_role("row").filter(has=page.get_by_role("spinbutton"))
    expect(rows).to_have_count(2)
    shopper.step("guest cart: goods and stay")

    # 去结算 asks a guest to log in or sign up; signing up keeps the cart, goods and stay
    shopper.submit_and_wait(lambda: page.get_by_role("link", name=shopper.t("去结算")).click())
    expect(page.get_by_role("heading", level=1)).to_have_text(shopper.t("登录"))
    shopper.submit_and_wait(lambda: main.get_by_role("link", name=shopper.t("注册"), exact=True).click())
    form = main.locator("form")
    form.get_by_label(shopper.t("称呼")).fill("新买家")
    form.get_by_label(shopper.t("邮箱")).fill(f"mixed-{int(time.time() * 1000)}@test.cn")
    form.get_by_label(shopper.t("密码"), exact=True).fill("s3cret-pass")
    form.get_by_label(shopper.t("确认密码")).fill("s3cret-pass")
    shopper.submit_and_wait(lambda: form.get_by_role("button", name=shopper.t("注册")).click())
    expect(page.get_by_role("heading", level=1)).to_contain_text(shopper.t("结算"))

    # one checkout: the address for the goods, card (the only method every line allows)
    fill_address(shopper)
    card_choice = page.get_by_label(shopper.t("在线支付（银行卡）"))
    expect(card_choice).to_be_checked()
    expect(page.get_by_label(shopper.t("货到付款"))).to_have_count(0)
    expect(main).to_contain_text(STAY)
    shopper.step("checkout: goods and stay")
    shopper.submit_and_wait(lambda: page.get_by_role("button", name=shopper.t("提交订单")).click())
    code = order_code_from_url(shopper)
    [held] = order_bookings(live_server, code)
    assert held["status"] == "held" and held["check_in"] == check_in and held["check_out"] == check_out

    enter_card(shopper, TEST_CARD)
    pay_with_card(shopper)

    def confirmed() -> bool:
        return order_bookings(live_server, code)[0]["status"] == "confirmed"

    shopper.poll(confirmed, timeout=15, interval=0.5, reload=True, what="the stay to be confirmed by the payment")
    shopper.goto(f"/orders/{code}")
    [booking] = order_bookings(live_server, code)
    booking_box = main.locator("section.booking")
    expect(booking_box).to_contain_text(STAY)
    expect(booking_box).to_contain_text(check_in.isoformat())
    expect(booking_box).to_contain_text(booking["confirmation"])
    expect(main.locator("section.shipment")).to_contain_text("腌菜")
    shopper.step("confirmation: shipment and stay")

    # 取消订单: the confirmation step names the refund before anything is cancelled
    with live_server.app_context() as db:
        from orders.models import Order
        from shop.money import format_yuan

        total = format_yuan(db.session.scalar(sa.select(Order.total_fen).where(Order.code == code)))
    shopper.submit_and_wait(lambda: main.get_by_role("link", name=shopper.t("取消订单")).click())
    expect(page.get_by_role("heading", level=1)).to_contain_text(shopper.t("取消订单"))
    expect(main).to_contain_text(shopper.t("现在取消将原路退回 %(amount)s。") % {"amount": total})
    expect(main.locator(".cancel-fees")).to_have_count(0)  # free cancellation: no fee to name
    shopper.step("cancel: what comes back")
    shopper.submit_and_wait(lambda: main.get_by_role("button", name=shopper.t("确认取消订单")).click())
    expect(page).to_have_url(re.compile(rf"/orders/{code}$"))
    [canceled] = order_bookings(live_server, code)
    assert canceled["status"] == "canceled", canceled
    shopper.step("canceled: goods and stay")
