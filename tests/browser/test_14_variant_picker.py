"""Journey: on a phone, a buyer opens 三江腌菜, picks the 2斤礼盒 variant (规格) instead of 500克袋装;
the price and the stock shown follow the choice at once, and 加入购物车 adds that variant. The station, on
its phone, puts 2斤礼盒 first in the product's variants, and the buyer's picker lists it first."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.journeys import PICKLES_FAMILY, VILLAGE_A, api, demo_product, empty_cart, yuan


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_choosing_a_variant_changes_price_and_stock_and_the_cart_gets_it(open_page, live_server, viewport):
    assert viewport.is_phone
    bag = demo_product(live_server, VILLAGE_A)
    box = demo_product(live_server, VILLAGE_A, name="三江腌菜礼盒2斤")
    status, product = api(live_server, "GET", f"/products/{bag['id']}")
    assert status == 200, product
    variants = {v["id"]: v for v in product["variants"]}
    assert set(variants) >= {bag["id"], box["id"]}

    shopper = open_page("shopper")
    page = shopper.page
    empty_cart(shopper)
    shopper.goto(f"/products/{bag['id']}-{bag['slug']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(PICKLES_FAMILY)
    price = page.locator("[data-variant-price]")
    expect(price).to_contain_text(yuan(bag["price_fen"]))
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(f"{variants[bag['id']]['stock']} 袋")
    picker = page.get_by_role("group", name=shopper.t("规格"))
    expect(picker.get_by_role("radio")).to_have_count(len(variants))
    expect(picker.get_by_role("radio", name=re.compile("500克袋装"))).to_be_checked()
    # JavaScript on: no 选择规格 button, the choice applies at once
    expect(page.get_by_role("button", name=shopper.t("选择规格"))).to_be_hidden()
    shopper.step("500克袋装 chosen")

    picker.get_by_text("2斤礼盒").click()
    expect(price).to_contain_text(yuan(box["price_fen"]))
    expect(page).to_have_url(re.compile(rf"/products/{box['id']}-"))
    expect(facts).to_contain_text(f"{variants[box['id']]['stock']} 盒")
    picker = page.get_by_role("group", name=shopper.t("规格"))
    expect(picker.get_by_role("radio", name=re.compile("2斤礼盒"))).to_be_checked()
    bar = page.get_by_role("form", name=shopper.t("购买"), exact=True)
    expect(bar).to_contain_text(yuan(box["price_fen"]))
    shopper.step("2斤礼盒 chosen")

    shopper.submit_and_wait(lambda: bar.get_by_role("button", name=shopper.t("加入购物车")).click())
    shopper.goto("/cart")
    expect(page.locator("main")).to_contain_text("三江腌菜礼盒2斤")
    expect(page.locator("main")).not_to_contain_text("三江腌菜500克")
    shopper.step("cart has the gift box")
    empty_cart(shopper)


def _family_order(live, product_id: int, order: list[int] | None = None) -> list[int]:
    """The variants' ids of the product's family in picker order; with `order`, set that order first
    (as the station's form does; the journey puts the demo's order back this way whatever happens)."""
    from catalog.models import Product
    from catalog.services import update_family
    from shop.db import commit
    from shop.timeutil import now_utc

    with live.app_context() as db:
        family = db.session.get(Product, product_id).family
        if order is not None:
            update_family(family, actor=None, now=now_utc(), order=order)
            commit()
        return [m.id for m in family.members]


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_the_station_puts_the_gift_box_first_and_the_picker_follows(open_page, live_server, viewport):
    bag = demo_product(live_server, VILLAGE_A)
    box = demo_product(live_server, VILLAGE_A, name="三江腌菜礼盒2斤")
    demo_order = _family_order(live_server, bag["id"])
    assert demo_order[:2] == [bag["id"], box["id"]]
    operator = open_page("operator")
    page = operator.page
    try:
        operator.login(DEMO["operator"])
        operator.goto("/station/products")
        families = page.get_by_role("region", name=operator.t("多规格商品"))
        form = families.locator("form").filter(has=page.locator(f"input[name='position_{box['id']}']"))
        expect(form.get_by_label(operator.t("商品名称（各规格共用）"))).to_have_value(PICKLES_FAMILY)
        form.get_by_label(re.compile("2斤礼盒")).fill("1")
        form.get_by_label(re.compile("500克袋装")).fill("2")
        operator.step("gift box first")
        operator.submit_and_wait(lambda: form.get_by_role("button", name=operator.t("保存")).click())
        expect(page.locator(".alert-success")).to_contain_text(PICKLES_FAMILY)
        assert _family_order(live_server, bag["id"])[:2] == [box["id"], bag["id"]]
        operator.step("saved")

        buyer = open_page("buyer")
        buyer.goto(f"/products/{bag['id']}-{bag['slug']}")
        radios = buyer.page.get_by_role("group", name=buyer.t("规格")).get_by_role("radio")
        expect(radios.first).to_have_accessible_name(re.compile("2斤礼盒"))
        expect(buyer.page.get_by_role("radio", name=re.compile("500克袋装"))).to_be_checked()  # still this page's
        buyer.step("picker lists the gift box first")
    finally:
        _family_order(live_server, bag["id"], demo_order)
