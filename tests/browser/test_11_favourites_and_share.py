"""Journey: a visitor likes the pickles, taps 收藏 (signs in first: the tap is kept, and the product is
favourited on the way back), finds them in 我的收藏, and opens the share box: a short link and a QR code
that lead back to the product."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser.harness import DEMO_PASSWORD
from tests.browser.journeys import VILLAGE_A, demo_product, new_account


def test_visitor_favourites_pickles_and_shares_them(open_page, live_server, viewport):
    a = demo_product(live_server, VILLAGE_A)
    email = new_account(live_server, "fav", viewport)

    visitor = open_page("visitor")
    page = visitor.page
    visitor.goto(f"/products/{a['id']}-{a['slug']}")
    box = page.get_by_role("region", name=visitor.t("收藏与分享"))
    visitor.submit_and_wait(lambda: box.get_by_role("button", name=visitor.t("收藏")).click())
    expect(page).to_have_url(re.compile(r"/login"))
    form = page.locator("main form")
    form.get_by_label(visitor.t("邮箱")).fill(email)
    form.get_by_label(visitor.t("密码"), exact=True).fill(DEMO_PASSWORD)
    visitor.submit_and_wait(lambda: form.get_by_role("button", name=visitor.t("登录")).click())
    expect(page).to_have_url(re.compile(rf"/products/{a['id']}-"))
    box = page.get_by_role("region", name=visitor.t("收藏与分享"))  # no second tap: signing in added it
    expect(box.get_by_role("button", name=visitor.t("已收藏"))).to_have_attribute("aria-pressed", "true")
    visitor.step("favourited")

    box.get_by_text(visitor.t("分享"), exact=True).click()
    link = box.get_by_label(visitor.t("分享链接"))
    expect(link).to_have_value(re.compile(rf"/p/{a['id']}$"))
    expect(box.get_by_role("img", name=re.compile(re.escape(visitor.t_before("分享二维码：%(url)s"))))).to_be_visible()
    visitor.step("share box")
    short = link.input_value()
    visitor.goto(urlsplit(short).path)  # the short link (SITE_URL's host may not be the test server's)
    expect(page).to_have_url(re.compile(rf"/products/{a['id']}-"))

    visitor.goto("/favourites")
    expect(page.locator("main")).to_contain_text("三江腌菜")
    name = page.locator("main .fav-row a", has_text="三江腌菜")
    box = name.bounding_box()
    assert box is not None and box["height"] >= 44, box  # the name is the row's tap target, not a line of text
    visitor.step("my favourites")
