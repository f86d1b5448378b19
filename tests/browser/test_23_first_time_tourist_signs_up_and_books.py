"""Journey 23 (PRODUCT.md journey 3, for someone with no account yet): a tourist finds the farm stays from
the header, opens 罗渡农家乐, follows 登录后预订 → 注册, signs up and lands back on the stay, books two
nights paying on arrival, and finds the booking under 我的预订 with its confirmation code."""
from __future__ import annotations

import itertools
import re
import time
from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.test_04_tourist_books_and_cancels import STAY, booking_facts

_seq = itertools.count(1)


def test_first_time_tourist_finds_the_stays_signs_up_on_the_way_and_books(open_page, live_server, viewport, lang):
    from shop.timeutil import local_date, now_utc

    tourist = open_page("tourist")
    page = tourist.page
    main = page.locator("main")
    tourist.goto("/")
    tourist.submit_and_wait(lambda: page.get_by_role("banner").get_by_role("link", name=tourist.t("农家乐民宿"))
                            .first.click())
    card = main.get_by_role("article").filter(has_text=STAY)
    expect(card).to_have_count(1)
    tourist.step("stays from the header")
    tourist.submit_and_wait(lambda: card.get_by_role("link").first.click())
    expect(page.get_by_role("heading", level=1)).to_have_text(STAY)
    tourist.step("the stay, not signed in")
    tourist.submit_and_wait(lambda: main.get_by_role("link", name=tourist.t("登录后预订")).click())
    expect(page.get_by_role("heading", level=1)).to_have_text(tourist.t("登录"))
    tourist.submit_and_wait(lambda: main.get_by_role("link", name=tourist.t("注册"), exact=True).click())
    form = main.locator("form")
    email = f"tourist-{lang.lower()}-{viewport.name}-{int(time.time())}-{next(_seq)}@test.cn"
    form.get_by_label(tourist.t("称呼")).fill("New guest" if tourist.is_en else "新游客")
    form.get_by_label(tourist.t("邮箱")).fill(email)
    form.get_by_label(tourist.t("密码"), exact=True).fill("s3cret-pass")
    form.get_by_label(tourist.t("确认密码")).fill("s3cret-pass")
    tourist.step("sign-up form")
    tourist.submit_and_wait(lambda: form.get_by_role("button", name=tourist.t("注册")).click())
    expect(page.get_by_role("heading", level=1)).to_have_text(STAY)  # back on the stay
    tourist.step("back on the stay, signed in")

    check_in = local_date(now_utc()) + timedelta(days=30 if viewport.is_phone else 33)
    book = tourist.rx(("verb", "预订"), "预订并去支付", exact=True)
    booking = main.locator("form").filter(has=page.get_by_role("button", name=book))
    booking.get_by_label(tourist.t("房型/票种")).select_option(label="标准间")
    booking.get_by_label(tourist.t("入住")).fill(check_in.isoformat())
    booking.get_by_label(tourist.t("离店")).fill((check_in + timedelta(days=2)).isoformat())
    booking.get_by_label(tourist.t("人数")).fill("2")
    booking.get_by_label(tourist.t("到店支付")).check()
    tourist.step("booking form")
    tourist.submit_and_wait(lambda: booking.get_by_role("button", name=book).click())
    m = re.search(r"/bookings/([A-Za-z0-9-]+)$", page.url.split("?")[0])
    assert m, f"not on a booking page: {page.url}"
    facts = booking_facts(live_server, m.group(1))
    assert facts["status"] == "confirmed" and facts["nights"] == 2
    expect(main).to_contain_text(facts["confirmation"])
    tourist.step("booked")
    tourist.goto("/bookings")
    expect(main).to_contain_text(m.group(1))
    tourist.step("my bookings")
