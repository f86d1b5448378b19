"""Journey: a buyer whose pickles were delivered finds the order under 待评价, rates it, writes a
review with a photo; the product page shows it with the photo and the new average."""

from __future__ import annotations

import io
import re
import uuid

from PIL import Image
from playwright.sync_api import expect

from tests.browser.journeys import VILLAGE_A, deliver_by_api, demo_product, new_account, place_order_by_api


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (60, 140, 60)).save(buffer, "PNG")
    return buffer.getvalue()


def test_buyer_reviews_delivered_pickles_with_a_photo(open_page, live_server, viewport):
    a = demo_product(live_server, VILLAGE_A)
    email = new_account(live_server, "review", viewport)
    code = place_order_by_api(live_server, email, [a["id"]], payment_method="cod")
    deliver_by_api(live_server, code)
    words = f"腌菜很下饭 {uuid.uuid4().hex[:6]}"  # one latin word: no English run on a zh page

    buyer = open_page("buyer")
    page = buyer.page
    buyer.login(email)
    buyer.goto("/orders")
    tabs = page.get_by_role("navigation", name=buyer.t("订单分类"))
    buyer.submit_and_wait(lambda: tabs.get_by_role("link", name=re.compile("^" + re.escape(buyer.t("待评价")))).click())
    row = page.locator("main .order-row").filter(has_text=code)
    expect(row).to_have_count(1)
    buyer.step("to review")
    buyer.submit_and_wait(lambda: row.get_by_role("link", name=code).click())
    buyer.submit_and_wait(
        lambda: page.locator("main").get_by_role("link", name=buyer.t("评价"), exact=True).first.click()
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text(buyer.t("评价"))
    page.get_by_label(buyer.tn("%(num)s 星", 5)).check()
    page.get_by_label(buyer.t("评价内容")).fill(words)
    page.get_by_label(buyer.t("照片")).set_input_files(
        files=[{"name": "pickles.png", "mimeType": "image/png", "buffer": _photo()}]
    )
    buyer.step("review form")

    # a hurried double tap posts the review once: a second tap 40 ms after the first, while its POST is under
    # way, sends nothing (without data-submit-once it posted again, and the page said 这件商品已经评价过了)
    def double_tap() -> None:
        page.get_by_role("button", name=buyer.t("发布评价")).evaluate(
            "button => { button.click(); setTimeout(() => button.click(), 40); }"
        )

    buyer.submit_and_wait(double_tap)
    expect(page.locator("main")).to_contain_text(buyer.tn("已评价 %(num)s 星", 5))
    buyer.step("reviewed")

    buyer.goto(f"/products/{a['id']}-{a['slug']}")
    reviews = page.locator("#reviews")
    review = reviews.locator(".review").filter(has_text=words)
    expect(review).to_have_count(1)
    expect(review.get_by_role("img", name=re.compile(re.escape(buyer.t_before("买家照片 %(n)s"))))).to_have_count(1)
    expect(reviews).to_contain_text(buyer.tn("%(avg)s 分 · %(num)s 条评价", 1, avg="").split("1", 1)[-1].strip())
    buyer.step("product page shows the review")
