"""Journey: two things a user meets on the way — the heart of a product sold in variants, and a page they may
not open.

- A first-time buyer taps 收藏 on 三江腌菜's 500克袋装, signs up (the tap is kept), switches to 2斤礼盒 with the
  picker (规格): ★ 已收藏 is still filled, for 收藏 is of the product, not of one variant. 我的收藏 lists the
  product once; Back to the gift box, a tap on ★ 已收藏 removes it — from the bag too — and 我的收藏 is empty.
- The station operator, on the station desk's 库存, follows a link to the county office (扶贫办, not theirs):
  the 403 page offers 返回上一页, which leads to 库存, and 站点工作台, which leads to their desk."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.browser.harness import DEMO, DEMO_PASSWORD
from tests.browser.journeys import PICKLES_FAMILY, VILLAGE_A, demo_product

GIFT_BOX = "三江腌菜礼盒2斤"  # the 2斤礼盒 variant of PICKLES_FAMILY


def test_a_favourite_is_of_the_product_whichever_variant_is_shown(open_page, live_server, viewport):
    bag = demo_product(live_server, VILLAGE_A)
    box = demo_product(live_server, VILLAGE_A, name=GIFT_BOX)
    buyer = open_page("buyer")
    page = buyer.page
    main = page.locator("main")

    def heart():
        return page.get_by_role("region", name=buyer.t("收藏与分享")).locator("form.fav-form button")

    buyer.goto(f"/products/{bag['id']}-{bag['slug']}")
    expect(main.get_by_role("heading", level=1)).to_have_text(PICKLES_FAMILY)
    expect(heart()).to_have_attribute("aria-pressed", "false")
    buyer.submit_and_wait(heart().click)  # not signed in: 登录 first, the tap kept
    expect(page).to_have_url(re.compile(r"/login"))
    buyer.submit_and_wait(main.get_by_role("link", name=buyer.t("注册"), exact=True).click)
    form = main.locator("form")
    form.get_by_label(buyer.t("称呼")).fill("New buyer" if buyer.is_en else "新买家")
    form.get_by_label(buyer.t("邮箱")).fill(f"fav66-{viewport.name}-{uuid.uuid4().hex[:8]}@test.cn")
    form.get_by_label(buyer.t("密码"), exact=True).fill(DEMO_PASSWORD)
    form.get_by_label(buyer.t("确认密码")).fill(DEMO_PASSWORD)
    buyer.step("sign-up form")
    buyer.submit_and_wait(form.get_by_role("button", name=buyer.t("注册")).click)
    expect(page).to_have_url(re.compile(rf"/products/{bag['id']}-"))  # back on the bag, favourited
    expect(heart()).to_have_attribute("aria-pressed", "true")
    expect(heart()).to_have_text(f"★ {buyer.t('已收藏')}")
    buyer.step("signed up: the bag favourited")

    picker = main.get_by_role("group", name=buyer.t("规格"))
    buyer.submit_and_wait(picker.get_by_role("radio", name=re.compile("2斤礼盒")).check)  # the variant's page
    expect(page).to_have_url(re.compile(rf"/products/{box['id']}-"))
    expect(picker.get_by_role("radio", name=re.compile("2斤礼盒"))).to_be_checked()
    expect(heart()).to_have_attribute("aria-pressed", "true")  # the product's heart, not the bag's
    expect(heart()).to_have_text(f"★ {buyer.t('已收藏')}")
    buyer.step("the gift box: still favourited")

    buyer.goto("/favourites")
    rows = main.locator(".fav-row")
    expect(rows).to_have_count(1)  # the product once
    expect(rows.get_by_role("link")).to_have_text(PICKLES_FAMILY)
    buyer.step("my favourites: the product once")

    page.go_back(wait_until="load")  # Back, to the gift box
    buyer.check_page()
    expect(page).to_have_url(re.compile(rf"/products/{box['id']}-"))
    expect(heart()).to_have_attribute("aria-pressed", "true")
    buyer.submit_and_wait(heart().click)  # tapped again: removed
    expect(page).to_have_url(re.compile(rf"/products/{box['id']}-"))
    expect(heart()).to_have_attribute("aria-pressed", "false")
    expect(heart()).to_have_text(f"☆ {buyer.t('收藏')}")
    buyer.step("the gift box: removed")

    buyer.submit_and_wait(picker.get_by_role("radio", name=re.compile("500克袋装")).check)
    expect(page).to_have_url(re.compile(rf"/products/{bag['id']}-"))
    expect(heart()).to_have_attribute("aria-pressed", "false")  # removed from the bag too
    buyer.goto("/favourites")
    expect(main.locator(".fav-row")).to_have_count(0)
    expect(main).to_contain_text(buyer.t("还没有收藏。在商品或旅游项目页面点「收藏」即可保存在这里。"))
    buyer.step("my favourites: empty")


def test_a_403_leads_the_operator_back_and_to_the_desk(open_page, live_server, viewport):
    operator = open_page("operator")
    page = operator.page
    main = page.locator("main")
    operator.login(DEMO["operator"])
    operator.goto("/station/")
    desk_nav = page.get_by_role("navigation", name=operator.t("站点工作台"))
    operator.submit_and_wait(desk_nav.get_by_role("link", name=operator.t("库存"), exact=True).click)
    expect(page).to_have_url(re.compile(r"/station/stock$"))
    stock = page.url
    operator.step("the station's stock")

    def follow_a_link_to_the_county_office() -> None:
        # a link on a page of this site: the browser sends that page as the Referer
        response = page.goto(operator.url("/county/"), referer=page.url, wait_until="load")
        assert response is not None and response.status == 403, response and response.status
        operator.check_page()
        expect(main.get_by_role("heading", level=1)).to_have_text("403")

    ways = main.locator(".ways-back")
    with open_page.problems.allow(403, r"/county/$"):
        follow_a_link_to_the_county_office()
        expect(ways.get_by_role("link", name=operator.t("返回上一页"))).to_have_attribute("href", "/station/stock")
        expect(ways.get_by_role("link", name=operator.t("站点工作台"))).to_be_visible()
        operator.step("403: the ways back")
    operator.submit_and_wait(ways.get_by_role("link", name=operator.t("返回上一页")).click)
    expect(page).to_have_url(stock)
    operator.step("back on the stock")

    with open_page.problems.allow(403, r"/county/$"):
        follow_a_link_to_the_county_office()
        operator.submit_and_wait(ways.get_by_role("link", name=operator.t("站点工作台")).click)
    expect(page).to_have_url(re.compile(r"/station/$"))
    expect(desk_nav).to_be_visible()
    operator.step("the station desk")
