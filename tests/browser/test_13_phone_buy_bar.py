"""Journey: on a phone the product page keeps a buy bar at the bottom of the screen (price, quantity
stepper, 加入购物车, 立即购买); the stepper's buttons are thumb-sized; 立即购买 (tapped twice in a hurry) goes straight to checkout
with the quantity chosen, once. On a desktop the same form sits in the page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.journeys import empty_cart, new_shopper_on_product, yuan


def test_phone_buy_bar_stepper_and_buy_now(open_page, live_server, viewport):
    shopper, a = new_shopper_on_product(open_page, live_server, "bar", viewport)
    page = shopper.page
    bar = page.get_by_role("form", name=shopper.t("购买"), exact=True)
    plus = bar.get_by_role("button", name=shopper.t("增加数量"), exact=True)
    minus = bar.get_by_role("button", name=shopper.t("减少数量"), exact=True)
    quantity = bar.get_by_role("spinbutton", name=shopper.t("数量"), exact=True)
    for control in (
        plus,
        minus,
        quantity,
        bar.get_by_role("button", name=shopper.t("加入购物车")),
        bar.get_by_role("button", name=shopper.t("立即购买")),
    ):
        box = control.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, box
    if viewport.is_phone:
        expect(bar).to_contain_text(yuan(a["price_fen"]))
        box = bar.bounding_box()
        assert abs(box["y"] + box["height"] - viewport.height) <= 1, ("bar at the bottom of the screen", box)
        page.mouse.wheel(0, 600)
        box = bar.bounding_box()
        assert abs(box["y"] + box["height"] - viewport.height) <= 1, ("still there after scrolling", box)
    plus.click()
    plus.click()
    minus.click()
    expect(quantity).to_have_value("2")
    shopper.step("buy bar, quantity 2")
    # a double tap: the guard (static/js/busy.js, data-submit-once) keeps the pressed 立即购买 and the quantity
    # once (locally Chromium folds so fast a double submit itself; on a slow network a second POST could leave)
    shopper.submit_and_wait(lambda: bar.get_by_role("button", name=shopper.t("立即购买")).dblclick())
    expect(page).to_have_url(re.compile(r"/checkout"))
    expect(page.locator("main")).to_contain_text(re.compile(r"× 2 "))
    shopper.step("checkout")
    empty_cart(shopper)
