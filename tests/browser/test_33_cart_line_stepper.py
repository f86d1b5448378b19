"""Journey: a goods line in the cart has the product page's − / + stepper (thumb-sized, within 1 and the
units for sale); 更新 then saves the quantity. Without JavaScript the number field and 更新 remain
(tests/orders/test_cart.py)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.journeys import empty_cart, new_shopper_on_product, yuan


def test_cart_line_stepper_changes_the_quantity_within_its_bounds(open_page, live_server, viewport):
    shopper, a = new_shopper_on_product(open_page, live_server, "cartstep", viewport)
    page = shopper.page
    buy = page.get_by_role("form", name=shopper.t("购买"), exact=True)
    shopper.submit_and_wait(lambda: buy.get_by_role("button", name=shopper.t("加入购物车")).click())
    shopper.goto("/cart")
    row = page.locator("main").get_by_role("row").filter(has=page.get_by_role("spinbutton"))
    expect(row).to_have_count(1)
    plus = row.get_by_role("button", name=shopper.t("增加数量"), exact=True)
    minus = row.get_by_role("button", name=shopper.t("减少数量"), exact=True)
    quantity = row.get_by_role("spinbutton", name=shopper.t("数量"), exact=True)
    for control in (plus, minus, quantity, row.get_by_role("button", name=shopper.t("更新"))):
        box = control.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, box
    expect(quantity).to_have_value("1")
    minus.click()
    expect(quantity).to_have_value("1")  # never below 1 (删除 removes a line)
    plus.click()
    plus.click()
    minus.click()
    expect(quantity).to_have_value("2")
    shopper.step("cart, quantity 2")
    shopper.submit_and_wait(lambda: row.get_by_role("button", name=shopper.t("更新")).click())
    expect(quantity).to_have_value("2")
    expect(row).to_contain_text(yuan(2 * a["price_fen"]))
    most = quantity.get_attribute("max")
    assert most is not None and int(most) >= 2
    quantity.fill(most)
    plus.click()
    expect(quantity).to_have_value(most)  # never above what the cart takes
    shopper.step("cart, at most")
    empty_cart(shopper)
