"""Journey 27 (#23): the station prints a parcel's label — a QR code per lot, under the CSP — and a
buyer scans one on a phone: the QR holds the lot's trace address, which opens its public trace page
(origin, dates, station, the county's certification, the food-safety papers), signed in or not."""
from __future__ import annotations

from playwright.sync_api import expect

from shop.qr import qr_svg
from tests.browser.harness import DEMO
from tests.browser.journeys import VILLAGE_A, api, api_token, demo_product, order_facts


def test_a_buyer_scans_the_parcels_qr_and_reads_the_lots_trace_page(open_page, live_server, viewport):
    product = demo_product(live_server, VILLAGE_A)  # 三江腌菜500克 at NC01, the demo operator's station
    token = api_token(live_server, DEMO["consumer"])
    status, order = api(live_server, "POST", "/orders", {
        "items": [{"product_id": product["id"], "quantity": 1}], "delivery": "ship", "payment_method": "cod",
        "address": {"name": "王小明", "phone": "13800000000", "province": "江西省", "city": "南昌市",
                    "district": "南昌县", "line": "莲塘镇幸福路1号"}}, token=token)
    assert status == 201, order
    shipment = order_facts(live_server, order["id"])["shipments"][0]["code"]
    operator_token = api_token(live_server, DEMO["operator"])
    for action in ("accept", "pack"):
        status, body = api(live_server, "POST", f"/shipments/{shipment}/transition", {"action": action},
                           token=operator_token)
        assert status == 200, (action, body)
    [item] = body["items"]
    [lot_code] = item["lots"]

    # the station prints the parcel label
    operator = open_page("operator")
    page = operator.page
    page.add_init_script("window.__printed = 0; window.print = function () { window.__printed += 1; };")
    operator.login(DEMO["operator"])
    operator.goto(f"/station/shipments/{shipment}")
    link = page.get_by_role("link", name=operator.t("打印包裹面单"))
    assert link.get_attribute("href") == f"/station/shipments/{shipment}/label"
    operator.goto(link.get_attribute("href"))  # it opens in a new tab; here in the same one
    label = page
    expect(label.get_by_role("heading", level=1)).to_have_text(operator.t("乡村e线 · 包裹面单"))
    qr = label.get_by_role("img", name=operator.t("批次 %(code)s 的溯源二维码", code=lot_code))
    expect(qr).to_be_visible()
    block = label.locator(".label-lot").filter(has=qr)
    trace_url = block.locator(".trace-url").inner_text().strip()
    # the address is on the configured site (SITE_URL, what a phone reaches), not the test's own socket
    site = live_server.app.config["SITE_URL"].rstrip("/")
    assert trace_url == f"{site}/trace/{lot_code}"
    # what the QR code holds is exactly that address (the label as the server sent it)
    raw = label.request.get(label.url).text()
    assert str(qr_svg(trace_url)) in raw
    operator.step("label")
    label.get_by_role("button", name=operator.t("打印")).click()
    operator.poll(lambda: label.evaluate("window.__printed") == 1, timeout=5, what="window.print() to be called")
    operator.step("printed")  # fails on any console error, a CSP refusal included

    # a buyer (not signed in) scans it: the phone opens the address the code holds
    buyer = open_page("buyer")
    buyer.goto(trace_url.removeprefix(site))  # the same path, on the server under test
    main = buyer.page.locator("main")
    expect(buyer.page.get_by_role("heading", level=1)).to_have_text(item["title"])
    expect(main).to_contain_text(lot_code)
    expect(main).to_contain_text(product["station_name"])
    expect(main).to_contain_text(buyer.t("南昌县扶贫产品认定"))
    papers = main.locator("section.trace-documents")
    expect(papers.get_by_role("heading", level=2)).to_have_text(buyer.t("食品安全证件"))
    expect(papers).to_contain_text(buyer.t("食品生产许可证（SC）"))  # pickles: processed food
    expect(papers).to_contain_text(buyer.t("检测报告"))
    expect(papers).to_contain_text("SC")
    buyer.step("trace page")
    buyer.submit_and_wait(buyer.page.get_by_role("link", name=buyer.t("查看商品")).click)
    assert f"/products/{product['id']}-" in buyer.page.url
    expect(main).not_to_contain_text(buyer.t("暂停销售"))  # its papers are valid: the demo shop sells it
    buyer.step("product page")
