"""Journey: the Taobao-style cart. Two lines in the cart; a thumb tap on one line's round checkbox (勾选)
leaves it for later: the line is dimmed but keeps its controls, the total and 去结算（1 件） count the
other line alone, and the checkout shows only that one. 全选 chooses both again. Each checkbox is a 44 px
target; without JavaScript each is a small form POST (tests/orders/test_cart_choice.py)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.journeys import VILLAGE_A, demo_product, empty_cart, new_shopper_on_product, yuan


def _count(shopper, n: int) -> str:
    """去结算's count of chosen lines as the page words it (the catalogue's plural form)."""
    if shopper.lang.startswith("zh"):
        return f"（{n} 件）"
    return f"({n} item{'' if n == 1 else 's'})"


def _tap(shopper, viewport, locator) -> None:
    shopper.submit_and_wait(locator.tap if viewport.is_phone else locator.click)


def test_a_tapped_checkbox_leaves_a_line_out_of_the_total_and_the_checkout(open_page, live_server, viewport):
    shopper, bag = new_shopper_on_product(open_page, live_server, "cartpick", viewport)
    box = demo_product(live_server, VILLAGE_A, name="三江腌菜礼盒2斤")
    page = shopper.page
    for product in (bag, box):
        shopper.goto(f"/products/{product['id']}-{product['slug']}")
        buy = page.get_by_role("form", name=shopper.t("购买"), exact=True)
        shopper.submit_and_wait(lambda: buy.get_by_role("button", name=shopper.t("加入购物车")).click())
    shopper.goto("/cart")
    main = page.locator("main")
    checkboxes = main.get_by_role("checkbox")
    expect(checkboxes).to_have_count(3)  # a line each and 全选
    for i in range(3):
        found = checkboxes.nth(i).bounding_box()
        assert found is not None and found["height"] >= 44 and found["width"] >= 44, found
    pick_box = page.get_by_role("checkbox", name=shopper.t("选择「%(name)s」", name="三江腌菜礼盒2斤"))
    pick_all = main.get_by_role("checkbox", name=shopper.t("全选"))
    expect(pick_box).to_be_checked()
    expect(pick_all).to_be_checked()
    checkout = main.get_by_role("link", name=shopper.t("去结算"))
    expect(checkout).to_contain_text(_count(shopper, 2))
    expect(main.locator("dl.totals dd").first).to_have_text(yuan(bag["price_fen"] + box["price_fen"]))
    shopper.step("both lines chosen")

    _tap(shopper, viewport, pick_box)
    expect(pick_box).not_to_be_checked()
    expect(pick_all).not_to_be_checked()
    box_row = main.locator("tr").filter(has=pick_box)
    expect(box_row).to_have_class(re.compile(r"\bunchosen\b"))
    expect(box_row.get_by_role("spinbutton")).to_be_editable()  # dimmed, still editable
    expect(checkout).to_contain_text(_count(shopper, 1))
    expect(main.locator("dl.totals dd").first).to_have_text(yuan(bag["price_fen"]))  # 商品合计: one bag
    shopper.step("the gift box left for later")

    shopper.submit_and_wait(checkout.click)
    lines = main.locator("ul.checkout-lines")
    expect(lines).to_contain_text("三江腌菜500克")
    expect(lines).not_to_contain_text("三江腌菜礼盒2斤")
    shopper.step("checkout with the bag alone")

    shopper.goto("/cart")
    _tap(shopper, viewport, main.get_by_role("checkbox", name=shopper.t("全选")))
    expect(main.get_by_role("checkbox", name=shopper.t("选择「%(name)s」", name="三江腌菜礼盒2斤"))).to_be_checked()
    expect(main.get_by_role("link", name=shopper.t("去结算"))).to_contain_text(_count(shopper, 2))
    shopper.step("全选")
    empty_cart(shopper)
