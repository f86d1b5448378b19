"""Journey 34: the staff's pages on a phone (390 px). The station operator reads a shipment's goods: each
line's product name and lot code read as lines of text (the name, squeezed into a narrow first column,
broke one character per line, the lot code too); the host's 允许到店支付 and 对游客开放 are tap-sized
checkboxes (they were 13 px boxes), each box 24 px in a 44 px row, as the variant picker's choices."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.journeys import (
    PICKLES,
    VILLAGE_A,
    confirm_if_asked,
    demo_product,
    order_facts,
    place_order_by_api,
)
from tests.browser.stay_journey import STAY

PHONE = VIEWPORTS[0]


def _sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


@pytest.mark.parametrize("viewport", [PHONE], ids=[PHONE.name], indirect=True)
def test_a_shipments_goods_read_as_lines_on_a_phone(open_page, live_server, viewport):
    assert viewport.is_phone and viewport.width == 390
    product = demo_product(live_server, VILLAGE_A)  # station NC01, the demo operator's
    code = place_order_by_api(live_server, DEMO["consumer"], [product["id"]], payment_method="cod")
    shipment = order_facts(live_server, code)["shipments"][0]["code"]
    operator = open_page("operator")
    page = operator.page
    operator.login(DEMO["operator"])
    operator.goto(f"/station/shipments/{shipment}")
    for button in ("接单", "已打包"):  # packed: the line names its lot
        operator.submit_and_wait(
            lambda b=button: page.locator("main").get_by_role("button", name=operator.t(b), exact=True).click()
        )
        confirm_if_asked(operator)
    operator.step("a packed shipment's goods")
    line = page.locator("main table.shipment-lines tbody tr").first
    name = line.locator("td").first
    lot = line.locator("code").first
    expect(name).to_have_text(PICKLES)
    expect(lot).to_be_visible()
    line_height = float(name.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 20"))
    for what, cell in (("name", name), ("lot", lot)):
        box = cell.bounding_box()
        assert box is not None, what
        # one line, two at most: it broke into one character per line (a 9-line, 20 px wide column)
        assert box["height"] <= 2.2 * line_height and box["width"] >= 80, (what, box)
    assert not _sideways(page)


@pytest.mark.parametrize("viewport", [PHONE], ids=[PHONE.name], indirect=True)
def test_the_hosts_checkboxes_are_tap_sized(open_page, live_server, viewport):
    assert viewport.is_phone
    host = open_page("host")
    page = host.page
    host.login(DEMO["host"])
    host.goto("/host/")
    host.submit_and_wait(lambda: page.locator("main").get_by_role("link", name=STAY).first.click())
    host.submit_and_wait(lambda: page.get_by_role("link", name=host.t("价格与介绍")).click())
    host.step("listing terms")
    boxes = page.locator("main input[type=checkbox]")
    rows = page.locator("main label").filter(has=page.locator("input[type=checkbox]"))
    assert boxes.count() == 2 and rows.count() == 2  # 允许到店支付, 对游客开放
    for i in range(boxes.count()):
        box, row = boxes.nth(i).bounding_box(), rows.nth(i).bounding_box()
        assert box is not None and row is not None, i
        assert box["width"] >= 24 and box["height"] >= 24, (i, box)
        assert row["height"] >= 44, (i, row)
    # the label toggles its box: the whole row is the target
    before = boxes.first.is_checked()
    rows.first.click(position={"x": 120, "y": 10})
    assert boxes.first.is_checked() != before
    assert not _sideways(page)
