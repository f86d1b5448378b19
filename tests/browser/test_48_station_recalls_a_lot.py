"""Journey 48 (#23), on a phone in Chinese: the station receives a lot at intake (入库), a buyer's order takes
a unit of it, then the station finds a food-safety problem and recalls the lot from the lot's own page,
with its reason (asked to confirm first; Back and confirm again recalls nothing twice). The buyer's order
page says, on the line, that the unit is from a recalled lot, why, that it will not be charged for (cash on
delivery, nothing paid yet), and leads to
the lot's trace page, which says 本批次已召回 with the reason; the product page offers the other lots'
units only; the county's list of recalls names the lot and that the station recalled it. A code mistyped off the label finds a page that says where the code is and takes it again.
Every link on the way is a thumb-sized target."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shop.timeutil import local_date, now_utc
from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.journeys import VILLAGE_A, demo_product, new_account, place_order_by_api

GIFT_BOX = "三江腌菜礼盒2斤"  # at NC01, the demo operator's station


def _thumb_sized(link) -> None:
    box = link.bounding_box()
    assert box is not None and box["height"] >= 40, (link.inner_text(), box)


def _available(live, product_id: int) -> int:
    from catalog.models import Product

    with live.app_context() as db:
        return db.session.get(Product, product_id).available


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_the_station_recalls_a_lot_it_sold_from_and_the_buyer_and_the_trace_page_say_so(
    open_page, live_server, viewport
):
    product = demo_product(live_server, VILLAGE_A, GIFT_BOX)
    today = local_date(now_utc())
    best_before = (today + timedelta(days=1)).isoformat()  # expires first: the next checkout takes it

    # intake: the operator receives 3 boxes as a new lot
    operator = open_page("operator")
    op = operator.page
    operator.login(DEMO["operator"])
    operator.goto("/station/stock")
    operator.submit_and_wait(op.locator("main").get_by_role("link", name=GIFT_BOX, exact=True).click)
    intake = op.locator("main form").filter(has=op.get_by_role("button", name=operator.t("入库"), exact=True))
    intake.get_by_label(operator.t("入库数量")).fill("3")
    intake.get_by_label(operator.t("采收/生产日期")).fill(today.isoformat())
    intake.get_by_label(operator.t("保质期至（不适用可留空）")).fill(best_before)
    operator.submit_and_wait(intake.get_by_role("button", name=operator.t("入库"), exact=True).click)
    expect(op.locator("main")).to_contain_text(operator.t("已入库 %(n)s", n=3))
    # the lot just received: another run of this journey (the other language) left one of the same date, recalled
    row = op.locator("table.stock-lots tbody tr").filter(has_text=best_before).filter(has_text=operator.t("可售"))
    expect(row).to_have_count(1)
    lot_link = row.locator("a.lot-link")
    lot_code = lot_link.inner_text().strip()
    _thumb_sized(lot_link)
    operator.step("lot received")
    available = _available(live_server, product["id"])

    # the sale: a buyer's order takes one box of it (first expiring first)
    buyer_email = new_account(live_server, "recall-buyer", viewport)
    order_code = place_order_by_api(live_server, buyer_email, [product["id"]])

    # the recall, from the lot's page: the reason, a confirmation, then the lines whose buyers were told
    operator.submit_and_wait(lot_link.click)
    expect(op.get_by_role("heading", level=1)).to_contain_text(lot_code)
    recall = op.locator("form#recall")
    recall.get_by_label(operator.t("召回原因（最多 %(num)s 个字，顾客会看到）", num=200)).fill("抽检二氧化硫超标")
    operator.step("the lot's page, the reason typed")
    operator.submit_and_wait(recall.get_by_role("button", name=operator.t("召回该批次")).click)
    expect(op.get_by_role("heading", level=1)).to_have_text(operator.t("请确认"))
    expect(op.locator("main")).to_contain_text(operator.t("召回原因：%(reason)s", reason="抽检二氧化硫超标"))
    operator.step("asked to confirm")
    operator.submit_and_wait(op.locator("main form").get_by_role("button", name=operator.t("确认")).click)
    told = operator.tn("批次 %(code)s 已召回：%(num)s 个订单商品受影响，已通知买家", 1, code=lot_code)
    expect(op.get_by_role("status").filter(has_text=told)).to_have_count(1)
    lines = op.locator("table.lot-lines")
    expect(lines).to_contain_text(f"{order_code}-1")
    expect(lines).to_contain_text(operator.t("未发货：取消并退款"))
    _thumb_sized(lines.locator("a").first)
    operator.step("recalled: the buyer's line listed")
    # the buyer's box is held for their order, the lot's other 2 are blocked: none of the 3 is for sale
    assert _available(live_server, product["id"]) == available - 3

    # Back from the result: the confirmation again; confirming it recalls nothing twice
    back = op.go_back(wait_until="load")
    assert back is not None and "/confirm/" in op.url
    operator.check_page()
    operator.submit_and_wait(op.locator("main form").get_by_role("button", name=operator.t("确认")).click)
    already = operator.t("批次 %(code)s 已于 %(when)s 召回，无需再次召回", code=lot_code, when="\x00")
    expect(op.locator("main")).to_contain_text(already.split("\x00")[-1])  # the time aside, in the page's language
    operator.step("confirmed again: already recalled")

    # the buyer's order page says it on the line, and leads to the lot's trace page
    buyer = open_page("buyer")
    me = buyer.page
    buyer.login(buyer_email)
    buyer.goto(f"/orders/{order_code}")
    notice = me.locator(".recall-notice")
    expect(notice).to_contain_text(buyer.tn("其中 %(num)s 件所属批次已召回，请勿食用。", 1))
    expect(notice).to_contain_text(buyer.t("召回原因：%(reason)s", reason="抽检二氧化硫超标"))
    expect(notice).to_contain_text(
        buyer.t("您还没有为它付款：站点会取消这件商品，不再收取它的货款。")
    )  # cash on delivery
    to_trace = notice.get_by_role("link", name=buyer.t("查看批次 %(code)s 的溯源页", code=lot_code))
    _thumb_sized(to_trace)
    buyer.step("the order page tells the buyer")
    buyer.submit_and_wait(to_trace.click)

    # the trace page: recalled, why, when, who to call; then the product, sold from the other lots
    alert = me.locator("main").get_by_role("alert")
    expect(alert).to_contain_text(buyer.t("本批次已召回，请勿食用。"))
    expect(alert).to_contain_text("抽检二氧化硫超标")
    expect(alert).to_contain_text(today.isoformat())
    _thumb_sized(alert.locator("a.trace-phone"))
    to_product = me.get_by_role("link", name=buyer.t("查看商品"))
    _thumb_sized(to_product)
    buyer.step("the trace page of the recalled lot")

    # a code mistyped off the label: the page says where the code is and takes it again, typed in lower case
    wrong = lot_code[:-1] + ("Q" if lot_code[-1] != "Q" else "R")
    with buyer.problems.allow(404, rf"/trace/{wrong}$"):
        buyer.goto(f"/trace/{wrong}")
        expect(me.get_by_role("heading", level=1)).to_have_text(buyer.t("没有找到这个溯源码"))
        buyer.step("an unknown code")
        me.get_by_label(buyer.t("批次溯源码")).fill(lot_code.lower())
        buyer.submit_and_wait(me.locator("main").get_by_role("button", name=buyer.t("查看溯源信息")).click)
    assert me.url.endswith(f"/trace/{lot_code}")
    expect(alert).to_contain_text(buyer.t("本批次已召回，请勿食用。"))
    buyer.submit_and_wait(to_product.click)
    assert f"/products/{product['id']}-" in me.url
    _thumb_sized(me.locator("main a.origin-link"))
    buyer.step("the product page")

    # the county sees the recall, and that the station made it
    county = open_page("county")
    county.login(DEMO["county"])
    county.goto("/county/recalls")
    row = county.page.locator("table.recall-list tbody tr").filter(has_text=lot_code)
    expect(row.locator("td.recalled-by")).to_have_text(county.t("站点"))
    expect(row).to_contain_text("抽检二氧化硫超标")
    _thumb_sized(row.get_by_role("link", name=lot_code))
    county.step("the county's recalls")
