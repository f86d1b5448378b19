"""Journey 68: a buyer's second checkout. The first order saved its address (保存到地址簿); the second checkout
preselects it in 选择已保存的地址 — and showed the new address's fields under it, empty, as if they had to be
filled in. What the buyer typed there went nowhere: the order went to the saved address. Now those fields are
hidden while a saved address is chosen and come back with 新地址, where what is typed is where the goods go
(the server refuses the two at once: tests/orders/test_account_pages.py)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.journeys import (
    fill_address,
    go_to_checkout,
    new_shopper_on_product,
    order_code_from_url,
)

ELSEWHERE = {"收货人": "周小满", "手机号": "13912345678", "详细地址": "向塘镇新街9号"}


def _order_line(live, code: str) -> str:
    import sqlalchemy as sa

    from orders.models import Order

    with live.app_context() as db:
        return db.session.scalar(sa.select(Order.ship_line).where(Order.code == code))


def test_a_saved_address_chosen_hides_the_new_one_and_new_address_brings_it_back(open_page, live_server, viewport):
    shopper, product = new_shopper_on_product(open_page, live_server, "saved", viewport)
    page = shopper.page
    main = page.locator("main")
    buy = lambda: page.get_by_role("button", name=shopper.t("加入购物车")).click()  # noqa: E731

    shopper.submit_and_wait(buy)
    go_to_checkout(shopper, expected_lines=1)
    fill_address(shopper)  # 保存到地址簿 is ticked: the address is kept for next time
    page.get_by_label(shopper.t("货到付款")).check()
    shopper.submit_and_wait(lambda: page.get_by_role("button", name=shopper.t("提交订单")).click())
    first = order_code_from_url(shopper)

    shopper.goto(f"/products/{product['id']}-{product['slug']}")
    shopper.submit_and_wait(buy)
    go_to_checkout(shopper, expected_lines=1)
    saved = page.get_by_label(shopper.t("选择已保存的地址"), exact=True)
    expect(saved.locator("option:checked")).to_contain_text("莲塘镇澄湖东路88号")
    for label in ELSEWHERE:  # nothing to type while the saved address is the one chosen
        expect(main.get_by_label(shopper.t(label), exact=True)).to_be_hidden()
    shopper.step("the saved address chosen, no empty fields under it")

    saved.select_option(label=shopper.t("新地址"))
    for label, value in ELSEWHERE.items():
        field = main.get_by_label(shopper.t(label), exact=True)
        expect(field).to_be_visible()
        expect(field).to_be_enabled()
        field.fill(value)
    page.get_by_label(shopper.t("货到付款")).check()
    shopper.step("新地址: the fields to type it")
    shopper.submit_and_wait(lambda: page.get_by_role("button", name=shopper.t("提交订单")).click())
    second = order_code_from_url(shopper)
    expect(main).to_contain_text(ELSEWHERE["详细地址"])
    assert (_order_line(live_server, first), _order_line(live_server, second)) == (
        "莲塘镇澄湖东路88号",
        ELSEWHERE["详细地址"],
    )
    shopper.step("placed to the new address")
