"""Journey 1: a shopper finds 腌菜 by typing `yancai`, buys from two villages, pays at the station."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import DEMO
from tests.browser.journeys import (
    VILLAGE_A,
    VILLAGE_B,
    add_from_results,
    demo_product,
    empty_cart,
    go_to_checkout,
    order_code_from_url,
    order_facts,
    search,
    select_option_containing,
)


def test_shopper_finds_yancai_buys_from_two_villages_pays_at_station_and_sees_two_shipments(open_page, live_server):
    a, b = demo_product(live_server, VILLAGE_A), demo_product(live_server, VILLAGE_B)
    shopper = open_page("shopper")
    page = shopper.page

    shopper.login(DEMO["consumer"])
    empty_cart(shopper)

    search(shopper, "yancai")
    results = page.locator("main").get_by_role("article")
    expect(results.filter(has_text=VILLAGE_A).first).to_be_visible()
    expect(results.filter(has_text=VILLAGE_B).first).to_be_visible()
    shopper.step("search yancai")

    add_from_results(shopper, village=VILLAGE_A)
    shopper.step("added from village A")
    search(shopper, "yancai")
    add_from_results(shopper, village=VILLAGE_B)

    go_to_checkout(shopper, expected_lines=2)
    page.get_by_label(shopper.t("站点自提")).check()
    select_option_containing(page.get_by_role("combobox", name=shopper.t("自提站点")), a["station_name"])
    # the chosen station's address, hours and phone, not all eighteen (a grid class overrode [hidden])
    cards = page.locator(".station-card:visible")
    expect(cards).to_have_count(1)
    expect(cards).to_contain_text(a["station_name"])
    page.get_by_label(shopper.t("到站点付款")).check()
    shopper.step("checkout pick-up, pay at station")
    shopper.submit_and_wait(lambda: page.get_by_role("button", name=shopper.t("提交订单")).click())

    code = order_code_from_url(shopper)
    main = page.locator("main")
    expect(main).to_contain_text(code)
    expect(main).to_contain_text(a["station_name"])
    expect(main).to_contain_text(b["station_name"])
    shopper.step("order placed")

    facts = order_facts(live_server, code)
    assert facts["payment_method"] == "station_cash"
    assert facts["status"] == "confirmed"
    assert sorted(s["station"] for s in facts["shipments"]) == sorted([a["station_code"], b["station_code"]])
    live_server.notes.setdefault("pay_at_station_orders", []).append(code)
