"""Journey: a buyer opens 我的订单 and taps its tabs: each tab lists the orders its state puts there,
with the item names and thumbnails (a stay booked to pay on arrival under 待使用, saying 到店支付); the
tabs are thumb-sized on a phone. The buyer asks a refund of the
delivered order (申请退款 a 44 px target, its reason a field the line's width), which 退款售后 then
lists, and the station reads the request: each 货品去向 choice a
44 px row with a 24 px radio (on a phone they ran on one line, 13 px circles, a label broken mid-word),
拒绝's note a 44 px field."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.harness import DEMO
from tests.browser.journeys import (
    VILLAGE_A,
    api,
    api_token,
    deliver_by_api,
    demo_product,
    new_account,
    place_order_by_api,
)
from tests.browser.stay_journey import STAY


def _stay_paid_on_arrival(live, email: str, days_ahead: int) -> str:
    """`email` books a night at the demo stay to pay on arrival (POST /api/v1/orders): its order's code."""
    from shop.timeutil import local_date, now_utc
    from tourism.models import Listing

    with live.app_context() as db:
        listing_id = db.session.scalar(sa.select(Listing.id).where(Listing.name == STAY))
    day = local_date(now_utc()) + timedelta(days=days_ahead)
    item = {"listing_id": listing_id, "checkin": str(day), "checkout": str(day + timedelta(days=1)), "guests": 2}
    status, order = api(live, "POST", "/orders", {"items": [item], "payment_method": "arrival"}, api_token(live, email))
    assert status == 201, (status, order)
    return order["id"]


def test_buyer_taps_order_tabs_and_sees_each_order_where_its_state_puts_it(open_page, live_server, viewport):
    a = demo_product(live_server, VILLAGE_A)
    email = new_account(live_server, "tabs", viewport)
    waiting = place_order_by_api(live_server, email, [a["id"]], payment_method="cod")
    delivered = place_order_by_api(live_server, email, [a["id"]], payment_method="cod")
    deliver_by_api(live_server, delivered)
    stay = _stay_paid_on_arrival(live_server, email, days_ahead=170 if viewport.is_phone else 171)

    buyer = open_page("buyer")
    page = buyer.page
    buyer.login(email)
    buyer.goto("/orders")
    tabs = page.get_by_role("navigation", name=buyer.t("订单分类"))
    main = page.locator("main")
    expect(main).to_contain_text(waiting)
    expect(main).to_contain_text(delivered)
    buyer.step("all orders")

    to_ship = tabs.get_by_role("link", name=re.compile("^" + re.escape(buyer.t("待发货"))))
    buyer.submit_and_wait(lambda: to_ship.click())
    expect(to_ship).to_have_attribute("aria-current", "page")
    expect(main).to_contain_text(waiting)
    expect(main).not_to_contain_text(delivered)
    row = main.locator(".order-row").filter(has_text=waiting)
    expect(row).to_contain_text("三江腌菜")
    expect(row.locator("img.thumb")).to_have_count(1)
    buyer.step("to ship")

    buyer.submit_and_wait(lambda: tabs.get_by_role("link", name=re.compile("^" + re.escape(buyer.t("待付款")))).click())
    expect(main).to_contain_text(buyer.t("这里还没有订单。"))
    buyer.step("to pay: empty")

    # the stay: confirmed, paid at the host's on arrival, not yet used — under 待使用. On a phone the row
    # brings the tab to its middle: wholly in view, and 待评价 after it shows that the row goes on (it used
    # to stop at the tab's edge, as if 待使用 were the last)
    to_use = tabs.get_by_role("link", name=re.compile("^" + re.escape(buyer.t("待使用"))))
    buyer.submit_and_wait(lambda: to_use.click())
    expect(to_use).to_have_attribute("aria-current", "page")
    expect(main.locator(".order-row")).to_have_count(1)
    expect(main.locator(".order-row").filter(has_text=stay)).to_contain_text(buyer.t("到店支付"))
    page.wait_for_function(
        "() => { const a = document.querySelector('.order-tabs a[aria-current=page]'), r = a.getBoundingClientRect();"
        " const row = a.parentElement.getBoundingClientRect(), next = a.nextElementSibling.getBoundingClientRect();"
        " return r.left >= row.left && r.right <= row.right && next.left + 16 < row.right; }"
    )
    buyer.step("to use: the stay paid on arrival")

    for link in tabs.get_by_role("link").all():
        box = link.bounding_box()
        assert box is not None and box["height"] >= 44, (link.inner_text(), box)

    # the delivered order: ask a refund of its line, which puts it under 退款售后
    buyer.goto("/orders")
    buyer.submit_and_wait(lambda: main.get_by_role("link", name=delivered).click())
    ask = main.get_by_text(buyer.t("申请退款"), exact=True)
    box = ask.bounding_box()
    assert box is not None and box["height"] >= 44, box  # a tap target, not a 22 px line of text
    ask.click()
    reason = main.get_by_label(buyer.t("退款原因"))
    field, line = reason.bounding_box(), main.locator("ul.lines > li").first.bounding_box()
    assert field is not None and line is not None and field["width"] >= line["width"] - 60, (field, line)
    reason.fill("坛子破了")
    main.get_by_label(buyer.t("仅退款（货品留下）")).check()
    buyer.submit_and_wait(lambda: main.get_by_role("button", name=buyer.t("提交"), exact=True).click())
    expect(page.locator("body")).to_contain_text(buyer.t("退款申请已提交"))
    buyer.step("refund asked")
    buyer.goto("/orders")

    # the last tab, 退款售后, lies past the edge of a phone's screen in the row that scrolls sideways:
    # once chosen, the row shows it (it used to stay cut off, "待" of 待评价 or nothing of 退款售后 showing)
    after_sale = tabs.get_by_role("link", name=re.compile("^" + re.escape(buyer.t("退款售后"))))
    buyer.submit_and_wait(lambda: after_sale.click())
    expect(after_sale).to_have_attribute("aria-current", "page")
    page.wait_for_function(
        "() => { const a = document.querySelector('.order-tabs a[aria-current=page]');"
        " const r = a.getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth; }"
    )
    buyer.step("after sale: the tab in view")
    expect(main).to_contain_text(delivered)
    expect(main).not_to_contain_text(waiting)

    # the station decides it: its 货品去向 choices are rows a thumb can hit
    operator = open_page("operator")
    operator.login(DEMO["operator"])
    operator.goto("/refund-requests")
    card = operator.page.locator("main .refund-request").filter(has_text=delivered)
    expect(card).to_have_count(1)
    radios = card.locator("input[type=radio]")
    assert radios.count() == 3
    for i in range(3):
        box = radios.nth(i).bounding_box()
        row = radios.nth(i).locator("xpath=..").bounding_box()  # its label
        assert box is not None and row is not None, i
        assert box["width"] >= 24 and box["height"] >= 24 and row["height"] >= 44, (i, box, row)
    note = card.locator("form[action$='/reject'] input[name=note]").bounding_box()
    assert note is not None and note["height"] >= 40, note  # 拒绝's note: a field a thumb can hit
    operator.step("the station reads the request")
