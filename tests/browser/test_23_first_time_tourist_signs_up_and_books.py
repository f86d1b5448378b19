"""Journey 23 (product journey 3 in docs/journeys.md, for someone with no account yet): a tourist finds the
farm stays from the header, opens 罗渡农家乐 and, not signed in, picks two nights and taps 预订 (the stay goes into
the guest cart); the checkout asks them to log in or sign up (saying the cart is kept), they sign up and land
on the checkout with the stay, pay on arrival, and find the confirmed booking on the order page and under
我的预订."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.journeys import order_bookings, order_code_from_url
from tests.browser.stay_journey import STAY

_seq = itertools.count(1)


def test_first_time_tourist_finds_the_stays_signs_up_on_the_way_and_books(open_page, live_server, viewport, lang):
    from shop.timeutil import local_date, now_utc

    tourist = open_page("tourist")
    page = tourist.page
    main = page.locator("main")
    tourist.goto("/")
    tourist.submit_and_wait(
        lambda: page.get_by_role("banner").get_by_role("link", name=tourist.t("农家乐民宿")).first.click()
    )
    card = main.get_by_role("article").filter(has_text=STAY)
    expect(card).to_have_count(1)
    tourist.step("stays from the header")
    tourist.submit_and_wait(lambda: card.get_by_role("link").first.click())
    expect(page.get_by_role("heading", level=1)).to_have_text(STAY)
    tourist.step("the stay, not signed in")

    check_in = local_date(now_utc()) + timedelta(days=30 if viewport.is_phone else 33)
    book = tourist.rx(("verb", "预订"), "预订并去支付", exact=True)
    booking = main.locator("form").filter(has=page.get_by_role("button", name=book))
    booking.get_by_label(tourist.t("房型")).select_option(label="标准间")
    booking.get_by_label(tourist.t("入住")).fill(check_in.isoformat())
    booking.get_by_label(tourist.t("离店")).fill((check_in + timedelta(days=2)).isoformat())
    booking.get_by_label(tourist.t("人数")).fill("2")
    tourist.step("booking form, not signed in")
    tourist.submit_and_wait(lambda: booking.get_by_role("button", name=book).click())
    expect(page.get_by_role("heading", level=1)).to_have_text(tourist.t("登录"))  # the checkout asks first
    expect(main).to_contain_text(tourist.t("登录或注册后继续结算，购物车里的商品和预订都会保留。"))
    tourist.submit_and_wait(lambda: main.get_by_role("link", name=tourist.t("注册"), exact=True).click())
    form = main.locator("form")
    email = f"tourist-{lang.lower()}-{viewport.name}-{int(time.time())}-{next(_seq)}@test.cn"
    form.get_by_label(tourist.t("称呼")).fill("New guest" if tourist.is_en else "新游客")
    form.get_by_label(tourist.t("邮箱")).fill(email)
    form.get_by_label(tourist.t("密码"), exact=True).fill("s3cret-pass")
    form.get_by_label(tourist.t("确认密码")).fill("s3cret-pass")
    tourist.step("sign-up form")
    tourist.submit_and_wait(lambda: form.get_by_role("button", name=tourist.t("注册")).click())
    expect(page.get_by_role("heading", level=1)).to_have_text(tourist.t("结算"))  # on to the checkout
    expect(main).to_contain_text(STAY)
    expect(main).to_contain_text(check_in.isoformat())
    page.get_by_label(tourist.t("到店支付")).check()
    tourist.step("checkout with the stay, signed up")
    tourist.submit_and_wait(lambda: page.get_by_role("button", name=tourist.t("提交订单")).click())
    [facts] = order_bookings(live_server, order_code_from_url(tourist))
    assert facts["status"] == "confirmed" and (facts["check_out"] - facts["check_in"]).days == 2
    expect(main).to_contain_text(facts["confirmation"])
    tourist.step("booked")
    tourist.goto("/bookings")
    expect(main).to_contain_text(facts["code"])
    tourist.step("my bookings")
