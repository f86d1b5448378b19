"""Journey: a family's cart holds a product and a ticket day (its date and guests boxes beside 更新). On a
desktop in English the table's narrow last column kept breaking the words of its buttons mid-word
(Remov / e: the table's `overflow-wrap: anywhere`, meant for long product names, let the column shrink
below a word); a button's label is read whole on one line, on a phone and on a desktop. Emptied, the cart's
去逛逛 is a button a thumb finds, and so is the one of 我的订单 with no orders yet."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.journeys import empty_cart, new_shopper_on_product, tap_height

TICKET = "黄马罗渡花海原乡门票"

#: how many lines the text of an element takes on the screen
_LINES = """b => { const r = document.createRange(); r.selectNodeContents(b);
  return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size }"""


def test_the_cart_buttons_keep_their_words_whole(open_page, live_server, viewport):
    from shop.timeutil import local_date, now_utc

    shopper, _product = new_shopper_on_product(open_page, live_server, "wordswhole", viewport)
    page = shopper.page
    buy = page.get_by_role("form", name=shopper.t("购买"), exact=True)
    shopper.submit_and_wait(lambda: buy.get_by_role("button", name=shopper.t("加入购物车")).click())

    shopper.goto("/tickets")
    card = page.get_by_role("article").filter(has_text=TICKET)
    shopper.submit_and_wait(lambda: card.get_by_role("link").first.click())
    to_cart = page.get_by_role("button", name=shopper.t("加入购物车"), exact=True)
    form = page.locator("form").filter(has=to_cart)
    form.get_by_label(shopper.t("游玩日期")).fill((local_date(now_utc()) + timedelta(days=12)).isoformat())
    form.get_by_label(shopper.t("人数")).fill("2")
    shopper.submit_and_wait(to_cart.click)

    main = page.locator("main")
    expect(main.locator("tr.booking-line")).to_have_count(1)
    shopper.step("cart: goods and a ticket day")
    buttons = (
        main.locator("table")
        .get_by_role("button")
        .filter(has_text=shopper.t("删除"))
        .or_(main.locator("table").get_by_role("button").filter(has_text=shopper.t("更新")))
    )
    expect(buttons).to_have_count(4)
    for button in buttons.all():
        assert button.evaluate(_LINES) == 1, f"{button.inner_text()!r} is broken over lines"
    empty_cart(shopper)

    # emptied, the cart's one way on, 去逛逛, is a thumb's target, not a 19 px word at the end of a sentence
    shop_on = main.get_by_role("link", name=shopper.t("去逛逛"), exact=True)
    assert tap_height(shop_on) >= 40
    shopper.step("cart emptied: 去逛逛")

    # 我的订单 with no orders yet leads on the same way: 去逛逛 a button, not a small link ending its sentence
    shopper.goto("/orders")
    shop_on = main.get_by_role("link", name=shopper.t("去逛逛"), exact=True)
    assert tap_height(shop_on) >= 40
    shopper.step("no orders yet: 去逛逛")
