"""Journey 27 (#23): the station prints a parcel's label — a QR code per lot, under the CSP — and a
buyer scans one on a phone: the QR holds the lot's trace address, which opens its public trace page
(origin, dates, station, the county's certification, the food-safety papers), signed in or not."""

from __future__ import annotations

from playwright.sync_api import expect

from shop.qr import qr_svg
from tests.browser.harness import DEMO
from tests.browser.journeys import PICKLES, VILLAGE_A, api, api_token, demo_product, order_facts


def test_a_buyer_scans_the_parcels_qr_and_reads_the_lots_trace_page(open_page, live_server, viewport):
    product = demo_product(live_server, VILLAGE_A)  # 三江腌菜500克 at NC01, the demo operator's station
    token = api_token(live_server, DEMO["consumer"])
    status, order = api(
        live_server,
        "POST",
        "/orders",
        {
            "items": [{"product_id": product["id"], "quantity": 1}],
            "delivery": "ship",
            "payment_method": "cod",
            "address": {
                "name": "王小明",
                "phone": "13800000000",
                "province": "江西省",
                "city": "南昌市",
                "district": "南昌县",
                "line": "莲塘镇幸福路1号",
            },
        },
        token=token,
    )
    assert status == 201, order
    shipment = order_facts(live_server, order["id"])["shipments"][0]["code"]
    operator_token = api_token(live_server, DEMO["operator"])
    for action in ("accept", "pack"):
        status, body = api(
            live_server, "POST", f"/shipments/{shipment}/transition", {"action": action}, token=operator_token
        )
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


def test_the_operator_uploads_a_renewed_test_report_from_a_phone(open_page, live_server, viewport):
    """The station's papers page works on the phone it is used on: a renewed 检测报告 is uploaded (a PDF)
    and waits for the county; a malformed SC number is refused with the reason, nothing uploaded."""
    import secrets
    from datetime import timedelta

    from demo.papers import demo_pdf
    from shop.timeutil import local_date, now_utc

    demo_product(live_server, VILLAGE_A)
    today = local_date(now_utc())
    operator = open_page("operator")
    page = operator.page
    operator.login(DEMO["operator"])
    operator.goto("/station/papers")
    form = page.locator("form#upload")

    def fill(kind: str, number: str) -> None:
        form.get_by_label(operator.t("商品"), exact=True).select_option(label=PICKLES)
        form.get_by_label(operator.t("证件类型"), exact=True).select_option(label=operator.t(kind))
        form.get_by_label(operator.t("证件编号（生产许可证为 SC 加 14 位数字）"), exact=True).fill(number)
        form.get_by_label(operator.t("发证机关/检测机构"), exact=True).fill("南昌县农产品质量安全检测站")
        form.get_by_label(operator.t("有效期起"), exact=True).fill(today.isoformat())
        form.get_by_label(operator.t("有效期至"), exact=True).fill((today + timedelta(days=180)).isoformat())
        form.get_by_label(operator.t("证件文件（PDF、JPEG、PNG 或 HEIC，最大 5MB）"), exact=True).set_input_files(
            files=[{"name": "report.pdf", "mimeType": "application/pdf", "buffer": demo_pdf("test report")}]
        )

    fill("食品生产许可证（SC）", "SC12")
    operator.step("a malformed SC number")
    with operator.problems.allow(422, r"/station/papers$"):
        operator.submit_and_wait(form.get_by_role("button", name=operator.t("上传，提交县扶贫办审核")).click)
        expect(page.locator("main")).to_contain_text(operator.t("食品生产许可证编号格式不正确：应为 SC 加 14 位数字"))
        operator.step("refused with the reason")
    number = f"NCJC-2026-{secrets.token_hex(3).upper()}"  # the live server is shared by the journey's variants
    fill("检测报告", number)
    operator.submit_and_wait(form.get_by_role("button", name=operator.t("上传，提交县扶贫办审核")).click)
    card = page.locator("article.paper-product").filter(has_text=number)
    expect(card).to_contain_text(operator.t("待审核"))
    assert page.locator("main").get_by_text(number).count() == 1  # uploaded once, the bad one not at all
    operator.step("uploaded, waiting for the county")
