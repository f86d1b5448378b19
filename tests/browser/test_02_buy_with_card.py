"""Journey 2: the same purchase paid by card through localstripe's Stripe.js; the webhook makes it paid."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.journeys import (
    TEST_CARD,
    THREE_D_SECURE_CARD,
    VILLAGE_A,
    VILLAGE_B,
    add_from_results,
    demo_product,
    empty_cart,
    enter_card,
    fill_address,
    go_to_checkout,
    order_code_from_url,
    order_facts,
    pay_with_card,
    payment_facts,
    search,
)


def test_shopper_pays_by_card_with_stripe_js_and_the_webhook_turns_the_order_paid(open_page, live_server):
    buy_two_by_card_and_see_it_paid(open_page, live_server, TEST_CARD)


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_card_that_asks_for_3d_secure_is_authenticated_in_the_page_and_paid(open_page, live_server):
    buy_two_by_card_and_see_it_paid(
        open_page, live_server, {**TEST_CARD, "number": THREE_D_SECURE_CARD}, expect_3ds=True
    )


def buy_two_by_card_and_see_it_paid(open_page, live_server, card_data: dict, *, expect_3ds: bool = False) -> None:
    a, b = demo_product(live_server, VILLAGE_A), demo_product(live_server, VILLAGE_B)
    shopper = open_page("shopper")
    page = shopper.page

    shopper.login(DEMO["consumer"])
    empty_cart(shopper)
    search(shopper, "yancai")
    add_from_results(shopper, village=VILLAGE_A)
    search(shopper, "yancai")
    add_from_results(shopper, village=VILLAGE_B)
    go_to_checkout(shopper, expected_lines=2)

    fill_address(shopper)
    page.get_by_label(shopper.t("在线支付（银行卡）")).check()
    shopper.step("checkout by card")
    shopper.submit_and_wait(lambda: page.get_by_role("button", name=shopper.t("提交订单")).click())
    code = order_code_from_url(shopper)
    expect(page.locator("main")).to_contain_text(code)
    assert order_facts(live_server, code)["status"] == "pending"

    # the card element comes from localstripe's Stripe.js, served from the emulator
    enter_card(shopper, card_data)
    asked = pay_with_card(shopper)
    if expect_3ds:
        assert asked, "the 3-D Secure test card was paid without authentication"

    payment_box = page.locator("section").filter(
        has=page.get_by_role("heading", name=shopper.t("支付", context="noun"), exact=True)
    )

    def shows_paid() -> bool:
        return payment_box.get_by_text(shopper.t("已确认")).count() > 0

    shopper.poll(shows_paid, timeout=15, interval=0.5, reload=True, what="the order page to show the payment confirmed")
    shopper.step("order paid")

    # the signed webhook arrives about 1 s after the charge; it is the source of truth
    def webhook_handled() -> bool:
        return ("payment_intent.succeeded", True) in payment_facts(live_server, code)["events"]

    shopper.poll(webhook_handled, timeout=15, interval=0.5, what="payment_intent.succeeded to be handled")
    facts = payment_facts(live_server, code)
    assert facts["state"] == "confirmed" and facts["order_status"] == "confirmed" and facts["paid_at"] is not None
    assert facts["intent"] and facts["intent"].startswith("pi_")
    order = order_facts(live_server, code)
    assert facts["amount_fen"] == order["total_fen"]
    assert sorted(s["station"] for s in order["shipments"]) == sorted([a["station_code"], b["station_code"]])
    live_server.notes.setdefault("card_orders", []).append(code)
