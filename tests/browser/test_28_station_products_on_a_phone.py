"""Journey 28: the station operator, on a phone, opens 改价/上下架 of a product in 本站商品: the price field,
the 上架 choice and 保存 are on the screen, not cut off in the table's sixth column (which needed a
sideways swipe inside the table to reach 保存); 改价/上下架 itself (and a shipment line's 无法供货) is a
thumb-sized target, not a 22 px line of text, and so is 可售's number, the link to the product's stock record
(it was a 15 x 16 px digit)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.journeys import PICKLES, VILLAGE_A, demo_product


@pytest.mark.parametrize("viewport", [VIEWPORTS[0]], ids=[VIEWPORTS[0].name], indirect=True)
def test_the_price_form_of_a_product_fits_a_phone(open_page, live_server, viewport):
    assert viewport.is_phone
    assert demo_product(live_server, VILLAGE_A)["station_code"] == "NC01"  # the demo operator's station
    operator = open_page("operator")
    page = operator.page
    operator.login(DEMO["operator"])
    operator.goto("/station/products")
    row = page.locator("table.station-products tbody tr").filter(has_text=PICKLES)
    opener = row.locator("summary", has_text=operator.t("改价/上下架"))
    box = opener.bounding_box()
    assert box is not None and box["height"] >= 40, box  # a thumb's target (it was a 22 px line)
    stock = row.locator("td.stock a")  # 可售's number, the way to the product's stock record
    box = stock.bounding_box()
    assert box is not None and box["height"] >= 40 and box["width"] >= 40, box  # it was 15 x 16 px ("27")
    opener.click()
    price = row.get_by_label(operator.t("价格（元）"))
    save = row.get_by_role("button", name=operator.t("保存"), exact=True)
    expect(price).to_be_visible()
    operator.step("price form open")
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth"), "the table scrolls sideways on a phone"
    for field in (price, save):
        box = field.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport.width, box
