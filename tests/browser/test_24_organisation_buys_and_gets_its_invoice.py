"""Journey 24 (#22): an organisation's buyer builds a bulk purchase at a desk, the organisation's approver
approves it on a phone (placed as an order), the station fulfils it (cash on delivery), the buyer asks for
the invoice — the order shows 待开票 —, the station records the invoice it issued with its PDF, and the
buyer downloads it. Runs in both languages; the buyer is always on the desktop, the approver on the phone."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from shop.timeutil import local_date, now_utc
from tests.browser.harness import DEMO, VIEWPORTS
from tests.browser.journeys import VILLAGE_A, confirm_if_asked, demo_product, order_facts, shipment_due_yuan
from tests.browser.organisation_journey import PASSWORD, new_organisation

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def test_organisation_buys_approves_on_a_phone_and_downloads_the_invoice(open_page, live_server, lang, tmp_path):
    english = lang == "en"
    org = new_organisation(live_server, lang)
    product = demo_product(live_server, VILLAGE_A)  # NC01, the demo operator's station

    # the buyer, at a desk, builds the purchase and submits it
    buyer = open_page("buyer", size=VIEWPORTS[1])
    bp = buyer.page
    buyer.login(org["buyer"], PASSWORD)
    buyer.goto(f"/organisations/{org['id']}/purchases/new")
    form = bp.locator("main form")
    day = (local_date(now_utc()) + timedelta(days=5)).isoformat()
    form.get_by_label(buyer.t("希望送达日期")).fill(day)
    form.get_by_label(buyer.t("支付方式")).select_option("cod")
    for label, value in (
        ("收货地点名称（如东校区食堂）", "East canteen" if english else "东校区食堂"),
        ("收货人", "Li Ming" if english else "李明"),
        ("收货人手机号", "13800138000"),
        ("省", "Jiangxi" if english else "江西省"),
        ("市", "Nanchang" if english else "南昌市"),
        ("区县", "Nanchang County" if english else "南昌县"),
        ("详细地址", "1 Chenghu Road" if english else "莲塘镇澄湖路1号"),
    ):
        form.get_by_label(buyer.t(label), exact=True).fill(value)
    form.locator("#product_0").select_option(str(product["id"]))
    form.locator("#quantity_0").fill("2")
    buyer.step("purchase filled")
    buyer.submit_and_wait(lambda: form.get_by_role("button", name=buyer.t("保存草稿")).click())
    purchase_url = bp.url
    assert re.search(r"/purchases/\d+$", purchase_url), purchase_url
    buyer.submit_and_wait(lambda: bp.locator("main").get_by_role("button", name=buyer.t("提交审批")).click())
    buyer.step("purchase submitted")

    # the approver, on a phone, approves it: it is placed as an order
    approver = open_page("approver", size=VIEWPORTS[0])
    ap = approver.page
    approver.login(org["approver"], PASSWORD)
    approver.goto(purchase_url.removeprefix(live_server.url))
    approver.step("purchase to approve")
    approver.submit_and_wait(
        lambda: ap.locator("main").get_by_role("button", name=approver.t("审批通过并下单")).click()
    )
    assert confirm_if_asked(approver)
    approver.step("approved")
    from institutions.models import Purchase, PurchaseOrder
    from orders.models import Order

    purchase_id = int(purchase_url.rsplit("/", 1)[1])
    with live_server.app_context() as db:
        status = db.session.scalar(sa.select(Purchase.status).where(Purchase.id == purchase_id))
        code = db.session.scalar(
            sa.select(Order.code)
            .join(PurchaseOrder, PurchaseOrder.order_id == Order.id)
            .where(PurchaseOrder.purchase_id == purchase_id)
        )
    assert status == "approved" and code, (status, code)
    shipment = order_facts(live_server, code)["shipments"][0]["code"]

    # the station fulfils it: accept, pack, ship, deliver taking the cash
    operator = open_page("operator", size=VIEWPORTS[1])
    op = operator.page
    operator.login(DEMO["operator"])
    operator.goto(f"/station/shipments/{shipment}")

    def act(button: str, fill: dict | None = None) -> None:
        for label, value in (fill or {}).items():
            op.get_by_label(operator.t(label)).fill(value)
        operator.submit_and_wait(
            lambda: op.locator("main").get_by_role("button", name=operator.t(button), exact=True).click()
        )
        confirm_if_asked(operator)
        operator.step(button)

    act("接单")
    act("已打包")
    act("发货", {"运单号": f"SF{code}"[:20]})
    act("收款并确认已送达", {"收到现金（元）": shipment_due_yuan(live_server, shipment)})
    facts = order_facts(live_server, code)
    assert facts["shipments"][0]["status"] == "delivered" and facts["paid_at"] is not None, facts

    # the buyer asks for the invoice of the order: 待开票 until the station issues it
    buyer.goto(f"/orders/{code}")
    buyer.submit_and_wait(lambda: bp.locator("#invoice-link").click())
    request_form = bp.locator("main form")
    request_form.get_by_label(buyer.t("发票抬头")).fill("Lianta No.1 School" if english else "莲塘第一中学")
    buyer.step("invoice details")
    buyer.submit_and_wait(lambda: request_form.get_by_role("button", name=buyer.t("提交申请")).click())
    expect(bp.locator("main")).to_contain_text(buyer.t("待开票"))
    buyer.goto(f"/orders/{code}")
    expect(bp.locator(".invoice-state")).to_have_text(buyer.t("待开票"))
    buyer.step("order shows invoice pending")

    # the station records the invoice it issued, with its PDF
    operator.goto("/station/invoices")
    operator.step("station invoices")
    operator.submit_and_wait(lambda: op.locator("main .invoice-row a").first.click())
    issue = op.locator("main form").filter(has=op.locator("#inv-number"))
    number = f"0440{facts['id']:08d}"[-12:]
    issue.locator("#inv-number").fill(number)
    assert issue.locator("#inv-amount").input_value() == f"{facts['total_fen'] / 100:.2f}"
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(PDF)
    issue.locator("#inv-file").set_input_files(str(pdf))
    operator.step("invoice typed")
    operator.submit_and_wait(lambda: issue.get_by_role("button", name=operator.t("登记发票")).click())
    expect(op.locator("main .invoice-number")).to_have_text(number)
    operator.step("invoice recorded")

    # the buyer downloads it; the order shows it invoiced
    buyer.goto("/invoices")
    buyer.step("my invoices")
    buyer.submit_and_wait(lambda: bp.locator("main .invoice-row a").first.click())
    expect(bp.locator("main .invoice-number")).to_have_text(number)
    buyer.step("invoice issued")
    with bp.expect_download() as download:
        bp.locator("#download-invoice").click()
    saved = Path(download.value.path())
    assert saved.read_bytes() == PDF
    buyer.goto(f"/orders/{code}")
    expect(bp.locator(".invoice-state")).to_have_text(buyer.t("已开票"))
    buyer.step("order invoiced")
