"""Journey: the station operator opens the desk (站点工作台) on a phone and reads a new shipment's code and
order time each on one line — on a 390 px screen the queue's narrow columns broke them at their hyphens
(BZRFMYV7- / 1, 2026-12- / 06 12:49), a code to read out or match against a parcel; the queue's frame
scrolls sideways for the rest, the page does not."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import DEMO
from tests.browser.journeys import VILLAGE_A, demo_product, order_facts, place_order_by_api


def test_the_desk_shows_a_shipment_code_and_its_time_on_one_line(open_page, live_server, viewport):
    product = demo_product(live_server, VILLAGE_A)  # station NC01, the demo operator's
    code = place_order_by_api(live_server, DEMO["consumer"], [product["id"]], payment_method="cod")
    shipment = order_facts(live_server, code)["shipments"][0]
    operator = open_page("operator")
    page = operator.page
    operator.login(DEMO["operator"])
    operator.goto("/station/")
    link = page.locator("main").get_by_role("link", name=shipment["code"], exact=True).first
    expect(link).to_be_visible()
    row = page.locator("main tr").filter(has=page.get_by_role("link", name=shipment["code"], exact=True)).first
    when = row.locator("td").nth(1)
    for cell in (link, when):  # a text broken over two lines has two boxes
        boxes = cell.evaluate(
            "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; }"
        )
        assert boxes == 1, (cell.inner_text(), boxes)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport.width
    operator.step("desk")
