"""Journey 36: an organisation's buyer fills the purchase form with the keyboard. Enter in 查找商品
searches (the rest of the form kept as typed); Enter in any other field saves the draft — the form's
default button is 保存草稿, not 查找 (js/enter_button.js, templates/institutions/_find_products.html)."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from shop.timeutil import local_date, now_utc
from tests.browser.journeys import VILLAGE_A, demo_product
from tests.browser.organisation_journey import PASSWORD, new_organisation


def test_enter_searches_in_the_find_field_and_saves_elsewhere(open_page, live_server, lang):
    org = new_organisation(live_server, lang)
    product = demo_product(live_server, VILLAGE_A)
    buyer = open_page("buyer")
    page = buyer.page
    buyer.login(org["buyer"], PASSWORD)
    buyer.goto(f"/organisations/{org['id']}/purchases/new")
    form = page.locator("main form")
    day = (local_date(now_utc()) + timedelta(days=5)).isoformat()
    form.get_by_label(buyer.t("希望送达日期")).fill(day)
    form.get_by_label(buyer.t("支付方式")).select_option("cod")
    for label, value in (
        ("收货地点名称（如东校区食堂）", "东校区食堂"),
        ("收货人", "李明"),
        ("收货人手机号", "13800138000"),
        ("省", "江西省"),
        ("市", "南昌市"),
        ("区县", "南昌县"),
        ("详细地址", "莲塘镇澄湖路1号"),
    ):
        form.get_by_label(buyer.t(label), exact=True).fill(value)
    new_url = page.url

    search = form.locator("#purchase-q")
    search.fill("yancai")
    buyer.submit_and_wait(lambda: search.press("Enter"))
    assert page.url == new_url  # searched, not saved
    expect(page.locator("#purchase-found")).to_be_visible()
    form = page.locator("main form")
    expect(form.get_by_label(buyer.t("收货人"), exact=True)).to_have_value("李明")  # kept as typed
    form.locator("#product_0").select_option(str(product["id"]))
    quantity = form.locator("#quantity_0")
    quantity.fill("2")
    buyer.step("found, then a quantity typed")
    buyer.submit_and_wait(lambda: quantity.press("Enter"))
    assert re.search(r"/purchases/\d+$", page.url), page.url  # saved: the draft's page
    buyer.step("saved with Enter")
