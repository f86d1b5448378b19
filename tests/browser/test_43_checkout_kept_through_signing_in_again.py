"""Journey 43: a buyer fills in the checkout's address on a phone; meanwhile their session ends (they
signed out on their other device). 提交订单 sends them to sign in, which says what they typed is kept;
signed in again they are back on the checkout with the address as typed, and place the order with one
more tap (shop/kept_form.py)."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO_PASSWORD
from tests.browser.journeys import (
    ADDRESS,
    VILLAGE_A,
    demo_product,
    fill_address,
    go_to_checkout,
    new_account,
    order_code_from_url,
    order_facts,
)


def _sessions_end(live_server, email: str) -> None:
    """What signing out on another device does to this browser's session (`end_sessions`)."""
    from shop.auth.models import User
    from shop.auth.services import end_sessions

    with live_server.app_context() as db:
        end_sessions(db.session.scalar(sa.select(User).where(User.email == email)))
        db.session.commit()


def test_the_typed_address_survives_signing_in_again(open_page, live_server, viewport):
    product = demo_product(live_server, VILLAGE_A)
    email = new_account(live_server, "kept", viewport)
    buyer = open_page("buyer")
    page, main = buyer.page, buyer.page.locator("main")
    buyer.login(email)
    buyer.goto(f"/products/{product['id']}-{product['slug']}")
    buyer.submit_and_wait(lambda: page.get_by_role("button", name=buyer.t("加入购物车")).click())
    go_to_checkout(buyer, expected_lines=1)
    fill_address(buyer)
    page.get_by_label(buyer.t("货到付款")).check()
    buyer.step("address typed")

    _sessions_end(live_server, email)
    buyer.submit_and_wait(lambda: page.get_by_role("button", name=buyer.t("提交订单")).click())
    expect(page.get_by_role("heading", level=1)).to_have_text(buyer.t("登录"))
    expect(main).to_contain_text(buyer.t("您填写的内容已保留，登录或注册后回到原页面，核对后再提交。"))
    buyer.step("asked to sign in, the form kept")

    form = main.locator("form")
    form.get_by_label(buyer.t("邮箱")).fill(email)
    form.get_by_label(buyer.t("密码"), exact=True).fill(DEMO_PASSWORD)
    buyer.submit_and_wait(lambda: form.get_by_role("button", name=buyer.t("登录")).click())
    expect(page.get_by_role("heading", level=1)).to_contain_text(buyer.t("结算"))
    for label, value in ADDRESS.items():
        expect(page.get_by_label(buyer.t(label), exact=True)).to_have_value(value)
    expect(page.get_by_label(buyer.t("货到付款"))).to_be_checked()
    buyer.step("back on the checkout, as typed")

    buyer.submit_and_wait(lambda: page.get_by_role("button", name=buyer.t("提交订单")).click())
    code = order_code_from_url(buyer)
    expect(main).to_contain_text(code)
    buyer.step("order placed")
    assert order_facts(live_server, code)["payment_method"] == "cod"
