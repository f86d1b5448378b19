"""Journey 21 (product journey 1 in docs/journeys.md, walked as people really do): a buyer double-taps 提交订单 (one
order), presses the browser's back button and submits whatever is there again (still one order); then
buys again and types a 9-digit mobile number (refused in their language, nothing placed) and corrects it."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO
from tests.browser.journeys import ADDRESS, VILLAGE_A, demo_product, empty_cart, fill_address, go_to_checkout


def orders_of(live, email: str) -> int:
    from orders.models import Order
    from shop.auth.models import User

    with live.app_context() as db:
        user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
        return db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.user_id == user_id))


def fill_cart_and_check_out(shopper, product) -> None:
    shopper.goto(f"/products/{product['id']}-{product['slug']}")
    main = shopper.page.locator("main")
    shopper.submit_and_wait(lambda: main.get_by_role("button", name=shopper.t("加入购物车")).click())
    go_to_checkout(shopper, expected_lines=1)
    fill_address(shopper)


def test_double_tap_and_back_button_place_one_order_and_a_wrong_phone_is_refused(open_page, live_server):
    product = demo_product(live_server, VILLAGE_A)
    shopper = open_page("shopper")
    page = shopper.page
    main = page.locator("main")
    shopper.login(DEMO["consumer"])
    empty_cart(shopper)
    before = orders_of(live_server, DEMO["consumer"])

    fill_cart_and_check_out(shopper, product)
    shopper.step("checkout filled")
    place = main.get_by_role("button", name=shopper.t("提交订单"))
    shopper.submit_and_wait(place.dblclick)  # a double tap
    shopper.poll(
        lambda: re.search(r"/orders(/[A-Za-z0-9-]+)?$", page.url.split("?")[0]) is not None,
        what="the order page (or 我的订单 for the second tap)",
    )
    page.wait_for_load_state("load")
    shopper.check_page()
    shopper.step("after a double tap")
    assert orders_of(live_server, DEMO["consumer"]) == before + 1, "a double tap placed two orders"

    page.go_back(wait_until="load")  # back towards the checkout
    shopper.check_page()
    shopper.step("back button")
    again = main.get_by_role("button", name=shopper.t("提交订单"))
    if again.count() and again.is_enabled():
        shopper.submit_and_wait(again.click)
        shopper.step("stale checkout submitted again")
    assert orders_of(live_server, DEMO["consumer"]) == before + 1, "going back and submitting placed another order"

    fill_cart_and_check_out(shopper, product)
    page.get_by_label(shopper.t("手机号"), exact=True).fill(ADDRESS["手机号"][:9])  # one digit short
    with shopper.problems.allow(422, r"/checkout$"):
        shopper.submit_and_wait(main.get_by_role("button", name=shopper.t("提交订单")).click)
        expect(main).to_contain_text(shopper.t("请填写正确的手机号（1 开头的 11 位数字）"))
        shopper.step("nine-digit phone refused")
    assert orders_of(live_server, DEMO["consumer"]) == before + 1
    page.get_by_label(shopper.t("手机号"), exact=True).fill(ADDRESS["手机号"])
    shopper.submit_and_wait(main.get_by_role("button", name=shopper.t("提交订单")).click)
    expect(main).to_contain_text(shopper.t_before("订单已提交，订单号 %(code)s"))
    shopper.step("placed after the correction")
    assert orders_of(live_server, DEMO["consumer"]) == before + 2
