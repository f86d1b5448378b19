"""Journey 42: the station operator takes a buyer's cash at the counter and opens 现金 on a phone: the cash
book's entry names its shipment on one line — in the book's narrow 发货单 column the code broke at its hyphen
(VXKEHXWB- / 1), a code to match against the parcel; the table's frame scrolls sideways for the rest, the page
does not; and the code is a 44 px tap target (a 16 px word). The host's cash book is the same template
(orders/_cashbook_book.html)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.journeys import VILLAGE_A, confirm_if_asked, demo_product, pickup_order_by_api, tap_height


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_the_cash_book_names_a_shipment_on_one_line(open_page, live_server, viewport):
    product = demo_product(live_server, VILLAGE_A)  # NC01, the demo operator's station
    order = pickup_order_by_api(live_server, product)
    shipment = order["shipments"][0]["id"]

    operator = open_page("operator")
    page = operator.page
    operator.login(DEMO["operator"])
    operator.goto(f"/station/shipments/{shipment}")
    taken = page.locator("main").get_by_role("button", name=operator.t_before("确认已收现金 %(amount)s"))
    operator.submit_and_wait(taken.click)
    confirm_if_asked(operator)
    operator.step("cash taken")
    operator.goto("/station/cash")
    operator.step("cash book")
    link = page.locator("main table").get_by_text(shipment, exact=True).first
    expect(link).to_be_visible()
    boxes = link.evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; }"
    )
    assert boxes == 1, (link.inner_text(), boxes)  # a text broken over two lines has two boxes
    code = page.locator("main table td.ref").get_by_role("link", name=shipment, exact=True).first
    assert tap_height(code) >= 44, tap_height(code)  # a thumb's target on a phone, not a 16 px word
