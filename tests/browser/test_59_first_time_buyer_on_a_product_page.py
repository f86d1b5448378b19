"""Journey: a first-time buyer, not signed in, on the product page of 三江腌菜.

- They read its food-safety papers (食品安全证件) to check them against the licence register: each number on
  one line. On a 390 px phone every product page broke them beside their names (SC1123 / 6012100003,
  HGZ-360121- / 00005: the site's `code` style breaks anywhere); a number now goes to the next line whole, on a
  phone and on a desktop, for each variant (规格).
- They empty the quantity box to type a number, then tap + instead: 1, not 2 (the stepper took the empty box
  for its least and added one); − on an emptied box is 1 too.
- They share it with a friend on WeChat: 分享, then 复制链接 puts the short link on the clipboard and the box says
  so (the box offered only "press and hold the link to copy", which selects a word of it, and nothing on a
  desktop)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.journeys import PICKLES_FAMILY, VILLAGE_A, demo_product

#: how many lines the text of an element takes on the screen
_LINES = """e => { const r = document.createRange(); r.selectNodeContents(e);
  return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size }"""


def test_a_product_s_paper_numbers_read_whole(open_page, live_server, viewport):
    product = demo_product(live_server, VILLAGE_A)
    buyer = open_page("buyer")
    page = buyer.page
    main = page.locator("main")
    buyer.goto(f"/products/{product['id']}-{product['slug']}")
    expect(main.get_by_role("heading", level=1)).to_have_text(PICKLES_FAMILY)
    variants = main.get_by_role("group", name=buyer.t("规格")).get_by_role("radio")
    expect(variants).to_have_count(2)  # 500克袋装 and 2斤礼盒
    for n in range(2):
        if n:
            buyer.submit_and_wait(variants.nth(1).check)  # the picker opens the variant's page
            expect(variants.nth(1)).to_be_checked()
        numbers = main.locator("dd li code")  # the papers' numbers, each beside its name and its date
        expect(numbers).to_have_count(2)  # an SC licence and a test report
        for number in numbers.all():
            assert number.evaluate(_LINES) == 1, f"{number.inner_text()!r} is broken over lines"
        buyer.step(f"variant {n + 1}: its papers")


def test_plus_on_an_emptied_quantity_box_gives_one(open_page, live_server, viewport):
    product = demo_product(live_server, VILLAGE_A)
    buyer = open_page("buyer")
    buy = buyer.page.get_by_role("form", name=buyer.t("购买"), exact=True)
    buyer.goto(f"/products/{product['id']}-{product['slug']}")
    box = buy.get_by_label(buyer.t("数量"), exact=True)
    for name in ("增加数量", "减少数量"):
        box.fill("")
        buy.get_by_role("button", name=buyer.t(name)).click()
        expect(box).to_have_value("1")
    buy.get_by_role("button", name=buyer.t("增加数量")).click()
    expect(box).to_have_value("2")
    buyer.step("an emptied box, then + and −: 1; + again: 2")


def test_copy_link_puts_the_short_link_on_the_clipboard(open_page, live_server, viewport):
    product = demo_product(live_server, VILLAGE_A)
    buyer = open_page("buyer")
    page = buyer.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    buyer.goto(f"/products/{product['id']}-{product['slug']}")
    box = page.get_by_role("region", name=buyer.t("收藏与分享"))
    box.get_by_text(buyer.t("分享"), exact=True).click()
    link = box.get_by_label(buyer.t("分享链接"))
    expect(link).to_have_value(re.compile(rf"/p/{product['id']}$"))
    box.get_by_role("button", name=buyer.t("复制链接")).click()
    expect(box.get_by_role("status")).to_have_text(buyer.t("链接已复制，可以粘贴到微信发给朋友。"))
    assert page.evaluate("navigator.clipboard.readText()") == link.input_value()
    buyer.step("share box: the link copied")
